"""Device benchmark: the pair step plain, fast and compiled; 1-8 trials sharing a GPU; time to 93 %.

Run from the repository root on a machine with one GPU (Fashion-MNIST's four IDX
``.gz`` files in DIR), as one command that ends within ten minutes::

    timeout 590 python -m bench.gpu --data-dir DIR --json gpu.json

    python -m bench.gpu --quick          # CPU smoke run (digits, tiny nets): its numbers mean nothing

It imports neither Ray, Optuna nor wandb (torch, numpy, pydantic, PyYAML, scikit-learn
and SciPy are all it needs; tests/test_bench_scripts.py runs it with those three made
unimportable). Sections start while the time used is under ``--budget-s`` (default
420 s); a section that would start later is listed as skipped, and the JSON is
rewritten after every section, so a run cut short keeps what it measured. Every trial
is built by ``trainable.loop.PairTraining``, on Fashion-MNIST:

1. **Peak**: bf16 and fp32 matrix product and convolution on the device
   (``bench.roofline``).
2. **Steps** (``bench.gpu_steps``), for each setting: ``study`` (simple3 at width 0.25,
   batch 256, dice + mlp D: the registered studies' net), ``fast`` (the airbench-style
   net at width 1.0, batch 128) and ``default`` (simple3 at width 1.0, batch 128): the
   pair step of ``eager`` (the step as it was: channels_last and bf16 autocast on
   CUDA, torch.optim, nn.Dropout), ``fast`` (the default fast path: also fused
   optimizers and cheaper dropout masks) and ``fast + compile`` (``compile=true``; its
   first step, which compiles, is reported apart): ms per step, images/s, speed-up
   over eager, achieved TFLOP/s and their share of the bf16 peak.
3. **Sharing** (``bench.gpu_sharing``): 1, 2, 4 and 8 trials of the study setting
   training at once in separate processes on the one device (as Ray packs
   ``--gpus-per-trial 0.25``): images/s of each and in all (target: 4 trials >= 2.5 x
   one trial), each trial's peak memory (``torch.cuda.max_memory_allocated``; the CUDA
   context, ~0.5 GB a process, is not in it; on the CPU the process's peak RSS).
4. **Time to accuracy**: the ``fast`` dice pair on the full training split, evaluated
   after every epoch, until both members reach 93 % test accuracy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from bench.gpu_sharing import SHARING_TARGET, run_sharing, time_to_accuracy
from bench.gpu_steps import step_section
from bench.roofline import Peak, measure_peaks
from sweep.formatting import text_table
from trainable.data import DEBIAN_FASHION_MNIST_DIR

__all__ = ["QUICK", "SETTINGS", "GpuBenchSettings", "format_tables", "main", "run_gpu_benchmark"]

# The step settings (trial settings on top of the benchmark's data); the first is shared too.
SETTINGS: dict[str, dict[str, Any]] = {
    "study": {"classifier": "simple3", "width": 0.25, "batch_size": 256, "lr": 2e-3, "augment": False},
    "fast": {"classifier": "fast", "width": 1.0, "batch_size": 128},
    "default": {"classifier": "simple3", "width": 1.0, "batch_size": 128},
}


@dataclass(frozen=True)
class GpuBenchSettings:
    """What one run measures; the defaults are the full run's."""

    device: str = "cuda"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None  # None: the dataset's default location
    train_size: int | None = None  # None: the whole training split
    step_settings: tuple[str, ...] = ("study", "fast", "default")
    width_scale: float = 1.0  # multiplies every setting's width (the smoke run shrinks the nets)
    batch_size: int | None = None  # None: each setting's own
    rounds: int = 7
    steps: int = 20  # steps per case per round
    warmup: int = 10
    compile_backend: str | None = "inductor"  # None: no compiled case
    peak_scale: float = 4.0  # GPU kernels need bigger probes than a CPU core to reach full speed
    sharing_counts: tuple[int, ...] = (1, 2, 4, 8)
    sharing_seconds: float = 15.0  # measured training time of each sharing run, after warm-up
    tta_epochs: int = 15  # the schedule's length of the time-to-accuracy trial
    tta_target: float = 0.93
    tta_train_size: int | None = None
    budget_s: float = 420.0
    seed: int = 0


