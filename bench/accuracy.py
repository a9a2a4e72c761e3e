"""Accuracy benchmark: train classifier pairs with the real training loop and report.

Run from the repository root::

    python -m bench.accuracy                        # digits and fashion-mnist, independent and dice
    python -m bench.accuracy --cases fashion --set lr=2e-3 --set label_smoothing=0.1
    python -m bench.accuracy --json out.json
    python -m bench.accuracy --quick                # a tiny smoke run: its accuracies mean nothing

Each trial goes through ``trainable.loop.run_trial`` (data, models, optimizers, LR
schedule, evaluation: all as a sweep trial would), on the CPU, with the config
defaults except what a case fixes and what ``--set`` overrides. The table gives each
member's test accuracy, the ensemble's, and the wall time of the whole trial.

Cases (the targets are on the *weaker* member):

- ``digits``: simple3 width 1.0 on scikit-learn's digits, 15 epochs; >= 97%.
- ``fashion``: simple3 width 1.0 on Fashion-MNIST, 10,000 training images
  (class-stratified), 5 epochs; >= 88%.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from sweep.formatting import text_table
from trainable.config import ConfigError, TrialConfig
from trainable.loop import PairTraining, run_trial

__all__ = [
    "CASES",
    "QUICK_CASES",
    "AccuracyCase",
    "Result",
    "case_config",
    "format_table",
    "main",
    "parse_setting",
    "run_case",
]


@dataclass(frozen=True)
class AccuracyCase:
    """A dataset setting with its target on the weaker member's test accuracy."""

    name: str
    config: dict[str, Any]
    target: float | None


CASES: dict[str, AccuracyCase] = {
    "digits": AccuracyCase("digits", {"dataset": "digits", "classifier": "simple3", "width": 1.0, "epochs": 15}, 0.97),
    "fashion": AccuracyCase(
        "fashion",
        {"dataset": "fashion-mnist", "train_size": 10_000, "classifier": "simple3", "width": 1.0, "epochs": 5},
        0.88,
    ),
}
# Tiny versions for the smoke test: a few hundred images, a narrow net, one epoch.
QUICK_CASES: dict[str, AccuracyCase] = {
    "digits": AccuracyCase(
        "digits",
        {"dataset": "digits", "train_size": 200, "width": 0.25, "epochs": 1, "batch_size": 32, "cka_examples": 64},
        None,
    ),
    "fashion": AccuracyCase(
        "fashion",
        {
            "dataset": "fashion-mnist",
            "train_size": 200,
            "width": 0.25,
            "epochs": 1,
            "batch_size": 32,
            "cka_examples": 64,
        },
        None,
    ),
}
OBJECTIVES = ("independent", "dice", "seed")


def case_config(case: AccuracyCase, objective: str, overrides: dict[str, Any], seed: int) -> TrialConfig:
    """The trial config of one case and objective, validated.

    ``independent`` uses the ``shared`` pairing, so it sees the data exactly as
    ``dice`` does (docs/design.md: the baseline matches the arm it is compared with).
    """
    # val_size 0: a benchmark selects nothing, so it trains on the whole training split
    # and scores the test split, as the accuracy targets (and the thesis's numbers) do.
    raw: dict[str, Any] = {**case.config, "objective": objective, "device": "cpu", "seed": seed, "val_size": 0}
    if objective == "independent":
        raw.update(w_adv=0.0, pairing="shared")
    raw.update(overrides)
    return TrialConfig.from_dict(raw)


