"""Sweep efficiency: how close a real sweep gets to its trials' own training time.

Run from the repository root::

    python -m bench.sweep_efficiency                  # the measurement (about 3 minutes on 2 cores)
    python -m bench.sweep_efficiency --json out.json  # also save every number
    python -m bench.sweep_efficiency --quick          # a tiny smoke run: its ratios mean nothing

A sweep of ``--trials`` (8) real trials (``trainable.tune_function.train``): the
``loss_weights`` space on digits, ``--epochs`` (3) epochs, batch 64, no baseline,
``--concurrent`` (2) trials at once with one CPU each. The Tuner is the runner's own
(``bench.sweep_overhead.timed_fit``), ``reuse_actors=True``.

Each sweep gets its own local Ray with 2 CPUs, started by ``sweep.ray_connection.connect``
as ``launch.py`` starts it (without the dashboard), because what the Ray start does
is part of what is measured: two settings run in every round, in rotating order,

- ``preload`` (netsep's): the idle workers Ray starts with import torch and the
  trainable at once (``PRELOAD_MODULES``), so the trial actors that take them start warm;
- ``no preload`` (the baseline, as before issue 11): each trial actor imports them
  when Tune starts it.

Ideal wall time = (sum over trials of a trial's own time) / concurrent. Target
(issue 11): wall time of ``Tuner.fit()`` <= 1.10 x ideal with ``preload``. The preload
moves work out of ``fit()`` into the seconds before it, so the script also times each
round end to end, from ``connect()`` (Ray's start) to ``fit()``'s return: that is the
time a user waits, and the preload must not make it longer. Two readings of "a
trial's own time":

- ``train_seconds``: what the trial reports, its training and test-set evaluation
  only (``trainable.loop.PairTraining``); building the nets, loading the data,
  checkpointing and reporting are outside it, so this ratio charges them to the
  sweep. This is the stricter one.
- ``time_total_s``: Tune's own clock of the trial, from its start to its last
  result, so it also holds the trial's setup, checkpoints and reports; the ratio
  is then the cost of scheduling, actor start-up and idle slots alone.

Both trials of a pair run at the same time on the two cores, so each one's time
already includes what sharing the machine costs it. The sweep is repeated
``--rounds`` (3) times; the ratios are the medians over the rounds.
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.sweep_overhead import (
    bench_plan,
    format_table,
    load_average,
    machine_info,
    timed_fit,
    wait_for_quiet,
)

__all__ = ["EFFICIENCY_TARGET", "Round", "main", "measure_round", "summarize"]

EFFICIENCY_TARGET = 1.10  # fit() wall <= this x ideal, with netsep's preload (issue 11)
CLOCKS = ("train_seconds", "time_total_s")
# setting -> connect(preload=...); the first is netsep's own, the one the target is for.
SETTINGS = {"preload": True, "no preload": False}


def completion_clock() -> Any:
    """A Tune callback that notes when (``time.perf_counter()``, in the driver) each trial completed.

    Its class is made here, not at module level, so that importing this module
    does not import Ray.
    """
    from ray.tune import Callback

    class _Clock(Callback):
        def __init__(self) -> None:
            self.completed: dict[str, float] = {}

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            self.completed[trial.trial_id] = time.perf_counter()

    return _Clock()


@dataclass
class Round:
    index: int
    setting: str  # a key of SETTINGS
    wall_s: float  # Tuner.fit() alone
    concurrent: int
    train_seconds: list[float]  # each trial's reported train_seconds (its last result)
    time_total_s: list[float]  # each trial's Tune time_total_s
    idle: dict[str, float]  # slot-seconds with no trial running, by where (see idle_breakdown)
    load_before: float
    load_after: float
    ray_start_s: float = 0.0  # connect(): starting the local Ray
    before_fit_s: float = 0.0  # connect() called -> fit() called (Ray's start, the plan, the Tuner)

    @property
    def end_to_end_s(self) -> float:
        """connect() called -> fit() returned: what the user waits for."""
        return self.before_fit_s + self.wall_s

    def ideal_s(self, clock: str) -> float:
        return sum(getattr(self, clock)) / self.concurrent

    def ratio(self, clock: str) -> float:
        return self.wall_s / self.ideal_s(clock)


def idle_breakdown(wall_s: float, spans: Sequence[tuple[float, float]], concurrent: int) -> dict[str, float]:
    """Where the slot-time no trial used went: ``concurrent`` x wall - sum of trial times.

    ``spans`` are the trials' (start, end) in seconds since ``fit()`` was called,
    start = end - Tune's ``time_total_s``. They are laid on ``concurrent`` slots in
    order of start, each on the slot that fell free first; the time a slot waits
    before its first trial is ``startup`` (Tune's set-up, starting the actor,
    importing torch there), between two of its trials ``between`` (the next trial's
    set-up on a reused actor, the searcher's suggestion), and after its last one
    until ``fit()`` returned ``tail`` (waiting for the other slot's last trial,
    then Tune's wrap-up).
    """
    free = [0.0] * concurrent
    used = [False] * concurrent
    out = {"startup": 0.0, "between": 0.0, "tail": 0.0}
    for start, end in sorted(spans):
        slot = min(range(concurrent), key=lambda i: free[i])
        out["between" if used[slot] else "startup"] += max(0.0, start - free[slot])
        free[slot], used[slot] = max(end, free[slot]), True
    out["tail"] = sum(max(0.0, wall_s - f) for f in free)
    return out


def measure_round(
    index: int,
    storage: str,
    *,
    setting: str,
    connect_started: float,
    ray_start_s: float,
    load_before: float,
    trials: int,
    epochs: int,
    concurrent: int,
    train_size: int | None,
    cpus: float,
    gpus: float,
) -> Round:
    """One timed sweep of ``trials`` real trials on the Ray that ``connect()``, called at
    ``connect_started`` (``time.perf_counter()``), started."""
    overrides = ["batch_size=64"] + ([f"train_size={train_size}"] if train_size else [])
    plan, space = bench_plan(
        storage,
        f"efficiency-r{index}-{setting.replace(' ', '-')}",
        space="loss_weights",
        trials=trials,
        cpus=cpus,
        gpus=gpus,
        epochs=epochs,
        overrides=overrides,
        max_concurrent=concurrent,
    )
    clock = completion_clock()
    timing = timed_fit(plan, space, None, reuse_actors=True, callbacks=[clock])
    for result in timing.results:
        if int(result["epoch"]) != epochs:
            raise RuntimeError(f"a trial reported epoch {result['epoch']}, expected {epochs}: {result}")
    total = [float(r["time_total_s"]) for r in timing.results]
    ends = [clock.completed[str(r["trial_id"])] - timing.started for r in timing.results]
    return Round(
        index=index,
        setting=setting,
        wall_s=timing.wall_s,
        concurrent=concurrent,
        train_seconds=[float(r["train_seconds"]) for r in timing.results],
        time_total_s=total,
        idle=idle_breakdown(timing.wall_s, [(e - t, e) for e, t in zip(ends, total)], concurrent),
        load_before=load_before,
        load_after=load_average(),
        ray_start_s=ray_start_s,
        before_fit_s=timing.started - connect_started,
    )


def _of(rounds: Sequence[Round], setting: str) -> list[Round]:
    return [r for r in rounds if r.setting == setting]


def summarize(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    """One row per (setting, clock) that ran; the target applies to netsep's own setting."""
    rows = []
    for setting in SETTINGS:
        mine = _of(rounds, setting)
        if not mine:
            continue
        for clock in CLOCKS:
            ratios = [r.ratio(clock) for r in mine]
            median = statistics.median(ratios)
            targeted = setting == next(iter(SETTINGS))
            rows.append(
                {
                    "setting": setting,
                    "clock": clock,
                    "ratios": ratios,
                    "median_ratio": median,
                    "median_wall_s": statistics.median(r.wall_s for r in mine),
                    "median_ideal_s": statistics.median(r.ideal_s(clock) for r in mine),
                    "target": EFFICIENCY_TARGET if targeted else None,
                    "passed": median <= EFFICIENCY_TARGET if targeted else None,
                }
            )
    return rows


def end_to_end(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    """Per setting, medians over its rounds of Ray's start, connect() -> fit(), and connect() -> fit() returned."""
    rows = []
    for setting in SETTINGS:
        mine = _of(rounds, setting)
        if mine:
            rows.append(
                {
                    "setting": setting,
                    "median_ray_start_s": statistics.median(r.ray_start_s for r in mine),
                    "median_before_fit_s": statistics.median(r.before_fit_s for r in mine),
                    "median_fit_s": statistics.median(r.wall_s for r in mine),
                    "median_end_to_end_s": statistics.median(r.end_to_end_s for r in mine),
                    "end_to_end_s": [r.end_to_end_s for r in mine],
                }
            )
    return rows


def breakdown(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    """The fit() wall time split by what the slots did, in seconds per slot (medians over a setting's rounds).

    The parts of one round add up to its wall time (up to the overlap of a trial's
    span with the next one's on the same slot, which ``idle_breakdown`` clips).
    """

    def part(r: Round, name: str) -> float:
        if name == "training (train_seconds)":
            return sum(r.train_seconds)
        if name == "in trial, outside train_seconds":
            return sum(r.time_total_s) - sum(r.train_seconds)
        return r.idle[name.split(" ")[0]]

    names = (
        "training (train_seconds)",
        "in trial, outside train_seconds",
        "startup (before a slot's first trial)",
        "between trials on a slot",
        "tail (after a slot's last trial)",
    )
    rows = []
    for setting in SETTINGS:
        mine = _of(rounds, setting)
        for name in names if mine else ():
            rows.append(
                {
                    "setting": setting,
                    "part": name,
                    "median_s_per_slot": statistics.median(part(r, name) / r.concurrent for r in mine),
                    "median_share_of_wall": statistics.median(part(r, name) / (r.concurrent * r.wall_s) for r in mine),
                }
            )
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    header = (
        "setting",
        "trial's own time",
        "wall s",
        "ideal s",
        "wall / ideal (median)",
        "per round",
        "target",
        "result",
    )
    body = [
        (
            r["setting"],
            r["clock"],
            f"{r['median_wall_s']:.1f}",
            f"{r['median_ideal_s']:.1f}",
            f"{r['median_ratio']:.3f}",
            " ".join(f"{x:.3f}" for x in r["ratios"]),
            f"<= {r['target']:.2f}" if r["target"] is not None else "(baseline)",
            ("PASS" if r["passed"] else "FAIL") if r["passed"] is not None else "-",
        )
        for r in rows
    ]
    return format_table(header, body)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.sweep_efficiency", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="2 trials x 1 epoch on 200 examples, 1 round: a smoke run whose ratios mean nothing",
    )
    p.add_argument("--trials", type=int, help="trials per sweep (default 8)")
    p.add_argument("--epochs", type=int, help="epochs per trial (default 3)")
    p.add_argument("--train-size", type=int, help="training examples per trial (default: all of digits)")
    p.add_argument("--concurrent", type=int, default=2, help="trials at once (default 2, one CPU each)")
    p.add_argument("--rounds", type=int, help="timed sweeps per setting (default 3)")
    p.add_argument("--storage", help="keep the results folders here (default: a temporary folder, removed)")
    p.add_argument(
        "--max-load", type=float, help="before each sweep wait (up to 5 min) for the 1-min load average <= this"
    )
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def _one_sweep(index: int, setting: str, storage: str, args: argparse.Namespace, sizes: dict[str, Any]) -> Round:
    """Start a local Ray with ``setting``, time one sweep on it, shut Ray down."""
    import ray

    from sweep.ray_connection import connect

    before = wait_for_quiet(args.max_load)
    started = time.perf_counter()
    info = connect(None, dashboard=False, num_cpus=2, preload=SETTINGS[setting])
    ray_start_s = time.perf_counter() - started
    try:
        return measure_round(
            index,
            storage,
            setting=setting,
            connect_started=started,
            ray_start_s=ray_start_s,
            load_before=before,
            concurrent=args.concurrent,
            cpus=info.cpus,
            gpus=info.gpus,
            **sizes,
        )
    finally:
        ray.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    trials = args.trials or (2 if args.quick else 8)
    epochs = args.epochs or (1 if args.quick else 3)
    rounds = args.rounds or (1 if args.quick else 3)
    train_size = args.train_size or (200 if args.quick else None)
    if min(trials, epochs, rounds, args.concurrent) < 1 or args.concurrent > 2:
        raise SystemExit(
            f"--trials, --epochs, --rounds must be >= 1 and --concurrent 1 or 2 (Ray has 2 CPUs); "
            f"got {trials}, {epochs}, {rounds}, {args.concurrent}"
        )
    storage = args.storage or tempfile.mkdtemp(prefix="netsep-bench-efficiency-")
    sizes = {"trials": trials, "epochs": epochs, "train_size": train_size}
    print(f"load average before: {load_average():.2f} ({os.cpu_count()} CPUs)", flush=True)
    measured: list[Round] = []
    names = list(SETTINGS)
    try:
        for index in range(rounds):
            for setting in names[index % len(names) :] + names[: index % len(names)]:
                one = _one_sweep(index, setting, storage, args, sizes)
                measured.append(one)
                print(
                    f"[round {index}, {setting}] Ray start {one.ray_start_s:.1f} s, connect -> fit() "
                    f"{one.before_fit_s:.1f} s, fit() {one.wall_s:.1f} s; sum train_seconds "
                    f"{sum(one.train_seconds):.1f} s, sum time_total_s {sum(one.time_total_s):.1f} s; ratios "
                    f"{one.ratio('train_seconds'):.3f} / {one.ratio('time_total_s'):.3f} "
                    f"(load {one.load_before:.2f} -> {one.load_after:.2f})",
                    flush=True,
                )
    finally:
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    _print_report(measured, trials, epochs, rounds, train_size, args.concurrent)
    if args.json:
        saved = {
            "benchmark": "sweep_efficiency",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.sweep_efficiency", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            "settings": {
                "trials": trials,
                "epochs": epochs,
                "rounds": rounds,
                "concurrent": args.concurrent,
                "train_size": train_size,
                "space": "loss_weights",
                "data": "digits",
                "batch_size": 64,
                "baseline": False,
                "num_cpus": 2,
                "ray": "a local Ray per sweep, started by sweep.ray_connection.connect",
                "compared": SETTINGS,
            },
            "rows": summarize(measured),
            "end_to_end": end_to_end(measured),
            "breakdown": breakdown(measured),
            "rounds": [
                asdict(r)
                | {
                    "end_to_end_s": r.end_to_end_s,
                    "ideal_train_seconds_s": r.ideal_s("train_seconds"),
                    "ideal_time_total_s": r.ideal_s("time_total_s"),
                }
                for r in measured
            ],
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


def _print_report(
    measured: Sequence[Round], trials: int, epochs: int, rounds: int, train_size: int | None, concurrent: int
) -> None:
    print()
    print(
        f"Sweep efficiency: {trials} real trials (loss_weights, digits, {epochs} epochs, batch 64"
        f"{f', train_size {train_size}' if train_size else ''}), {concurrent} concurrent on 2 CPUs, "
        f"median of {rounds} rounds per setting; ideal = sum(trial time) / {concurrent}"
    )
    print(table(summarize(measured)))
    print("\nEnd to end (medians, seconds): connect() starts the local Ray; the user waits for all of it")
    e2e = end_to_end(measured)
    base = next((r for r in e2e if r["setting"] == list(SETTINGS)[-1]), None)
    print(
        format_table(
            ("setting", "Ray start", "connect -> fit()", "fit()", "connect -> fit() returned", "vs no preload"),
            [
                (
                    r["setting"],
                    f"{r['median_ray_start_s']:.1f}",
                    f"{r['median_before_fit_s']:.1f}",
                    f"{r['median_fit_s']:.1f}",
                    f"{r['median_end_to_end_s']:.1f}",
                    f"{r['median_end_to_end_s'] - base['median_end_to_end_s']:+.1f} s" if base else "",
                )
                for r in e2e
            ],
        )
    )
    print("\nWhere the fit() wall time went (seconds per slot, medians; the parts add up to the wall):")
    print(
        format_table(
            ("setting", "part", "s per slot", "share of wall"),
            [
                (b["setting"], b["part"], f"{b['median_s_per_slot']:.1f}", f"{b['median_share_of_wall']:.1%}")
                for b in breakdown(measured)
            ],
        )
    )
    loads = [r.load_before for r in measured]
    print(f"\nload average before the sweeps: {min(loads):.2f} .. {max(loads):.2f}")


if __name__ == "__main__":
    sys.exit(main())
