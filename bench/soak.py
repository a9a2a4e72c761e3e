"""Soak benchmark: a long real sweep across three lab machines, with faults on the way.

Run from the repository root, as root (it makes network namespaces)::

    python -m bench.soak                      # 1,000 search trials (6-7 minutes on 2 cores, ~1.1 GB of disk)
    python -m bench.soak --quick              # 16 trials, the same faults (what CI runs, ~50 s)
    python -m bench.soak --trials N --storage DIR --json PATH

Three Ray nodes, one CPU each, each in its own network namespace, started with
cluster.yaml's own ``ray start`` commands (``bench.lab_ray``). On the head, the sweep's
driver is ``launch.py --smoke-test`` (digits) with ``--trials N``, one epoch, one seed per
configuration, a small training set and a narrow classifier (small checkpoints), joined
to the cluster with ``--address``: a real but cheap trial. The live study (``optuna.journal``) is on, as in every sweep.
Part way through (30 % of the trials) a worker node is killed (SIGKILL of every process
in its namespace: the machine loses power); at 45 % it starts again; at 60 % the driver
is SIGKILLed and ``launch.py --resume`` continues the sweep. Then ``launch.py report``
rebuilds the finished folder's report, timed.

It fails (exit 1) unless trials.csv, optuna.journal and optuna.db each hold exactly N
complete search trials (trials.csv also the baseline), every trial once. It reports
the driver's per-trial cost (CPU seconds of the driver process per search trial, over the
first 50 trials and the last 50: ``bench.soak_measure.cost_at``), its peak memory, the
journal's size, how long the report took and how long the resume took to pick up.
``--storage DIR`` keeps the results folder (and the logs) there to be inspected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.lab_network import LabNetwork, missing_requirements
from bench.lab_ray import REPO, RayLab
from bench.machine import load_average, machine_info, wait_for_quiet
from bench.soak_measure import DriverSample, JournalWatch, cost_at, count_results, process_stats, soak_table

__all__ = ["COST_GOAL_S", "FAULTS", "QUICK_TRIALS", "SoakRun", "main", "run_soak"]

NAME = "soak"  # the results folder under --storage, and the study's name
COST_GOAL_S = 0.05  # the goal: driver CPU seconds per search trial, at 1,000 trials as at 50
WINDOW = 50  # trials per cost window (fewer trials: a third of them)
QUICK_TRIALS = 16  # --quick: what CI runs
# When each fault happens, as a share of the search trials the live study holds as complete.
FAULTS = {"kill_node": 0.30, "node_back": 0.45, "kill_driver": 0.60}
VICTIM = 2  # the worker node that is killed (node 0 is the head, where the driver runs)
TRAIN_SIZE = 200  # digits training images per trial (of 1,347): ~4 steps of batch 64
# simple3 at width 0.125: a trial's checkpoint (two nets, D, their Adam states) is 0.9 MiB, against
# 44 MiB at the default width 1 (1,000 of those filled this machine's disk in the first full run).
WIDTH = 0.125
CHECKPOINT_MIB = 2  # disk per trial to ask for before starting: the checkpoint and the trial's files
SAMPLE_S = 0.5  # seconds between samples of the driver and the journal


@dataclass
class SoakRun:
    trials: int
    storage: str
    samples: list[DriverSample] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)  # what happened when (seconds since the start)
    at_event: dict[str, int] = field(default_factory=dict)  # complete search trials at each event
    exit_codes: list[int] = field(default_factory=list)
    journal_replaced: int = 0

    @property
    def folder(self) -> Path:
        return Path(self.storage) / NAME


def _driver(lab: RayLab, args: Sequence[str], log: Path) -> subprocess.Popen:
    """``python launch.py ARGS`` in the head's namespace, as a client of the lab's cluster."""
    env = {k: v for k, v in lab.env.items() if k != "RAY_ADDRESS"}
    with open(log, "w") as out:  # the child keeps its own copy
        return subprocess.Popen(
            lab.net.exec_argv(0, [sys.executable, "launch.py", *args]),  # `ip netns exec` execs: the same pid
            cwd=REPO,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _tune_ids(trial: Any) -> list[str]:
    """The Tune trials of a live study's trial (the searcher names them as it hands them out)."""
    return [str(i) for i in trial.user_attrs.get("tune_trial_ids", [])]


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


