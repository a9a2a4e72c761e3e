"""Per-trial overhead of the sweep machinery, with a trainable that returns at once.

Run from the repository root::

    python -m bench.sweep_overhead                  # the measurement (about 4 minutes on 2 cores)
    python -m bench.sweep_overhead --json out.json  # also save every number
    python -m bench.sweep_overhead --quick          # a tiny smoke run: its timings mean nothing

What is timed is the sweep exactly as ``sweep.run.runner.build_tuner`` builds it (the
plan from ``build_plan``/``resolve_resources``, ``SweepSearcher`` around
``OptunaSearch`` with the space's define-by-run sampling, Tune's concurrency limit,
the runner's ``RunConfig`` with its checkpoint and failure settings), with one substitution: the
trainable reports one result and returns (``instant_trainable``), so what is left
is the cost of the machinery. Ray is started once, without the dashboard, before
any timing.

Overhead per trial = wall time of ``Tuner.fit()`` / number of trials. Settings:

- ``reuse_actors=True``: the runner's own setting. Target: <= 0.3 s per trial.
- ``reuse_actors=False``: the same sweep with a fresh actor per trial, for
  comparison (measured when netsep was designed: ~1.3 s vs ~0.13 s).
- ``run_sweep()``: the whole public call ``sweep.run.runner.run_sweep(plan, space,
  trainable=...)`` (saving the plan and building the Tuner included), as a check
  that the Tuner built here is the one the runner builds; same target.
- ``reuse_actors=True, 2x trials``: the first setting with twice the trials. From
  the two, per round: the fixed cost of a ``fit()`` (starting the experiment and
  the first actors, wrapping up) and the marginal cost of one more trial.

The settings are timed interleaved, ``--rounds`` times, the first setting of a
round rotating, so a burst of load from another process hits all of them alike;
a setting's value is the median over the rounds. The 1-minute load average
before and after each run is recorded.

This module also holds the small harness the other sweep benchmarks share
(``bench_plan``, ``timed_fit``); ``bench.machine`` holds the machine facts and tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.machine import format_table, load_average, machine_info, wait_for_quiet

if TYPE_CHECKING:  # Ray, Optuna and the sweep package load only when a benchmark runs
    import optuna

    from sweep.plan import SweepPlan
    from sweep.spaces import SearchSpace

__all__ = [
    "DOUBLE",
    "OVERHEAD_TARGET_S",
    "SETTINGS",
    "FitTiming",
    "Run",
    "bench_plan",
    "instant_trainable",
    "main",
    "run_benchmark",
    "split_fixed_cost",
    "timed_fit",
]

OVERHEAD_TARGET_S = 0.3  # the project's target: seconds of machinery per trial, at most
SETTINGS = ("reuse_actors=True", "reuse_actors=False", "run_sweep()", "reuse_actors=True, 2x trials")
DOUBLE = "reuse_actors=True, 2x trials"  # twice the trials: separates the fixed cost of a fit() from the per-trial one
REFERENCE_S = {"reuse_actors=True": 0.13, "reuse_actors=False": 1.3}  # measured when netsep was designed


# --------------------------------------------------------------------- trainable
def instant_trainable(config: dict[str, Any]) -> None:
    """Report one result with every objective metric, then return.

    The values are a deterministic function of the config, so Optuna gets real,
    varied multi-objective results to model (as constant values would not be), and
    ``epoch`` equals the configured epochs, so ``SweepSearcher`` sees a finished
    trial rather than one stopped early.
    """
    import ray.tune

    from trainable.metric_names import OBJECTIVE_METRICS

    rng = random.Random(repr(sorted(config.items())))
    metrics: dict[str, float] = {name: rng.random() for name in OBJECTIVE_METRICS}
    metrics.update(epoch=int(config.get("epochs", 1)), train_seconds=0.0)
    ray.tune.report(metrics)


# ----------------------------------------------------------- shared harness
def bench_plan(
    storage: str,
    name: str,
    *,
    space: str,
    trials: int,
    cpus: float,
    gpus: float,
    data: str = "digits",
    epochs: int | None = None,
    overrides: Sequence[str] = (),
    baseline: bool = False,
    max_concurrent: int | None = None,
    replicates: str = "1",
) -> tuple[SweepPlan, SearchSpace]:
    """A validated, resourced ``SweepPlan`` built the way ``launch.py`` builds one.

    ``baseline=False`` leaves the `independent` baseline out, so the sweep runs
    exactly ``trials`` trials; ``replicates`` (``--replicates``) is one seed per
    configuration unless asked: the benchmarks measure the machinery per trial.
    """
    from sweep.plan import build_plan, resolve_resources
    from sweep.requests import ClusterOptions, SweepRequest, parse_overrides

    request = SweepRequest(
        space=space,
        data=data,
        trials=trials,
        epochs=epochs,
        storage=storage,
        name=name,
        cluster=ClusterOptions(max_concurrent=max_concurrent),
        overrides=parse_overrides(overrides),
        replicates=replicates,
    )
    plan, loaded = build_plan(request)
    plan = resolve_resources(replace(plan, baseline=baseline), cpus, gpus)
    return plan, loaded


@dataclass(frozen=True)
class FitTiming:
    wall_s: float  # Tuner.fit() alone
    started: float  # time.perf_counter() when fit() was called
    results: list[dict[str, Any]]  # each trial's last reported metrics (Tune's included)
    study: optuna.Study  # the searcher's study: its trials numbered in the order they were proposed


def timed_fit(
    plan: SweepPlan,
    space: SearchSpace,
    trainable: Callable[[dict[str, Any]], None] | None,
    *,
    reuse_actors: bool,
    callbacks: Sequence[Any] = (),
) -> FitTiming:
    """Build the runner's Tuner (its trainable swapped for ``trainable`` when given) and time its fit.

    The Tuner is ``sweep.run.runner.build_tuner``'s, so the only change from a real
    sweep is ``reuse_actors`` (and the trainable, and any extra Tune ``callbacks``
    that observe it). Raises when a trial failed, or when Optuna did not record
    every trial as complete.
    """
    import optuna

    from sweep.backend.tuner import fit
    from sweep.plan import TUNE_DIR
    from sweep.run.runner import build_searcher, build_tuner

    searcher = build_searcher(plan, space)  # kept, to read its Optuna study afterwards
    tuner = build_tuner(plan, space, trainable, searcher=searcher, callbacks=callbacks, reuse_actors=reuse_actors)
    plan.save()
    start = time.perf_counter()
    grid = fit(tuner, TUNE_DIR)  # as the runner calls it: Tune's JSON logger alone, in this node's turn
    wall = time.perf_counter() - start
    if grid.errors:
        raise RuntimeError(f"{len(grid.errors)} trial(s) failed; first: {grid.errors[0]!r}")
    study = searcher.study
    complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if len(grid) != plan.trials or complete != plan.trials:
        raise RuntimeError(f"expected {plan.trials} trials, Tune ran {len(grid)} and Optuna holds {complete} complete")
    return FitTiming(wall, start, [dict(grid[i].metrics or {}) for i in range(len(grid))], study)


# -------------------------------------------------------------------- benchmark
@dataclass
class Run:
    setting: str
    round: int
    trials: int
    wall_s: float
    per_trial_s: float
    load_before: float
    load_after: float


@dataclass
class Outcome:
    settings: dict[str, Any]
    runs: list[Run] = field(default_factory=list)

    def samples(self, setting: str) -> list[float]:
        return [r.per_trial_s for r in self.runs if r.setting == setting]

    def wall(self, setting: str, rnd: int) -> float:
        return next(r.wall_s for r in self.runs if r.setting == setting and r.round == rnd)


def _one_run(setting: str, storage: str, name: str, trials: int, cpus: float, gpus: float) -> float:
    """Wall seconds of one sweep of ``trials`` instant trials under ``setting``."""
    from sweep.run.runner import run_sweep

    plan, space = bench_plan(storage, name, space="loss_weights", trials=trials, cpus=cpus, gpus=gpus)
    if setting == "run_sweep()":
        start = time.perf_counter()
        run_sweep(plan, space, trainable=instant_trainable)
        return time.perf_counter() - start
    return timed_fit(plan, space, instant_trainable, reuse_actors=setting != "reuse_actors=False").wall_s


def run_benchmark(trials: int, rounds: int, storage: str, max_load: float | None) -> Outcome:
    import ray

    from sweep.backend.connection import connect

    outcome = Outcome(
        settings={
            "trials": trials,
            "rounds": rounds,
            "space": "loss_weights",
            "data": "digits",
            "baseline": False,
            "num_cpus": 2,
        }
    )
    info = connect(None, dashboard=False, num_cpus=2)  # once, outside every timing
    outcome.settings.update(cluster_cpus=info.cpus, cluster_gpus=info.gpus)
    try:
        for rnd in range(rounds):
            order = SETTINGS[rnd % len(SETTINGS) :] + SETTINGS[: rnd % len(SETTINGS)]
            for setting in order:
                before = wait_for_quiet(max_load)
                slug = "".join(c if c.isalnum() else "-" for c in setting.lower())
                n = 2 * trials if setting == DOUBLE else trials
                wall = _one_run(setting, storage, f"overhead-{slug}-r{rnd}", n, info.cpus, info.gpus)
                run = Run(setting, rnd, n, wall, wall / n, before, load_average())
                outcome.runs.append(run)
                print(
                    f"[round {rnd}] {setting}: {wall:.2f} s for {n} trials = {run.per_trial_s:.3f} s/trial "
                    f"(load {run.load_before:.2f} -> {run.load_after:.2f})",
                    flush=True,
                )
    finally:
        ray.shutdown()
    return outcome


def summarize(outcome: Outcome) -> list[dict[str, Any]]:
    rows = []
    for setting in SETTINGS:
        samples = outcome.samples(setting)
        median = statistics.median(samples)
        target = OVERHEAD_TARGET_S if setting in ("reuse_actors=True", "run_sweep()") else None
        rows.append(
            {
                "setting": setting,
                "samples_s": samples,
                "median_s": median,
                "min_s": min(samples),
                "max_s": max(samples),
                "target_s": target,
                "reference_s": REFERENCE_S.get(setting),
                "passed": None if target is None else median <= target,
            }
        )
    return rows


def split_fixed_cost(outcome: Outcome) -> dict[str, Any]:
    """reuse_actors=True: a fit()'s fixed cost and each trial's marginal one, from T vs 2T trials.

    Per round, wall(2T) - wall(T) is what T more trials cost, and
    2 wall(T) - wall(2T) what a fit() costs before and after its trials; medians over rounds.
    """
    trials = outcome.settings["trials"]
    rounds = sorted({r.round for r in outcome.runs})
    marginal = [(outcome.wall(DOUBLE, k) - outcome.wall("reuse_actors=True", k)) / trials for k in rounds]
    fixed = [2 * outcome.wall("reuse_actors=True", k) - outcome.wall(DOUBLE, k) for k in rounds]
    return {
        "marginal_s_per_trial": statistics.median(marginal),
        "fixed_s_per_fit": statistics.median(fixed),
        "marginal_samples": marginal,
        "fixed_samples": fixed,
    }


def table(rows: Sequence[dict[str, Any]], trials: int) -> str:
    header = ("setting", "trials", "s/trial (median)", "min", "max", "target", "result")
    body = [
        (
            r["setting"],
            str(2 * trials if r["setting"] == DOUBLE else trials),
            f"{r['median_s']:.3f}",
            f"{r['min_s']:.3f}",
            f"{r['max_s']:.3f}",
            "(comparison)" if r["target_s"] is None else f"<= {r['target_s']:.2f}",
            "" if r["passed"] is None else ("PASS" if r["passed"] else "FAIL"),
        )
        for r in rows
    ]
    return format_table(header, body)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.sweep_overhead", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="4 trials, 1 round: a smoke run whose timings mean nothing")
    p.add_argument("--trials", type=int, help="trials per sweep (default 20)")
    p.add_argument("--rounds", type=int, help="timed sweeps per setting (default 5)")
    p.add_argument("--storage", help="keep the results folders here (default: a temporary folder, removed)")
    p.add_argument(
        "--max-load", type=float, help="before each run wait (up to 5 min) for the 1-min load average <= this"
    )
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    trials = args.trials or (4 if args.quick else 20)
    rounds = args.rounds or (1 if args.quick else 5)
    if trials < 1 or rounds < 1:
        raise SystemExit(f"--trials and --rounds must be >= 1, got {trials} and {rounds}")
    storage = args.storage or tempfile.mkdtemp(prefix="netsep-bench-overhead-")
    print(f"load average before: {load_average():.2f} ({os.cpu_count()} CPUs)", flush=True)
    try:
        outcome = run_benchmark(trials, rounds, storage, args.max_load)
    finally:
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    rows = summarize(outcome)
    print()
    print(
        f"Per-trial overhead of the sweep machinery (instant trainable, {trials} trials, "
        f"2 concurrent on 2 CPUs, median of {rounds} rounds)"
    )
    print(table(rows, trials))
    split = split_fixed_cost(outcome)
    print(
        f"\nreuse_actors=True, from {trials} vs {2 * trials} trials: each trial costs "
        f"{split['marginal_s_per_trial']:.3f} s, each fit() {split['fixed_s_per_fit']:.2f} s on top (medians)"
    )
    loads = [r.load_before for r in outcome.runs]
    print(f"\nload average before the runs: {min(loads):.2f} .. {max(loads):.2f}")
    if args.json:
        saved = {
            "benchmark": "sweep_overhead",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.sweep_overhead", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            "settings": outcome.settings,
            "rows": rows,
            "fixed_and_marginal": split,
            "runs": [asdict(r) for r in outcome.runs],
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
