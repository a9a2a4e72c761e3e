"""The sweep driver's cost per trial with Tune's three loggers and with its JSON logger alone.

Run from the repository root::

    python -m bench.tune_loggers                  # 300 trials, 3 rounds (about 5 minutes on 2 cores)
    python -m bench.tune_loggers --json out.json
    python -m bench.tune_loggers --quick          # 10 trials, 1 round: checks the script, times nothing

What is timed is the sweep exactly as the runner builds and fits it
(``bench.sweep_overhead.timed_fit``: the ``loss_weights`` space on digits, TPE, one seed
per configuration, the live study on, ``reuse_actors=True``), with the trainable that
reports one result and returns (``instant_trainable``), so what is left is the driver's
machinery. Two settings:

- ``three loggers``: Tune's default, result.json + progress.csv + a TensorBoard event file
  per trial (``TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=0``, what every sweep did before 2026-12-05);
- ``JSON alone``: netsep's default (``sweep.backend.tuner.json_logger_only``).

Per setting and round: the driver's CPU seconds per trial (this process's
``time.process_time`` over the fit: every thread of the driver, Tune's and Ray's
included) and the wall seconds per trial. Both include a fit's fixed start-up, the same
in both settings. The settings alternate within each round (the first one rotating);
a value is the median over rounds, the ratio JSON alone / three loggers is from the same
rounds. Each run also checks which files its trial folders hold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.machine import format_table, load_average, machine_info, wait_for_quiet
from bench.sweep_overhead import bench_plan, instant_trainable, timed_fit
from sweep.backend.tuner import DISABLE_DEFAULT_LOGGERS
from sweep.plan import TUNE_DIR

SETTINGS = {"three loggers": "0", "JSON alone": None}  # name -> TUNE_DISABLE_AUTO_CALLBACK_LOGGERS


def _logger_files(tune_dir: Path) -> dict[str, int]:
    """How many trial folders hold each kind of logger file."""
    kinds = {"result.json": 0, "progress.csv": 0, "tfevents": 0}
    for trial in tune_dir.glob("trial_*"):
        names = [f.name for f in trial.iterdir()]
        for kind in kinds:
            kinds[kind] += any(kind in name for name in names)
    return kinds


def _one_run(setting: str, storage: Path, name: str, trials: int, cpus: float) -> dict[str, Any]:
    plan, space = bench_plan(str(storage), name, space="loss_weights", trials=trials, cpus=cpus, gpus=0)
    value = SETTINGS[setting]
    saved = os.environ.pop(DISABLE_DEFAULT_LOGGERS, None)
    if value is not None:
        os.environ[DISABLE_DEFAULT_LOGGERS] = value
    try:
        cpu_start = time.process_time()
        timing = timed_fit(plan, space, instant_trainable, reuse_actors=True)
        cpu = time.process_time() - cpu_start
    finally:
        os.environ.pop(DISABLE_DEFAULT_LOGGERS, None)
        if saved is not None:
            os.environ[DISABLE_DEFAULT_LOGGERS] = saved
    files = _logger_files(storage / name / TUNE_DIR)
    expected = {"result.json": trials, "progress.csv": trials, "tfevents": trials}
    if setting == "JSON alone":
        expected.update({"progress.csv": 0, "tfevents": 0})
    if files != expected:
        raise RuntimeError(f"{setting}: trial folders hold {files}, expected {expected}")
    return {"cpu_ms_per_trial": 1000 * cpu / trials, "wall_ms_per_trial": 1000 * timing.wall_s / trials, "files": files}


def run_benchmark(trials: int, rounds: int, storage: Path, max_load: float | None) -> list[dict[str, Any]]:
    import ray

    from sweep.backend.connection import connect

    info = connect(None, dashboard=False, num_cpus=2)  # once, outside every timing
    runs: list[dict[str, Any]] = []
    names = list(SETTINGS)
    try:
        for rnd in range(rounds):
            for setting in names[rnd % 2 :] + names[: rnd % 2]:
                before = wait_for_quiet(max_load)
                slug = setting.replace(" ", "-").lower()
                run = _one_run(setting, storage, f"loggers-{slug}-r{rnd}", trials, info.cpus)
                run.update(setting=setting, round=rnd, load_before=before, load_after=load_average())
                runs.append(run)
                print(
                    f"[round {rnd}] {setting}: driver CPU {run['cpu_ms_per_trial']:.1f} ms/trial, "
                    f"wall {run['wall_ms_per_trial']:.1f} ms/trial (load {before:.2f} -> {run['load_after']:.2f})",
                    flush=True,
                )
    finally:
        ray.shutdown()
    return runs


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians per setting and the same-round ratios JSON alone / three loggers."""
    out: dict[str, Any] = {}
    for key in ("cpu_ms_per_trial", "wall_ms_per_trial"):
        per = {s: [r[key] for r in runs if r["setting"] == s] for s in SETTINGS}
        by_round = {(r["setting"], r["round"]): r[key] for r in runs}
        ratios = [
            by_round[("JSON alone", k)] / by_round[("three loggers", k)] for k in sorted({r["round"] for r in runs})
        ]
        out[key] = {**{s: statistics.median(v) for s, v in per.items()}, "ratio": statistics.median(ratios)}
        out[key + "_samples"] = per
    return out


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.tune_loggers", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="10 trials, 1 round: checks the script, times nothing")
    p.add_argument("--trials", type=int, help="trials per sweep (default 300)")
    p.add_argument("--rounds", type=int, help="sweeps per setting (default 3)")
    p.add_argument("--storage", help="keep the results folders here (default: a temporary folder, removed)")
    p.add_argument("--max-load", type=float, help="before each run wait (up to 5 min) for the 1-min load <= this")
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    trials = args.trials or (10 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 3)
    if trials < 1 or rounds < 1:
        raise SystemExit(f"--trials and --rounds must be >= 1, got {trials} and {rounds}")
    storage = Path(args.storage or tempfile.mkdtemp(prefix="netsep-bench-loggers-"))
    print(f"load average before: {load_average():.2f} ({os.cpu_count()} CPUs); {trials} trials", flush=True)
    try:
        runs = run_benchmark(trials, rounds, storage, args.max_load)
    finally:
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    summary = summarize(runs)
    rows = [
        (label, *(f"{summary[key][s]:.1f}" for s in SETTINGS), f"{summary[key]['ratio']:.2f}x")
        for label, key in (("driver CPU ms/trial", "cpu_ms_per_trial"), ("wall ms/trial", "wall_ms_per_trial"))
    ]
    print(f"\nThe sweep driver per trial, {trials} instant trials, median of {rounds} rounds")
    print(format_table(("", *SETTINGS, "JSON alone / three"), rows))
    if args.json:
        saved = {
            "benchmark": "tune_loggers",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.tune_loggers", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            "settings": {"trials": trials, "rounds": rounds, "space": "loss_weights", "data": "digits"},
            "summary": summary,
            "runs": runs,
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