class _Soak:
    """One run: the lab, the drivers, the faults at their moments, the samples."""

    def __init__(self, lab: RayLab, run: SoakRun, logs: Path, timeout_s: float, extra: Sequence[str] = ()) -> None:
        self.lab, self.run, self.logs = lab, run, logs
        self.extra = list(extra)  # more launch.py arguments (--max-failures)
        self.deadline = time.monotonic() + timeout_s
        self.watch = JournalWatch(run.folder / "optuna.journal", NAME)
        self.start = time.monotonic()
        self.seen_before_kill: set[str] = set()  # Tune trial ids complete in the journal before the driver's kill
        self.node_back: threading.Thread | None = None
        self.node_back_error: list[BaseException] = []
        self.progress = 0  # complete search trials at the last sample (for the progress lines)
        self.rebuilt = (0.0, 0)  # (seconds, trials) when the resumed driver's new journal last grew

    def now(self) -> float:
        return time.monotonic() - self.start

    def mark(self, event: str, done: int) -> None:
        self.run.events[event], self.run.at_event[event] = round(self.now(), 2), done
        print(f"[{self.now():7.1f} s] {event} at {done} complete search trials", flush=True)

    def go(self) -> None:
        args = [
            "--smoke-test",
            "--trials",
            str(self.run.trials),
            "--epochs",
            "1",
            "--replicates",
            "1",
            "--address",
            self.lab.address,
            "--storage",
            self.run.storage,
            "--name",
            NAME,
            *self.extra,
            f"train_size={TRAIN_SIZE}",
            f"width={WIDTH}",
        ]
        self.start = time.monotonic()
        first = _driver(self.lab, args, self.logs / "driver-0.log")
        self.follow(0, first, until_kill=True)
        resumed = _driver(
            self.lab, ["--resume", str(self.run.folder), "--address", self.lab.address], self.logs / "driver-1.log"
        )
        self.mark("resume_started", self._done_now())
        self.follow(1, resumed, until_kill=False)
        if self.node_back is not None:
            self.node_back.join()

    def _done_now(self) -> int:
        return len(self.watch.complete())

    def follow(self, index: int, driver: subprocess.Popen, until_kill: bool) -> None:
        """Sample ``driver`` and the journal until it exits (or, the first one, until its kill)."""
        n = self.run.trials
        while True:
            stats = process_stats(driver.pid)
            complete = self.watch.complete()
            done = len(complete)
            if done * 10 // n > self.progress * 10 // n:
                print(f"[{self.now():7.1f} s] {done} of {n} search trials complete (driver {index})", flush=True)
            self.progress = done
            if stats is not None:
                self.run.samples.append(
                    DriverSample(round(self.now(), 3), index, done, stats.cpu_s, stats.rss_mib, stats.peak_mib)
                )
            if until_kill:
                self.seen_before_kill.update(i for t in complete for i in _tune_ids(t))
                self._faults(done)
                if done >= FAULTS["kill_driver"] * n:
                    driver.send_signal(signal.SIGKILL)  # the driver alone, as `kill -9 PID`
                    driver.wait(timeout=60)
                    # What it told between the last sample and its death is not the resume's work.
                    self.seen_before_kill.update(i for t in self.watch.complete() for i in _tune_ids(t))
                    self.mark("kill_driver", done)
                    self.run.exit_codes.append(driver.returncode)
                    return
            else:
                if "resume_journal" not in self.run.events and self.watch.replaced:
                    self.mark("resume_journal", done)  # the resumed driver started its new journal
                fresh = {i for t in complete for i in _tune_ids(t)} - self.seen_before_kill
                if "resume_first_trial" not in self.run.events:
                    if fresh:  # the first trial told after the resume
                        self.mark("resume_first_trial", done)
                        # The restored trials were all in the new journal when its count last grew before.
                        # (None restored: the new journal's start is when it was rebuilt.)
                        when, count = self.rebuilt if self.rebuilt[1] else (self.run.events.get("resume_journal"), 0)
                        self.run.events["resume_rebuilt"], self.run.at_event["resume_rebuilt"] = (
                            when or self.now(),
                            count,
                        )
                    elif self.watch.replaced and done > self.rebuilt[1]:
                        self.rebuilt = (round(self.now(), 2), done)
            if driver.poll() is not None:
                self.run.exit_codes.append(driver.returncode)
                self.mark(f"driver_{index}_exit", self._done_now())
                if until_kill:
                    raise RuntimeError(
                        f"the driver exited ({driver.returncode}) before its kill at {done} of {n} trials:\n"
                        + _tail(self.logs / "driver-0.log")
                    )
                return
            if time.monotonic() > self.deadline:
                raise RuntimeError(
                    f"the soak ran past its time limit at {done} of {n} trials:\n"
                    + _tail(self.logs / f"driver-{index}.log")
                )
            time.sleep(SAMPLE_S)

    def _faults(self, done: int) -> None:
        n = self.run.trials
        if "kill_node" not in self.run.events and done >= FAULTS["kill_node"] * n:
            killed = self.lab.net.kill_node(VICTIM)  # raylet, trial workers, all at once
            self.mark("kill_node", done)
            print(f"          killed {len(killed)} processes on node {VICTIM}", flush=True)
        if "node_back" not in self.run.events and done >= FAULTS["node_back"] * n:
            self.mark("node_back", done)  # `ray start` takes seconds: in a thread, so sampling goes on

            def start() -> None:
                try:
                    self.lab.start_node(VICTIM)
                except BaseException as error:  # reported after the run; the sweep goes on with two nodes
                    self.node_back_error.append(error)

            self.node_back = threading.Thread(target=start, daemon=True)
            self.node_back.start()


