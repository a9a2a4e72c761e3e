"""The fast path against the plain step (``eager=true``): accuracy over seeds, and a whole trial's time.

Run from the repository root::

    python -m bench.fast_vs_eager                    # 4 seeds x 3 arms at the study setting (~25 min on 2 cores)
    python -m bench.fast_vs_eager --json out.json    # also save every number
    python -m bench.fast_vs_eager --quick            # a tiny smoke run: its numbers mean nothing

Each run is a whole trial, ``trainable.loop.run_trial``, as a study runs it: the study
setting of ``studies/fmnist_dose.yaml`` (simple3 at width 0.25, Fashion-MNIST, 24,000
training and 5,000 validation images, 3 epochs of batch 256, lr 2e-3, no augmentation,
``dice`` at ``w_adv`` 0.1 with the ``mlp`` D, disc_lr 4e-4), evaluated on validation
after the last epoch, then once on the test split with the redundancy probe
(``final_test``). Arms (``--arms``):

- ``eager``: ``eager=true``, the plain step, the baseline;
- ``fast fp32``: the fast path with ``precision=fp32``;
- ``fast``: the fast path with the defaults (bf16 where the CPU has it);
- ``fast compile``: the defaults plus ``compile=true`` (not run by default: its
  compilation alone is most of a 3-epoch trial on the CPU).

Every arm trains seeds 2000..2000+``--seeds``-1 (the study's first seeds: the same
initialisation and data order for every arm of a seed). ``--jobs`` (2) trials run at
once, each in its own process with one torch thread, as a study's trials do, in the
order seed by seed, arm by arm, so both cores stay busy and every arm meets the same
load. Reported per arm: the test accuracies (mean and seed-to-seed standard deviation),
and each trial's wall time (building the trial, loading the data, compiling,
training, evaluating, the test and the probe: all of ``run_trial``).

Verdict per arm and metric, against ``eager`` on the same seeds: the mean paired
difference and its 95 % t interval; "within seed noise" when |mean difference| is at
most the ``eager`` arm's seed-to-seed standard deviation (what two runs of the same
code differ by). Time: the ratio of median wall times, ``eager`` / arm (> 1: faster).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sweep.formatting import text_table

__all__ = ["ARMS", "QUICK_SETTING", "STUDY_SETTING", "compare_arms", "main", "run_one"]

# The fixed settings of studies/fmnist_dose.yaml, and its middle dose of dice.
STUDY_SETTING: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "classifier": "simple3",
    "width": 0.25,
    "train_size": 24_000,
    "val_size": 5_000,
    "epochs": 3,
    "eval_every": 3,
    "batch_size": 256,
    "lr": 2e-3,
    "augment": False,
    "disc_arch": "mlp",
    "disc_lr": 4e-4,
    "objective": "dice",
    "w_adv": 0.1,
    "final_test": True,
    "device": "cpu",
}
QUICK_SETTING: dict[str, Any] = {
    **STUDY_SETTING,
    "dataset": "digits",
    "train_size": 200,
    "val_size": 100,
    "epochs": 1,
    "eval_every": 1,
    "batch_size": 32,
    "cka_examples": 64,
}
ARMS: dict[str, dict[str, Any]] = {
    "eager": {"eager": True},
    "fast fp32": {"precision": "fp32"},
    "fast": {},
    "fast compile": {"compile": True},
}
DEFAULT_ARMS = ("eager", "fast fp32", "fast")
FIRST_SEED = 2000
METRICS = ("test_ensemble_acc", "test_member_acc")


def run_one(job: tuple[dict[str, Any], str, int]) -> dict[str, Any]:
    """One trial in this (worker) process, one torch thread: its test metrics and wall time."""
    import torch

    from trainable.config import TrialConfig
    from trainable.fast_path import execution_plan
    from trainable.loop import run_trial

    setting, arm, seed = job
    torch.set_num_threads(1)
    config = TrialConfig.from_dict({**setting, **ARMS[arm], "seed": seed})
    load = os.getloadavg()[0]
    start = time.perf_counter()
    last = run_trial(config)[-1]
    wall = time.perf_counter() - start
    return {
        "arm": arm,
        "seed": seed,
        "plan": execution_plan(config, torch.device("cpu")).describe(),
        "wall_s": wall,
        "train_seconds": last["train_seconds"],
        "load_before": load,
        **{name: float(last[name]) for name in METRICS},
        "test_acc_1": float(last["test_acc_1"]),
        "test_acc_2": float(last["test_acc_2"]),
    }


def _t95(n: int) -> float:
    """Two-sided 95 % quantile of Student's t with n - 1 degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1))


