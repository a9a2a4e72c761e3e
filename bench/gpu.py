"""Device benchmark: the pair's step cost, torch.compile, GPU sharing, memory, time to 93 %.

Run from the repository root on a machine with one GPU::

    python -m bench.gpu --data-dir /usr/share/datasets/fashion-mnist --json gpu.json
    python -m bench.gpu --quick          # CPU smoke run (digits, tiny nets): its numbers mean nothing

The full run fits in about 8 minutes on one H100/H200 (``--budget-s``, default 450:
a section that would start after the budget is spent is skipped and says so). It
measures, on Fashion-MNIST with the trial defaults (batch 128, bf16 autocast and
channels_last on CUDA), every trial built by ``trainable.loop.PairTraining``:

1. **Steps** (``bench.step``'s interleaved timing, synchronised with the device):
   for the ``fast`` and ``simple3`` classifiers, one classifier's step, the
   independent pair's step (target <= 2.05 x one classifier) and the dice step with
   the ``mlp`` and ``siamese_strided`` discriminators (targets <= 1.15 x and <= 1.35 x
   the independent pair).
2. **Sharing**: 1, 2, 4 and 8 trials training at once in separate processes on the
   one device (as Ray packs ``--gpus-per-trial 0.25``): images/s of each and in all
   (target: 4 trials >= 2.5 x one trial), and each trial's peak memory
   (``torch.cuda.max_memory_allocated``; the CUDA context, ~0.5 GB a process, is not
   in it; on the CPU the process's peak RSS).
3. **Time to accuracy**: the ``fast`` dice pair on the full training split, evaluated
   after every epoch, until both members reach 93 % test accuracy.
4. **Compile**: section 1 again with each network wrapped in ``torch.compile``
   (compilation is in the warm-up and reported apart).

The sharing workers live in ``bench.gpu_sharing``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from bench.gpu_sharing import SHARING_TARGET, run_sharing, time_to_accuracy
from bench.step import (
    JOINT_TARGETS,
    PAIR_VS_SINGLE_TARGET,
    Case,
    build_trial,
    repeat,
    single_step,
    time_interleaved,
)
from sweep.formatting import text_table
from trainable.data import DEBIAN_FASHION_MNIST_DIR
from trainable.loop import PairTraining

__all__ = ["QUICK", "SHARING_TARGET", "GpuBenchSettings", "format_tables", "main", "run_gpu_benchmark", "step_rows"]


@dataclass(frozen=True)
class GpuBenchSettings:
    """What one run measures; the defaults are the full run's."""

    device: str = "cuda"
    dataset: str = "fashion-mnist"
    data_dir: str | None = None  # None: the dataset's default location
    train_size: int | None = None  # None: the whole training split
    width: float = 1.0
    batch_size: int = 128  # TrialConfig's default: what a trial runs with
    classifiers: tuple[str, ...] = ("fast", "simple3")
    disc_archs: tuple[str, ...] = ("mlp", "siamese_strided")
    rounds: int = 7
    steps: int = 20  # steps per case per round
    warmup: int = 10
    compile_backend: str | None = "inductor"  # None: skip section 4
    compile_classifiers: tuple[str, ...] = ("fast", "simple3")
    sharing_counts: tuple[int, ...] = (1, 2, 4, 8)
    sharing_seconds: float = 15.0  # measured training time of each sharing run, after warm-up
    tta_epochs: int = 15  # the schedule's length of the time-to-accuracy trial
    tta_target: float = 0.93
    tta_train_size: int | None = None
    budget_s: float = 450.0
    seed: int = 0


# Tiny everything: checks the script on the CPU in well under a minute.
QUICK = GpuBenchSettings(
    device="cpu",
    dataset="digits",
    train_size=256,
    width=0.25,
    batch_size=32,
    rounds=1,
    steps=1,
    warmup=1,
    compile_backend="eager",
    compile_classifiers=("fast",),
    sharing_counts=(1, 2),
    sharing_seconds=1.0,
    tta_epochs=2,
    tta_train_size=256,
    budget_s=900.0,
)