def _timed_report(folder: Path, log: Path) -> float:
    """Wall seconds of ``launch.py report FOLDER`` (no Ray: it reads the folder's files)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    start = time.perf_counter()
    with open(log, "w") as out:
        done = subprocess.run(
            [sys.executable, "launch.py", "report", str(folder)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"`launch.py report` exited {done.returncode}:\n{_tail(log)}")
    return wall


def run_soak(trials: int, storage: Path, timeout_s: float, extra: Sequence[str] = ()) -> dict[str, Any]:
    """Run the soak; every number and count, as saved in the JSON."""
    run = SoakRun(trials=trials, storage=str(storage))
    logs = storage / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with LabNetwork(3) as net:
        lab = RayLab(net, logs, cpus_per_node=1)
        try:
            lab.start()
            soak = _Soak(lab, run, logs, timeout_s, extra)
            soak.go()
            if soak.node_back_error:
                print(f"note: node {VICTIM} did not come back: {soak.node_back_error[0]!r}", flush=True)
        finally:
            lab.close()  # every process in the namespaces, by pid; Ray's temp dirs
    if run.exit_codes[-1] != 0:
        raise RuntimeError(f"the resumed driver exited {run.exit_codes[-1]}:\n{_tail(logs / 'driver-1.log')}")
    report_s = _timed_report(run.folder, logs / "report.log")
    counts = count_results(run.folder, NAME, trials)
    window = WINDOW if trials >= 4 * WINDOW else max(2, trials // 3)
    points = sorted({window, *range(100, trials, 100), trials} - {0})
    costs = {n: cost_at(run.samples, n, window) for n in points if n >= window}
    journal = run.folder / "optuna.journal"
    events = run.events
    return {
        "trials": trials,
        "window": window,
        "events": events,
        "complete_at_event": run.at_event,
        "exit_codes": run.exit_codes,
        "cost": {str(n): c for n, c in costs.items()},
        "peak_driver_mib": max((s.peak_mib for s in run.samples), default=0.0),
        "peak_driver_mib_by_driver": {
            str(d): max(s.peak_mib for s in run.samples if s.driver == d)
            for d in sorted({s.driver for s in run.samples})
        },
        "driver_cpu_s": {
            str(d): max(s.cpu_s for s in run.samples if s.driver == d) for d in sorted({s.driver for s in run.samples})
        },
        "journal_bytes": journal.stat().st_size,
        "journal_bytes_per_trial": journal.stat().st_size / trials,
        "report_s": report_s,
        "resume_journal_s": _since(events, "resume_started", "resume_journal"),
        "resume_rebuilt_s": _since(events, "resume_started", "resume_rebuilt"),
        "resume_pickup_s": _since(events, "resume_started", "resume_first_trial"),
        "wall_s": events.get("driver_1_exit"),
        "counts": asdict(counts),
        "samples": [asdict(s) for s in run.samples],
    }


def _since(events: dict[str, float], start: str, end: str) -> float | None:
    return round(events[end] - events[start], 2) if start in events and end in events else None


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help=f"{QUICK_TRIALS} search trials, the same faults (what CI runs)")
    p.add_argument("--trials", type=int, help=f"search trials (default 1000; --quick {QUICK_TRIALS})")
    p.add_argument("--storage", help="keep the results folder and the logs here (default: a temporary folder, removed)")
    p.add_argument("--max-load", type=float, help="first wait (up to 5 min) for the 1-min load average <= this")
    p.add_argument("--timeout", type=float, help="give up after this many seconds (default 3600; --quick 600)")
    p.add_argument("--max-failures", type=int, help="launch.py --max-failures (default: the sweep's own, 2)")
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    trials = args.trials or (QUICK_TRIALS if args.quick else 1000)
    if trials < 10:
        raise SystemExit(f"--trials must be >= 10 (the faults need room), got {trials}")
    reason = missing_requirements()
    if reason is not None:
        print(f"bench.soak: cannot run here: {reason}", file=sys.stderr)
        return 2
    if args.storage and (Path(args.storage) / NAME).exists():
        raise SystemExit(f"--storage: {Path(args.storage) / NAME} exists already; give a new folder")
    storage = Path(args.storage or tempfile.mkdtemp(prefix="netsep-soak-")).resolve()
    storage.mkdir(parents=True, exist_ok=True)
    free_mib = shutil.disk_usage(storage).free / 2**20
    if free_mib < 2 * CHECKPOINT_MIB * trials + 2048:  # twice what it writes, and 2 GiB for everyone else
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
        raise SystemExit(
            f"bench.soak: {storage} has {free_mib:.0f} MiB free; {trials} trials need about {CHECKPOINT_MIB * trials} MiB"
        )
    before = wait_for_quiet(args.max_load)
    print(f"load average before: {before:.2f} ({os.cpu_count()} CPUs); {trials} search trials", flush=True)
    try:
        extra = [] if args.max_failures is None else ["--max-failures", str(args.max_failures)]
        result = run_soak(trials, storage, args.timeout or (600 if args.quick else 3600), extra)
    finally:
        if not args.storage:
            shutil.rmtree(storage, ignore_errors=True)
    result.update(load_before=before, load_after=load_average())
    print()
    print(soak_table(result, COST_GOAL_S))
    print(f"\nload average: {before:.2f} before, {result['load_after']:.2f} after")
    if args.json:
        saved = {
            "benchmark": "soak",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.soak", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            **result,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(saved, indent=1) + "\n")
    return 1 if result["counts"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
