"""Sweep efficiency: how close a real sweep gets to its trials' own training time.

Run from the repository root::

    python -m bench.sweep_efficiency                  # the measurement (about 3 minutes on 2 cores)
    python -m bench.sweep_efficiency --json out.json  # also save every number
    python -m bench.sweep_efficiency --quick          # a tiny smoke run: its ratios mean nothing

A sweep of ``--trials`` (8) real trials (``trainable.tune_function.train``): the
``loss_weights`` space on digits, ``--epochs`` (3) epochs, batch 64, no baseline,
``--concurrent`` (2) trials at once with one CPU each on a Ray started with 2 CPUs
(once, without the dashboard, outside every timing). The Tuner is the runner's own
(``bench.sweep_overhead.timed_fit``), ``reuse_actors=True``.

Ideal wall time = (sum over trials of a trial's own time) / concurrent. Target:
wall time of ``Tuner.fit()`` <= 1.10 x ideal (the first target was 1.15). ``--set KEY=VALUE``
adds a trial setting to every trial (``--set eager=true``: the plain step, to compare
with the fast path). Two readings of "a trial's own time":

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

from bench.machine import format_table, load_average, machine_info, wait_for_quiet
from bench.sweep_overhead import bench_plan, timed_fit

__all__ = ["EFFICIENCY_TARGET", "Round", "main", "measure_round", "summarize"]

EFFICIENCY_TARGET = 1.10  # wall <= this x ideal (the first target was 1.15)
CLOCKS = ("train_seconds", "time_total_s")


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
    wall_s: float
    concurrent: int
    train_seconds: list[float]  # each trial's reported train_seconds (its last result)
    time_total_s: list[float]  # each trial's Tune time_total_s
    idle: dict[str, float]  # slot-seconds with no trial running, by where (see idle_breakdown)
    load_before: float
    load_after: float

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
    trials: int,
    epochs: int,
    concurrent: int,
    train_size: int | None,
    cpus: float,
    gpus: float,
    max_load: float | None,
    settings: Sequence[str] = (),
) -> Round:
    """One timed sweep of ``trials`` real trials; ``settings``: extra ``key=value`` trial settings."""
    overrides = ["batch_size=64", *([f"train_size={train_size}"] if train_size else []), *settings]
    plan, space = bench_plan(
        storage,
        f"efficiency-r{index}",
        space="loss_weights",
        trials=trials,
        cpus=cpus,
        gpus=gpus,
        epochs=epochs,
        overrides=overrides,
        max_concurrent=concurrent,
    )
    before = wait_for_quiet(max_load)
    clock = completion_clock()
    timing = timed_fit(plan, space, None, reuse_actors=True, callbacks=[clock])
    for result in timing.results:
        if int(result["epoch"]) != epochs:
            raise RuntimeError(f"a trial reported epoch {result['epoch']}, expected {epochs}: {result}")
    total = [float(r["time_total_s"]) for r in timing.results]
    ends = [clock.completed[str(r["trial_id"])] - timing.started for r in timing.results]
    return Round(
        index=index,
        wall_s=timing.wall_s,
        concurrent=concurrent,
        train_seconds=[float(r["train_seconds"]) for r in timing.results],
        time_total_s=total,
        idle=idle_breakdown(timing.wall_s, [(e - t, e) for e, t in zip(ends, total)], concurrent),
        load_before=before,
        load_after=load_average(),
    )


def summarize(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    rows = []
    for clock in CLOCKS:
        ratios = [r.ratio(clock) for r in rounds]
        median = statistics.median(ratios)
        rows.append(
            {
                "clock": clock,
                "ratios": ratios,
                "median_ratio": median,
                "median_wall_s": statistics.median(r.wall_s for r in rounds),
                "median_ideal_s": statistics.median(r.ideal_s(clock) for r in rounds),
                "target": EFFICIENCY_TARGET,
                "passed": median <= EFFICIENCY_TARGET,
            }
        )
    return rows


def breakdown(rounds: Sequence[Round]) -> list[dict[str, Any]]:
    """The wall time split by what the slots did, in seconds per slot (medians over rounds).

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
    for name in names:
        per_slot = [part(r, name) / r.concurrent for r in rounds]
        share = [part(r, name) / (r.concurrent * r.wall_s) for r in rounds]
        rows.append(
            {
                "part": name,
                "median_s_per_slot": statistics.median(per_slot),
                "median_share_of_wall": statistics.median(share),
            }
        )
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("trial's own time", "wall s", "ideal s", "wall / ideal (median)", "per round", "target", "result")
    body = [
        (
            r["clock"],
            f"{r['median_wall_s']:.1f}",
            f"{r['median_ideal_s']:.1f}",
            f"{r['median_ratio']:.3f}",
            " ".join(f"{x:.3f}" for x in r["ratios"]),
            f"<= {r['target']:.2f}",
            "PASS" if r["passed"] else "FAIL",
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
    p.add_argument("--rounds", type=int, help="timed sweeps (default 3)")
    p.add_argument("--storage", help="keep the results folders here (default: a temporary folder, removed)")
    p.add_argument(
        "--max-load", type=float, help="before each round wait (up to 5 min) for the 1-min load average <= this"
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a trial setting for every trial, as launch.py takes it (repeatable; eager=true: the plain step)",
    )
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    import ray

    from sweep.backend.connection import connect

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
    print(f"load average before: {load_average():.2f} ({os.cpu_count()} CPUs)", flush=True)
    measured: list[Round] = []
    try:
        info = connect(None, dashboard=False, num_cpus=2)
        for index in range(rounds):
            one = measure_round(
                index,
                storage,
                trials=trials,
                epochs=epochs,
                concurrent=args.concurrent,
                train_size=train_size,
                cpus=info.cpus,
                gpus=info.gpus,
                max_load=args.max_load,
                settings=args.settings,
            )
            measured.append(one)
            print(
                f"[round {index}] wall {one.wall_s:.1f} s; sum train_seconds {sum(one.train_seconds):.1f} s, "
                f"sum time_total_s {sum(one.time_total_s):.1f} s; ratios "
                f"{one.ratio('train_seconds'):.3f} / {one.ratio('time_total_s'):.3f} "
                f"(load {one.load_before:.2f} -> {one.load_after:.2f})",
                flush=True,
            )
    finally:
        ray.shutdown()
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    rows = summarize(measured)
    print()
    print(
        f"Sweep efficiency: {trials} real trials (loss_weights, digits, {epochs} epochs, batch 64"
        f"{f', train_size {train_size}' if train_size else ''}{''.join(', ' + x for x in args.settings)}), "
        f"{args.concurrent} concurrent on 2 CPUs, "
        f"median of {rounds} rounds; ideal = sum(trial time) / {args.concurrent}"
    )
    print(table(rows))
    print("\nWhere the wall time went (seconds per slot, median over the rounds; the parts add up to the wall):")
    print(
        format_table(
            ("part", "s per slot", "share of wall"),
            [
                (b["part"], f"{b['median_s_per_slot']:.1f}", f"{b['median_share_of_wall']:.1%}")
                for b in breakdown(measured)
            ],
        )
    )
    loads = [r.load_before for r in measured]
    print(f"\nload average before the rounds: {min(loads):.2f} .. {max(loads):.2f}")
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
                "trial_settings": args.settings,
            },
            "rows": rows,
            "breakdown": breakdown(measured),
            "rounds": [
                asdict(r)
                | {"ideal_train_seconds_s": r.ideal_s("train_seconds"), "ideal_time_total_s": r.ideal_s("time_total_s")}
                for r in measured
            ],
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
