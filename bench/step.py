"""Step-time benchmark of the joint training step on the CPU.

Run from the repository root::

    python -m bench.step                  # the real measurement (about 4 minutes on 2 idle cores)
    python -m bench.step --json out.json  # also save every number
    python -m bench.step --quick          # a tiny smoke run: its timings mean nothing

Every trial is built by ``trainable.loop.PairTraining``, exactly as a real trial is
(the same ``JointStep``/``StepSettings``, AdamW for the classifiers, Adam(2e-4,
betas (0.5, 0.999)) for D), and every setting of one dataset trains on the same
fixed, augmented batch. The settings of a dataset are timed *interleaved*: each
round runs every setting once, for ``--steps`` steps, so a burst of load from
another process hits all of them alike; a setting's time is the median over the
rounds of its per-step time. Ratios are taken between medians of the same run.

Targets (the issue's), each a ratio of medians:

- ``single (B)``: one classifier's forward + backward + AdamW step on ``B`` examples,
  the baseline of the pair steps. ``B`` is the batch (what each net sees when the
  pairing is ``shared``) or half of it (``split``).
- ``independent <pairing>`` <= 2.05 x ``single`` of the same per-net batch.
- ``dice + D`` (pairing shared) <= 1.15 x ``independent shared`` with the ``mlp``
  discriminator, <= 1.35 x with ``siamese_strided``; ``seed + D`` (pairing split)
  likewise against ``independent split``.
- ``batch prep``: drawing one batch from ``DeviceData.train_batches`` (sampling and
  augmentation, averaged over a whole epoch so the once-per-epoch draws count)
  <= 3% of the cheapest pair step, ``independent split`` (the strictest reading).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from sweep.formatting import text_table
from trainable.config import TrialConfig
from trainable.loop import PairTraining

__all__ = [
    "BenchSettings",
    "Case",
    "Row",
    "build_cases",
    "build_trial",
    "format_table",
    "main",
    "repeat",
    "run_benchmark",
    "single_step",
    "time_interleaved",
]

# The targets. Ratios are "at most".
PAIR_VS_SINGLE_TARGET = 2.05
JOINT_TARGETS = {"mlp": 1.15, "siamese_strided": 1.35}
BATCH_PREP_TARGET = 0.03


@dataclass(frozen=True)
class BenchSettings:
    """What one benchmark run measures."""

    datasets: tuple[str, ...] = ("fashion-mnist", "digits")
    classifier: str = "simple3"
    width: float = 1.0
    batch_size: int = 128
    # None: the whole training split (batch prep then also pays the full epoch's
    # permutation, as a real trial does).
    train_size: int | None = None
    disc_archs: tuple[str, ...] = ("mlp", "siamese_strided")
    rounds: int = 7
    steps: int = 3  # steps per setting per round
    warmup: int = 3  # untimed steps per setting before the first round
    seed: int = 0


@dataclass
class Case:
    """One timed setting. ``run()`` does one timed unit of work and returns how many
    steps (or batches) it covered, so the time per step is elapsed / count."""

    name: str
    run: Callable[[], int]
    baseline: str | None = None  # the case it is compared with
    target: float | None = None  # the ratio it must not exceed
    note: str = ""


@dataclass
class Row:
    """One line of the result table."""

    dataset: str
    setting: str
    median_ms: float
    samples_ms: list[float]
    baseline: str | None = None
    ratio: float | None = None
    target: float | None = None
    passed: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------ building


def build_trial(raw: dict[str, Any], device: torch.device | None = None) -> PairTraining:
    """A trial built by the training loop's own code from a config dict, modules in training mode."""
    if raw.get("objective") == "independent":
        raw = {**raw, "w_adv": 0.0}  # the config rejects a weight for a discriminator that is not there
    training = PairTraining(TrialConfig.from_dict(raw), device)
    # train_epoch() puts the modules in training mode; the benchmarks skip it.
    training.net_1.train(), training.net_2.train()
    if training.disc is not None:
        training.disc.train()
    return training


def _trial(settings: BenchSettings, dataset: str, objective: str, pairing: str, disc_arch: str = "mlp") -> PairTraining:
    """A trial built by the training loop's own code, on the CPU."""
    return build_trial(
        {
            "dataset": dataset,
            "train_size": settings.train_size,
            "classifier": settings.classifier,
            "width": settings.width,
            "batch_size": settings.batch_size,
            "objective": objective,
            "pairing": pairing,
            "disc_arch": disc_arch,
            "device": "cpu",
            "seed": settings.seed,
        }
    )


def repeat(step: Callable[[], Any], count: int) -> Callable[[], int]:
    """A ``Case.run`` that calls ``step`` ``count`` times."""

    def run() -> int:
        for _ in range(count):
            step()
        return count

    return run