@dataclass
class Result:
    """One trained pair."""

    case: str
    objective: str
    acc_1: float
    acc_2: float
    ensemble_acc: float
    wall_seconds: float
    train_seconds: float
    target: float | None
    passed: bool | None
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def run_case(
    case: AccuracyCase,
    objective: str,
    overrides: dict[str, Any],
    seed: int,
    log: Callable[[str], None] = print,
) -> Result:
    config = case_config(case, objective, overrides, seed)

    def on_epoch(metrics: dict[str, float], _training: PairTraining) -> None:
        log(
            f"  [{case.name}/{objective}] epoch {int(metrics['epoch'])}: acc {metrics['acc_1']:.4f} / "
            f"{metrics['acc_2']:.4f}, ensemble {metrics['ensemble_acc']:.4f}, "
            f"train loss {metrics['train_loss']:.4f}, {metrics['train_seconds']:.0f} s"
        )

    start = time.perf_counter()
    history = run_trial(config, on_epoch=on_epoch)
    wall = time.perf_counter() - start
    last = history[-1]
    weaker = min(last["acc_1"], last["acc_2"])
    return Result(
        case=case.name,
        objective=objective,
        acc_1=last["acc_1"],
        acc_2=last["acc_2"],
        ensemble_acc=last["ensemble_acc"],
        wall_seconds=wall,
        train_seconds=last["train_seconds"],
        target=case.target,
        passed=None if case.target is None else bool(weaker >= case.target),
        config=config.to_dict(),
        history=history,
    )


def format_table(results: Sequence[Result]) -> str:
    header = ("case", "objective", "acc_1", "acc_2", "ensemble", "wall s", "target", "result")
    lines: list[tuple[str, ...]] = []
    for r in results:
        lines.append(
            (
                r.case,
                r.objective,
                f"{r.acc_1:.4f}",
                f"{r.acc_2:.4f}",
                f"{r.ensemble_acc:.4f}",
                f"{r.wall_seconds:.1f}",
                "" if r.target is None else f">= {r.target:.2f} each",
                "" if r.passed is None else ("PASS" if r.passed else "FAIL"),
            )
        )
    return text_table(header, lines)


def parse_setting(text: str) -> tuple[str, Any]:
    """``key=value``; the value is read as JSON when it parses (numbers, true, null), else kept as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set takes key=value (a TrialConfig key), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke run (digits, 200 images, width 0.25, 1 epoch): checks the script only",
    )
    p.add_argument("--cases", nargs="+", choices=sorted(CASES), help="default: digits fashion (quick: digits)")
    p.add_argument("--objectives", nargs="+", choices=OBJECTIVES, default=["independent", "dice"])
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=parse_setting,
        default=[],
        metavar="KEY=VALUE",
        help="override a TrialConfig key in every trial (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write every number (with per-epoch history) here")
    p.add_argument("--threads", type=int, help="torch threads (default: the CPUs this process may use)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    table = QUICK_CASES if args.quick else CASES
    names = args.cases or (["digits"] if args.quick else ["digits", "fashion"])
    overrides = dict(args.overrides)
    # Validate every config before the first (long) trial starts.
    try:
        for name in names:
            for objective in args.objectives:
                case_config(table[name], objective, overrides, args.seed)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    threads = args.threads if args.threads is not None else len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    print(
        f"torch threads: {torch.get_num_threads()} (CPUs available: {len(os.sched_getaffinity(0))}); "
        f"load average {[round(v, 2) for v in os.getloadavg()]}; overrides {overrides or 'none'}",
        flush=True,
    )

    results = []
    for name in names:
        for objective in args.objectives:
            results.append(
                run_case(table[name], objective, overrides, args.seed, log=lambda msg: print(msg, flush=True))
            )
    print()
    print(format_table(results))
    if args.quick:
        print("\n(--quick: tiny data and one epoch; these accuracies say nothing about the targets)")
    if args.json:
        payload = {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": {
                "cpus_available": len(os.sched_getaffinity(0)),
                "torch_threads": torch.get_num_threads(),
                "python": platform.python_version(),
                "torch": torch.__version__,
            },
            "overrides": overrides,
            # NaN (no discriminator) is not JSON: write it as null.
            "results": [_json_safe(asdict(r)) for r in results],
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
        print(f"wrote {args.json}")
    return 0


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