def _sync(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _trial_config(s: GpuBenchSettings, classifier: str, objective: str, disc_arch: str = "mlp") -> dict[str, Any]:
    return {
        "dataset": s.dataset,
        "data_dir": s.data_dir,
        "train_size": s.train_size,
        "classifier": classifier,
        "width": s.width,
        "batch_size": s.batch_size,
        "objective": objective,
        "pairing": "shared",
        "val_size": 0,  # a benchmark selects nothing: whole training split, scored on test
        "disc_arch": disc_arch,
        "device": s.device,
        "seed": s.seed,
    }


def _compile(training: PairTraining, backend: str) -> None:
    """Route the step's forwards through ``torch.compile`` wrappers (parameters are shared)."""
    training.step.net_1 = torch.compile(training.net_1, backend=backend)
    training.step.net_2 = torch.compile(training.net_2, backend=backend)
    if training.step.discriminator is not None:
        training.step.discriminator = torch.compile(training.step.discriminator, backend=backend)


def _classifier_cases(s: GpuBenchSettings, classifier: str, backend: str | None) -> list[Case]:
    """Single, independent pair and dice + each D for one classifier, all on one batch."""
    device = torch.device(s.device)
    pair = build_trial(_trial_config(s, classifier, "independent"), device)
    x, y = next(iter(pair.data.train_batches(s.batch_size, torch.Generator().manual_seed(s.seed))))
    x, y = x.clone(), y.clone()
    single_net = torch.compile(pair.net_1, backend=backend) if backend else None
    if backend:
        _compile(pair, backend)
    cases = [
        Case(f"{classifier}: single", repeat(single_step(pair, x, y, single_net), s.steps)),
        Case(
            f"{classifier}: independent pair",
            repeat(lambda: pair.step(x, y), s.steps),
            baseline=f"{classifier}: single",
            target=PAIR_VS_SINGLE_TARGET,
        ),
    ]
    for arch in s.disc_archs:
        joint = build_trial(_trial_config(s, classifier, "dice", arch), device)
        if backend:
            _compile(joint, backend)
        cases.append(
            Case(
                f"{classifier}: dice + {arch}",
                repeat(lambda t=joint: t.step(x, y), s.steps),
                baseline=f"{classifier}: independent pair",
                target=JOINT_TARGETS.get(arch),
            )
        )
    return cases


def step_rows(s: GpuBenchSettings, backend: str | None) -> tuple[list[dict[str, Any]], float]:
    """Sections 1 and 4: one row per case; and the warm-up seconds (compilation included)."""
    device = torch.device(s.device)
    cases = [case for classifier in s.classifiers for case in _classifier_cases(s, classifier, backend)]
    start = time.perf_counter()
    for case in cases:  # warm-up (and compile) here, timed apart from the rounds
        for _ in range(max(1, s.warmup)):
            case.run()
    _sync(device)()
    warmup_s = time.perf_counter() - start
    samples, _ = time_interleaved(cases, s.rounds, warmup=0, sync=_sync(device))
    medians = {name: statistics.median(v) for name, v in samples.items()}
    rows = []
    for case in cases:
        ratio = medians[case.name] / medians[case.baseline] if case.baseline else None
        rows.append(
            {
                "setting": case.name,
                "compile": backend or "off",
                "median_ms": medians[case.name] * 1e3,
                "samples_ms": [v * 1e3 for v in samples[case.name]],
                "baseline": case.baseline,
                "ratio": ratio,
                "target": case.target,
                "passed": None if ratio is None or case.target is None else bool(ratio <= case.target),
            }
        )
    return rows, warmup_s


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
        "steps": [],
        "sharing": [],
        "time_to_accuracy": None,
        "skipped": [],
        "section_seconds": {},
        "warmup_seconds": {},
    }

    def steps(backend: str | None, classifiers: tuple[str, ...]) -> None:
        rows, warmup_s = step_rows(replace(s, classifiers=classifiers), backend)
        result["steps"].extend(rows)
        result["warmup_seconds"][f"{backend or 'off'}: {', '.join(classifiers)}"] = round(warmup_s, 1)

    def sharing() -> None:
        result["sharing"] = run_sharing(s, _trial_config(s, "fast", "dice"), log)

    def accuracy() -> None:
        tta = replace(s, train_size=s.tta_train_size)
        config = {**_trial_config(tta, "fast", "dice"), "epochs": s.tta_epochs}
        result["time_to_accuracy"] = time_to_accuracy(config, s.tta_target, log)

    sections: list[tuple[str, Callable[[], None]]] = [
        ("steps", lambda: steps(None, s.classifiers)),
        ("sharing", sharing),
        ("time to accuracy", accuracy),
    ]
    if s.compile_backend:  # one section per classifier: each is checked against the budget
        sections += [
            (f"compile {c} ({s.compile_backend})", lambda c=c: steps(s.compile_backend, (c,)))
            for c in s.compile_classifiers
        ]
    for name, run in sections:
        used = time.perf_counter() - began
        if used > s.budget_s:
            result["skipped"].append(f"{name} (the budget of {s.budget_s:.0f} s was spent after {used:.0f} s)")
            log(f"[{name}] skipped: the budget is spent")
            continue
        log(f"[{name}] starting at {used:.0f} s")
        start = time.perf_counter()
        run()
        result["section_seconds"][name] = round(time.perf_counter() - start, 1)
        result["seconds"] = round(time.perf_counter() - began, 1)
        if on_section is not None:
            on_section(result)
    result["seconds"] = round(time.perf_counter() - began, 1)
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def format_tables(result: dict[str, Any]) -> str:
    """The three tables (steps, sharing, time to accuracy) as text."""
    steps = [
        (
            r["setting"],
            r["compile"],
            f"{r['median_ms']:.3f}",
            _fmt(r["ratio"], ".3f"),
            r["baseline"] or "",
            _fmt(r["target"], ".2f"),
            "" if r["passed"] is None else ("PASS" if r["passed"] else "FAIL"),
        )
        for r in result["steps"]
    ]
    parts = [text_table(("setting", "compile", "median ms", "ratio", "vs", "target <=", "result"), steps)]
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
    return "\n\n".join(parts)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="CPU smoke run on digits with tiny nets (under a minute)")
    p.add_argument("--data-dir", help=f"the Fashion-MNIST files (default: {DEBIAN_FASHION_MNIST_DIR})")
    p.add_argument("--device", help="default: cuda (cpu with --quick)")
    p.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    p.add_argument("--budget-s", type=float, help="skip sections that would start after this many seconds")
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile section")
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
    print(f"\ntotal {result['seconds']:.0f} s")
    if args.quick:
        print("(--quick: tiny nets on the CPU; these numbers say nothing about the targets)")
    if args.json:
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