# Tiny everything: checks the script on the CPU in about a minute.
QUICK = GpuBenchSettings(
    device="cpu",
    dataset="digits",
    train_size=256,
    step_settings=("study", "fast"),
    width_scale=0.25,
    batch_size=32,
    rounds=1,
    steps=1,
    warmup=1,
    compile_backend="eager",  # the wiring of compile without inductor's minutes of compiling
    peak_scale=0.0625,
    sharing_counts=(1, 2),
    sharing_seconds=1.0,
    tta_epochs=2,
    tta_train_size=256,
    budget_s=900.0,
)


def trial_config(s: GpuBenchSettings, setting: str, objective: str = "dice") -> dict[str, Any]:
    """The trial settings of one named setting on this run's data and device."""
    own = SETTINGS[setting]
    raw = {
        **own,
        "dataset": s.dataset,
        "data_dir": s.data_dir,
        "train_size": s.train_size,
        "width": own["width"] * s.width_scale,
        "objective": objective,
        "disc_arch": "mlp",
        "val_size": 0,  # a benchmark selects nothing: whole training split, scored on test
        "device": s.device,
        "seed": s.seed,
    }
    if s.batch_size is not None:
        raw["batch_size"] = s.batch_size
    return raw


def _machine(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": str(device),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus_available": len(os.sched_getaffinity(0)),
        "processor": platform.processor() or platform.machine(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            gpu=props.name,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            capability=f"{props.major}.{props.minor}",
        )
    return info


def run_gpu_benchmark(
    s: GpuBenchSettings,
    log: Callable[[str], None] = print,
    on_section: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Every section within ``s.budget_s`` (a section not started in time is listed as skipped).

    ``on_section(result)`` runs after each section, so a run cut short still leaves
    what it measured (``main`` writes the JSON there).
    """
    device = torch.device(s.device)
    began = time.perf_counter()
    result: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(device),
        "settings": asdict(s),
        "step_settings": {name: trial_config(s, name) for name in s.step_settings},
        "peaks": {},
        "steps": [],
        "sharing": [],
        "time_to_accuracy": None,
        "skipped": [],
        "errors": [],
        "section_seconds": {},
    }
    peaks: dict[str, Peak] = {}

    def peak() -> None:
        peaks.update(measure_peaks((torch.bfloat16, torch.float32), scale=s.peak_scale, device=s.device))
        result["peaks"] = {name: asdict(p) for name, p in peaks.items()}

    def steps(name: str) -> None:
        result["steps"].extend(
            step_section(
                name,
                trial_config(s, name),
                device=device,
                compile_backend=s.compile_backend,
                peak=peaks.get("bf16"),
                rounds=s.rounds,
                steps=s.steps,
                warmup=s.warmup,
            )
        )

    def sharing() -> None:
        result["sharing"] = run_sharing(s.sharing_counts, s.sharing_seconds, trial_config(s, "study"), log)

    def accuracy() -> None:
        tta = replace(s, train_size=s.tta_train_size)
        config = {**trial_config(tta, "fast"), "epochs": s.tta_epochs}
        result["time_to_accuracy"] = time_to_accuracy(config, s.tta_target, log)

    # By importance, in case the budget runs out: the study's step, sharing, the others.
    sections: list[tuple[str, Callable[[], None]]] = [("peak", peak)]
    names = list(s.step_settings)
    if names:
        sections.append((f"steps: {names[0]}", lambda: steps(names[0])))
    sections.append(("sharing", sharing))
    sections += [(f"steps: {name}", lambda name=name: steps(name)) for name in names[1:]]
    sections.append(("time to accuracy", accuracy))
    for name, run in sections:
        used = time.perf_counter() - began
        if used > s.budget_s:
            result["skipped"].append(f"{name} (the budget of {s.budget_s:.0f} s was spent after {used:.0f} s)")
            log(f"[{name}] skipped: the budget is spent")
            continue
        log(f"[{name}] starting at {used:.0f} s")
        start = time.perf_counter()
        try:
            run()
        except Exception as error:  # one run on a lent machine: keep the other sections
            traceback.print_exc()
            result["errors"].append(f"{name}: {type(error).__name__}: {error}"[:2000])
        result["section_seconds"][name] = round(time.perf_counter() - start, 1)
        result["seconds"] = round(time.perf_counter() - began, 1)
        if on_section is not None:
            on_section(result)
    result["seconds"] = round(time.perf_counter() - began, 1)
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def format_tables(result: dict[str, Any]) -> str:
    """The tables (peak, steps, sharing, time to accuracy) as text."""
    parts = []
    if result["peaks"]:
        parts.append(
            text_table(
                ("dtype", "peak TFLOP/s", "matmul", "conv"),
                [
                    (n, f"{p['gflops'] / 1e3:.1f}", f"{p['matmul_gflops'] / 1e3:.1f}", f"{p['conv_gflops'] / 1e3:.1f}")
                    for n, p in result["peaks"].items()
                ],
            )
        )
    failed = [r for r in result["steps"] if "error" in r]
    if result["steps"]:
        steps = [
            (
                r["setting"],
                r["case"],
                r["plan"]["precision"],
                f"{r['median_ms']:.3f}",
                f"{r['images_per_s']:.0f}",
                f"{r['speed_up']:.2f}x",
                f"{r['gflops'] / 1e3:.2f}",
                "" if r["peak_fraction"] is None else f"{100 * r['peak_fraction']:.1f}",
                f"{r['first_step_s']:.1f}",
            )
            for r in result["steps"]
            if "error" not in r
        ]
        header = ("setting", "case", "precision", "ms/step", "images/s", "x eager", "TFLOP/s", "% bf16 peak", "first s")
        parts.append(text_table(header, steps))
    if result["sharing"]:
        share = [
            (
                str(r["trials"]),
                f"{r['images_per_s_each']:.0f}",
                f"{r['images_per_s']:.0f}",
                f"{r['vs_one']:.2f}",
                _fmt(r["target"], ".2f"),
                "" if r["passed"] is None else ("PASS" if r["passed"] else "FAIL"),
                f"{r['peak_mib_per_trial']:.0f}",
                r["memory_kind"],
            )
            for r in result["sharing"]
        ]
        parts.append(
            text_table(
                ("trials", "img/s each", "img/s all", "x one", "target >=", "result", "peak MiB/trial", "memory"), share
            )
        )
    tta = result["time_to_accuracy"]
    if tta:
        reached = "not reached" if tta["reached_epoch"] is None else f"epoch {tta['reached_epoch']}"
        parts.append(
            text_table(
                ("pair", "target", "reached", "seconds", "acc_1", "acc_2", "ensemble"),
                [
                    (
                        tta["pair"],
                        f"{tta['target']:.2f} each",
                        reached,
                        _fmt(tta["seconds"], ".1f"),
                        f"{tta['acc_1']:.4f}",
                        f"{tta['acc_2']:.4f}",
                        f"{tta['ensemble_acc']:.4f}",
                    )
                ],
            )
        )
    if result["skipped"]:
        parts.append("skipped: " + "; ".join(result["skipped"]))
    for r in failed:
        parts.append(f"failed: {r['setting']}: {r['case']}: {r['error']}")
    if result["errors"]:
        parts.append("errors: " + "; ".join(result["errors"]))
    return "\n\n".join(parts)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CPU smoke run on digits with tiny nets (about a minute)")
    p.add_argument("--data-dir", help=f"the Fashion-MNIST files (default: {DEBIAN_FASHION_MNIST_DIR})")
    p.add_argument("--device", help="default: cuda (cpu with --quick)")
    p.add_argument("--json", metavar="PATH", help="also write every number to this JSON file (after every section)")
    p.add_argument("--budget-s", type=float, help="skip sections that would start after this many seconds")
    p.add_argument("--no-compile", action="store_true", help="leave out the torch.compile case")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    settings = QUICK if args.quick else GpuBenchSettings()
    overrides: dict[str, Any] = {"data_dir": args.data_dir, "device": args.device, "budget_s": args.budget_s}
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    if args.no_compile:
        settings = replace(settings, compile_backend=None)
    if settings.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda: torch sees no CUDA device (use --quick or --device cpu)", file=sys.stderr)
        return 2
    print(f"bench.gpu on {settings.device}; torch {torch.__version__}; budget {settings.budget_s:.0f} s", flush=True)

    def save(result: dict[str, Any]) -> None:
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(result, f, indent=2)

    result = run_gpu_benchmark(settings, log=lambda msg: print(msg, flush=True), on_section=save)
    save(result)
    print()
    print(format_tables(result))
    print(f"\ntotal {result['seconds']:.0f} s; sharing target: 4 trials >= {SHARING_TARGET} x one trial's images/s")
    if args.quick:
        print("(--quick: tiny nets on the CPU; these numbers say nothing about the targets)")
    if args.json:
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
