"""The sweep driver's search cost with the live journal synced (Optuna's backend) and unsynced (netsep's).

Run from the repository root::

    python -m bench.live_journal                 # 1,000 configurations, 3 rounds (about 3 minutes on 2 cores)
    python -m bench.live_journal --json out.json
    python -m bench.live_journal --quick         # 60 configurations, 1 round: checks the script, times nothing

What is timed is the sweep's own searcher (``sweep.run.runner.build_searcher`` for the
``loss_weights`` space on digits, one seed per configuration, TPE as the space sets it),
in this process, without Ray: for each configuration ``suggest`` and then
``on_trial_complete`` with made-up objective values (seeded), exactly the calls Tune makes
in the driver. Its live study writes ``optuna.journal`` in a temporary folder, either
through Optuna's own journal file backend (an ``fsync`` per append: what every sweep did
before 2026-12-05) or netsep's unsynced one (``LiveStudy(sync=False)``, today's default).

Per setting and round:

- **CPU and wall ms per configuration** over the 50 configurations before n (n = 50, 300,
  600, 1,000): the driver's marginal search cost as the study grows. CPU is this
  process's ``time.process_time``; wall includes the waits on the disk.
- **Resume rebuild**: the searcher's saved state (``get_state``) restored into a fresh
  searcher with a live study (``set_state``), which replays every trial into a new
  journal, as ``launch.py --resume`` does; seconds, and ms per restored trial.

The settings alternate within each round (the first one rotating) and a value is the
median over rounds; the ratio is unsynced / synced, from the same rounds. This is the
search's share of the driver's cost only: Tune's own per-trial work and the trials' results
are not in it (``bench.soak`` measures the whole driver).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from bench.machine import format_table, load_average, machine_info
from bench.sweep_overhead import bench_plan
from sweep.run.runner import build_searcher
from sweep.search.live_study import LIVE_STUDY_FILE, LiveStudy

SETTINGS = {"synced": True, "unsynced": False}  # name -> LiveStudy(sync=...)
WINDOW = 50  # configurations per cost window


def _searcher(folder: Path, trials: int, sync: bool) -> Any:
    plan, space = bench_plan(
        str(folder), "journal", space="loss_weights", trials=trials, cpus=1, gpus=0, overrides=["train_size=200"]
    )
    searcher = build_searcher(plan, space)
    searcher.live = LiveStudy(folder / LIVE_STUDY_FILE, "journal", searcher.metrics, sync=sync)
    return searcher


def one_round(trials: int, sync: bool, marks: list[int], seed: int) -> dict[str, Any]:
    """One sweep's search of ``trials`` configurations, then its resume rebuild."""
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="netsep-journal-bench-") as tmp:
        searcher = _searcher(Path(tmp) / "first", trials, sync)
        cost: dict[int, tuple[float, float]] = {}
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(trials):
            config = searcher.suggest(f"t{i}")
            result = {m: float(rng.random()) for m in searcher.metrics}
            searcher.on_trial_complete(f"t{i}", {**result, "config": config, "epoch": config.get("epochs")})
            if (i + 1) % WINDOW == 0:
                now_cpu, now_wall = time.process_time(), time.perf_counter()
                if i + 1 in marks:
                    cost[i + 1] = (1e3 * (now_cpu - cpu) / WINDOW, 1e3 * (now_wall - wall) / WINDOW)
                cpu, wall = now_cpu, now_wall
        state = searcher.get_state()
        resumed = _searcher(Path(tmp) / "resumed", trials, sync)
        start = time.perf_counter()
        resumed.set_state(state)  # replays every trial into a new journal, as --resume does
        rebuild = time.perf_counter() - start
        journal_mib = (Path(tmp) / "first" / LIVE_STUDY_FILE).stat().st_size / 2**20
    return {
        "cost_ms": {n: {"cpu": c, "wall": w} for n, (c, w) in cost.items()},
        "rebuild_s": rebuild,
        "journal_mib": journal_mib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_journal", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="60 configurations, 1 round: its timings mean nothing")
    parser.add_argument("--json", type=Path, help="also write every number here")
    args = parser.parse_args(argv)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one 'study created' line per searcher is noise
    try:
        return _measure(args)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _measure(args: argparse.Namespace) -> int:
    trials, rounds = (60, 1) if args.quick else (args.trials, args.rounds)
    marks = [n for n in (WINDOW, 300, 600, 1000, trials) if n <= trials and n % WINDOW == 0]
    marks = sorted(set(marks))
    load_before = load_average()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    names = list(SETTINGS)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(one_round(trials, SETTINGS[name], marks, seed=r))
            print(f"round {r + 1}/{rounds} {name}: rebuild {runs[name][-1]['rebuild_s']:.2f} s", flush=True)

    def median(name: str, pick: Any) -> float:
        return statistics.median(pick(run) for run in runs[name])

    rows, summary = [], {}
    for n in marks:
        for kind in ("cpu", "wall"):
            synced = statistics.median(run["cost_ms"][n][kind] for run in runs["synced"])
            unsynced = statistics.median(run["cost_ms"][n][kind] for run in runs["unsynced"])
            summary[f"{kind}_ms_at_{n}"] = {"synced": synced, "unsynced": unsynced}
            rows.append(
                [f"{kind} ms / configuration at {n}", f"{synced:.2f}", f"{unsynced:.2f}", f"{unsynced / synced:.2f}x"]
            )
    synced, unsynced = median("synced", lambda r: r["rebuild_s"]), median("unsynced", lambda r: r["rebuild_s"])
    summary["rebuild_s"] = {"synced": synced, "unsynced": unsynced}
    rows.append(
        [f"resume rebuild of {trials} trials, s", f"{synced:.2f}", f"{unsynced:.2f}", f"{unsynced / synced:.2f}x"]
    )
    rows.append(
        [
            "journal MiB",
            f"{median('synced', lambda r: r['journal_mib']):.2f}",
            f"{median('unsynced', lambda r: r['journal_mib']):.2f}",
            "",
        ]
    )
    print(
        f"{trials} configurations, median of {rounds} round(s); load {load_before:.2f} before, {load_average():.2f} after"
    )
    print(format_table(["", "synced (Optuna)", "unsynced (netsep)", "ratio"], rows))
    if args.json:
        record = {"machine": machine_info(), "trials": trials, "rounds": rounds, "summary": summary, "runs": runs}
        args.json.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