def single_step(
    training: PairTraining, x: torch.Tensor, y: torch.Tensor, net: torch.nn.Module | None = None
) -> Callable[[], None]:
    """One classifier alone: what ``JointStep`` does for one net of an independent pair.

    Its own AdamW with the trial's lr and weight decay over the same trainable
    parameters, the same float32 CE with the trial's label smoothing, under the
    trial's autocast (bf16 on CUDA). ``net`` replaces ``training.net_1`` in the
    forward (a compiled wrapper of it, say).
    """
    cfg = training.config
    forward = net if net is not None else training.net_1
    params = [p for p in training.net_1.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    dtype = training.step.settings.autocast_dtype

    def step() -> None:
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            logits, _ = forward(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _batch_prep(training: PairTraining, batch_size: int, seed: int) -> Callable[[], int]:
    """One epoch of ``train_batches``, every batch materialized; returns the batch count."""
    generator = torch.Generator().manual_seed(seed)

    def run() -> int:
        count = 0
        for _x, _y in training.data.train_batches(batch_size, generator):
            count += 1
        return count

    return run


def build_cases(settings: BenchSettings, dataset: str) -> tuple[list[Case], dict[str, Any]]:
    """Every timed setting of one dataset, all on the same batch; and facts about it."""
    bs = settings.batch_size
    if bs % 2:
        raise ValueError(f"batch_size must be even (the split pairing halves it), got {bs}")
    half = bs // 2
    ind = {p: _trial(settings, dataset, "independent", p) for p in ("shared", "split")}
    # The batch every setting trains on: one augmented batch drawn the loop's way.
    x, y = next(iter(ind["shared"].data.train_batches(bs, torch.Generator().manual_seed(settings.seed))))
    x, y = x.clone(), y.clone()

    cases = [
        Case(f"single (B={bs})", repeat(single_step(ind["shared"], x, y), settings.steps)),
        Case(f"single (B={half})", repeat(single_step(ind["split"], x[:half], y[:half]), settings.steps)),
        Case(
            "independent shared",
            repeat(lambda: ind["shared"].step(x, y), settings.steps),
            baseline=f"single (B={bs})",
            target=PAIR_VS_SINGLE_TARGET,
            note="each net sees the whole batch",
        ),
        Case(
            "independent split",
            repeat(lambda: ind["split"].step(x, y), settings.steps),
            baseline=f"single (B={half})",
            target=PAIR_VS_SINGLE_TARGET,
            note="each net sees its half",
        ),
    ]
    for arch in settings.disc_archs:
        target = JOINT_TARGETS.get(arch)
        for objective, pairing in (("dice", "shared"), ("seed", "split")):
            trial = _trial(settings, dataset, objective, pairing, arch)
            cases.append(
                Case(
                    f"{objective} + {arch}",
                    repeat(lambda t=trial: t.step(x, y), settings.steps),
                    baseline=f"independent {pairing}",
                    target=target,
                    note=f"pairing {pairing}",
                )
            )
    cases.append(
        Case(
            "batch prep",
            _batch_prep(ind["shared"], bs, settings.seed),
            baseline="independent split",
            target=BATCH_PREP_TARGET,
            note="per batch, over a whole epoch",
        )
    )
    info = ind["shared"].info
    facts = {
        "image_shape": [info.channels, info.height, info.width],
        "train_examples": ind["shared"].data.num_train,
        "batches_per_epoch": ind["shared"].data.steps_per_epoch(bs),
        "representation_shape": list(ind["shared"].net_1.representation_shape),
    }
    return cases, facts


# ------------------------------------------------------------------------- timing


def time_interleaved(
    cases: Sequence[Case], rounds: int, warmup: int, sync: Callable[[], None] | None = None
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds per step of each case, one sample per round; and minor page faults per step.

    Each round runs every case once; the starting case rotates from round to round
    so no case always runs right after the same neighbour. The page faults are a
    diagnostic: a step that makes the allocator hand memory back to the kernel and
    take it again pays for it in faults (and in time). ``sync`` waits for queued
    device work (``torch.cuda.synchronize`` on a GPU), before each clock reading.
    """
    wait = sync or (lambda: None)
    for case in cases:
        for _ in range(warmup):
            case.run()
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    faults = {case.name: 0 for case in cases}
    counts = {case.name: 0 for case in cases}
    for r in range(rounds):
        for i in range(len(cases)):
            case = cases[(r + i) % len(cases)]
            wait()
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            count = case.run()
            wait()
            samples[case.name].append((time.perf_counter() - start) / count)
            faults[case.name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
            counts[case.name] += count
    return samples, {name: faults[name] / counts[name] for name in faults}


def _rows(dataset: str, cases: Sequence[Case], samples: dict[str, list[float]], faults: dict[str, float]) -> list[Row]:
    medians = {name: statistics.median(values) for name, values in samples.items()}
    rows = []
    for case in cases:
        row = Row(
            dataset=dataset,
            setting=case.name,
            median_ms=medians[case.name] * 1e3,
            samples_ms=[v * 1e3 for v in samples[case.name]],
            note=case.note,
            extra={"minor_faults_per_step": faults[case.name]},
        )
        if case.baseline is not None:
            row.baseline = case.baseline
            row.ratio = medians[case.name] / medians[case.baseline]
            row.target = case.target
            if case.target is not None:
                row.passed = row.ratio <= case.target
        rows.append(row)
    return rows


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def run_benchmark(settings: BenchSettings, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build, time and compare every setting of every dataset; the JSON-ready result."""
    result: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpus_available": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "settings": asdict(settings),
        "load_before": _load(),
        "datasets": {},
        "rows": [],
    }
    for dataset in settings.datasets:
        log(f"[{dataset}] building trials ...")
        cases, facts = build_cases(settings, dataset)
        log(
            f"[{dataset}] timing {len(cases)} settings: {settings.warmup} warm-up, "
            f"{settings.rounds} rounds x {settings.steps} steps; load {_load()}"
        )
        start = time.perf_counter()
        samples, faults = time_interleaved(cases, settings.rounds, settings.warmup)
        facts["seconds"] = round(time.perf_counter() - start, 1)
        facts["load_after"] = _load()
        result["datasets"][dataset] = facts
        result["rows"].extend(asdict(row) for row in _rows(dataset, cases, samples, faults))
    result["load_after"] = _load()
    return result


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("dataset", "setting", "median ms", "ratio", "vs", "target", "result", "faults/step")
    lines: list[tuple[str, ...]] = []
    for r in rows:
        lines.append(
            (
                r["dataset"],
                r["setting"],
                f"{r['median_ms']:.2f}",
                ""
                if r["ratio"] is None
                else (f"{r['ratio']:.2%}" if r["setting"] == "batch prep" else f"{r['ratio']:.3f}x"),
                r["baseline"] or "",
                ""
                if r["target"] is None
                else (f"<= {r['target']:.0%}" if r["setting"] == "batch prep" else f"<= {r['target']:.2f}x"),
                "" if r["passed"] is None else ("PASS" if r["passed"] else "FAIL"),
                f"{r['extra']['minor_faults_per_step']:.0f}",
            )
        )
    return text_table(header, lines)


# --------------------------------------------------------------------------- CLI


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.step", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke run (digits, width 0.25, batch 32, 2 rounds): checks the script, not the speed",
    )
    p.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    p.add_argument("--datasets", nargs="+", metavar="NAME", help="default: fashion-mnist digits")
    p.add_argument("--rounds", type=int, help="timed rounds per setting (default 7; the median needs >= 5)")
    p.add_argument("--steps", type=int, help="steps per setting per round (default 3)")
    p.add_argument("--warmup", type=int, help="untimed steps per setting first (default 3)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--width", type=float)
    p.add_argument("--train-size", type=int, help="training subset size (default: whole split)")
    p.add_argument("--threads", type=int, help="torch threads (default: the CPUs this process may use)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    base = (
        BenchSettings(datasets=("digits",), width=0.25, batch_size=32, rounds=2, steps=1, warmup=1)
        if args.quick
        else BenchSettings()
    )
    overrides = {
        "datasets": tuple(args.datasets) if args.datasets else None,
        "rounds": args.rounds,
        "steps": args.steps,
        "warmup": args.warmup,
        "batch_size": args.batch_size,
        "width": args.width,
        "train_size": args.train_size,
    }
    settings = BenchSettings(**{**asdict(base), **{k: v for k, v in overrides.items() if v is not None}})
    for name in ("rounds", "steps"):
        if getattr(settings, name) < 1:
            raise SystemExit(f"--{name} must be >= 1, got {getattr(settings, name)}")
    threads = args.threads if args.threads is not None else len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    print(
        f"torch threads: {torch.get_num_threads()} (CPUs available: {len(os.sched_getaffinity(0))}); "
        f"load average {_load()}",
        flush=True,
    )
    if settings.rounds < 5 and not args.quick:
        print("note: fewer than 5 rounds; the medians are not the benchmark's", flush=True)

    result = run_benchmark(settings, log=lambda msg: print(msg, flush=True))
    print()
    print(format_table(result["rows"]))
    checked = [r for r in result["rows"] if r["passed"] is not None]
    failed = [f"{r['dataset']}: {r['setting']}" for r in checked if not r["passed"]]
    print(
        f"\n{len(checked) - len(failed)}/{len(checked)} targets met"
        + (f"; missed: {', '.join(failed)}" if failed else "")
        + f". Load average before {result['load_before']}, after {result['load_after']}."
    )
    if args.quick:
        print("(--quick: tiny models and few rounds; these timings say nothing about the targets)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