def compare_arms(runs: Sequence[dict[str, Any]], arms: Sequence[str]) -> list[dict[str, Any]]:
    """One row per arm and metric: mean, seed sd, paired difference to ``eager``, its interval, the verdict."""
    by = {(r["arm"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    rows = []
    base_wall = statistics.median(by[("eager", s)]["wall_s"] for s in seeds) if "eager" in arms else None
    for arm in arms:
        wall = statistics.median(by[(arm, s)]["wall_s"] for s in seeds)
        for metric in METRICS:
            values = [by[(arm, s)][metric] for s in seeds]
            row: dict[str, Any] = {
                "arm": arm,
                "metric": metric,
                "mean": statistics.mean(values),
                "sd": statistics.stdev(values) if len(values) > 1 else math.nan,
                "median_wall_s": wall,
                "speed_up": None if base_wall is None else base_wall / wall,
                "diff": None,
                "ci95": None,
                "within_noise": None,
            }
            if arm != "eager" and "eager" in arms:
                eager = [by[("eager", s)][metric] for s in seeds]
                diffs = [a - b for a, b in zip(values, eager)]
                mean = statistics.mean(diffs)
                half = (
                    _t95(len(diffs)) * statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else math.nan
                )
                noise = statistics.stdev(eager) if len(eager) > 1 else math.nan
                row.update(diff=mean, ci95=[mean - half, mean + half], within_noise=bool(abs(mean) <= noise))
            rows.append(row)
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    def pp(x: float) -> str:
        return f"{100 * x:+.2f}"

    body = [
        (
            r["arm"],
            r["metric"],
            f"{100 * r['mean']:.2f}",
            f"{100 * r['sd']:.2f}",
            "" if r["diff"] is None else pp(r["diff"]),
            "" if r["ci95"] is None else f"[{pp(r['ci95'][0])}, {pp(r['ci95'][1])}]",
            "" if r["within_noise"] is None else ("PASS" if r["within_noise"] else "FAIL"),
            f"{r['median_wall_s']:.1f}",
            "" if r["speed_up"] is None else f"{r['speed_up']:.2f}x",
        )
        for r in rows
    ]
    header = (
        "arm",
        "metric",
        "mean %",
        "seed sd pp",
        "- eager pp",
        "95% interval",
        "within noise",
        "wall s",
        "speed-up",
    )
    return text_table(header, body)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.fast_vs_eager", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="digits, 200 images, 1 epoch, 2 seeds: a smoke run")
    p.add_argument("--seeds", type=int, help="seeds per arm (default 4; quick 2)")
    p.add_argument("--arms", nargs="+", choices=list(ARMS), help=f"default: {' '.join(DEFAULT_ARMS)}")
    p.add_argument("--jobs", type=int, default=2, help="trials at once, one process and one thread each (default 2)")
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    setting = QUICK_SETTING if args.quick else STUDY_SETTING
    seeds = args.seeds or (2 if args.quick else 4)
    arms = tuple(args.arms or DEFAULT_ARMS)
    if seeds < 1 or args.jobs < 1:
        raise SystemExit(f"--seeds and --jobs must be >= 1, got {seeds} and {args.jobs}")
    jobs = [(setting, arm, FIRST_SEED + k) for k in range(seeds) for arm in arms]
    load_before = [round(v, 2) for v in os.getloadavg()]
    print(f"{len(jobs)} trials ({len(arms)} arms x {seeds} seeds), {args.jobs} at once; load {load_before}", flush=True)
    runs: list[dict[str, Any]] = []
    with mp.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
        for run in pool.imap_unordered(run_one, jobs):
            runs.append(run)
            print(
                f"  {run['arm']:12s} seed {run['seed']}: ensemble {run['test_ensemble_acc']:.4f}, "
                f"members {run['test_acc_1']:.4f} / {run['test_acc_2']:.4f}, {run['wall_s']:.1f} s "
                f"({run['plan']['precision']}; load {run['load_before']:.2f})",
                flush=True,
            )
    rows = compare_arms(runs, arms)
    print()
    print(format_rows(rows))
    load_after = [round(v, 2) for v in os.getloadavg()]
    print(f"\nload average before {load_before}, after {load_after}")
    if args.quick:
        print("(--quick: tiny data, one epoch; these numbers say nothing)")
    if args.json:
        saved = {
            "benchmark": "fast_vs_eager",
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "setting": setting,
            "arms": {arm: ARMS[arm] for arm in arms},
            "seeds": seeds,
            "jobs": args.jobs,
            "load_before": load_before,
            "load_after": load_after,
            "runs": sorted(runs, key=lambda r: (r["seed"], arms.index(r["arm"]))),
            "rows": rows,
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
