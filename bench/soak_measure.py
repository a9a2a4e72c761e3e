"""What the soak benchmark (``bench.soak``) measures and checks, apart from running it.

* ``DriverSample`` / ``ProcessStats``: the sweep's driver as ``/proc`` shows it (CPU
  seconds, resident and peak memory), sampled beside the number of search trials the
  live study (``optuna.journal``) holds as complete.
* ``JournalWatch``: reads the live journal as the sweep writes it, through the
  project's own ``journal_storage`` (Optuna's public storage API): incremental, and it
  starts over when a resume replaces the file.
* ``cost_at``: the driver's per-trial cost over a window of trials, the marginal cost
  ``bench.sweep_overhead`` calls "each trial costs" (its fixed start-up left out), but
  in driver CPU seconds: the soak's trials are real, so wall time would time training.
* ``count_results``: the finished folder's trials in ``trials.csv``, ``optuna.journal``
  and ``optuna.db``, and what is off.
* ``soak_table``: the printed table of a run's numbers (also from its saved JSON).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import format_table

__all__ = [
    "Counts",
    "DriverSample",
    "JournalWatch",
    "ProcessStats",
    "cost_at",
    "count_results",
    "process_stats",
    "soak_table",
]

_TICKS = os.sysconf("SC_CLK_TCK")  # /proc/<pid>/stat's CPU times are in these per second


@dataclass(frozen=True)
class ProcessStats:
    cpu_s: float  # user + system CPU seconds of every thread of the process so far
    rss_mib: float  # resident memory now
    peak_mib: float  # the most resident memory so far (VmHWM)


def process_stats(pid: int) -> ProcessStats | None:
    """``pid``'s CPU time and memory from ``/proc``; None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # after the command name: state ppid ... (man 5 proc)
    if fields[0] == "Z":
        return None
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of the line)
    memory = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            memory[key] = int(value.split()[0]) / 1024  # kB -> MiB
    return ProcessStats(cpu, memory.get("VmRSS", 0.0), memory.get("VmHWM", 0.0))


@dataclass(frozen=True)
class DriverSample:
    t: float  # seconds since the benchmark started the first driver
    driver: int  # 0: the first driver, 1: the resumed one
    done: int  # search trials the live study holds as complete
    cpu_s: float
    rss_mib: float
    peak_mib: float


class JournalWatch:
    """The live study's complete search trials, read as the driver appends to ``optuna.journal``."""

    def __init__(self, path: Path, study_name: str) -> None:
        self.path = path
        self.study_name = study_name
        self._storage: Any = None
        self._inode: int | None = None
        self.replaced = 0  # times the file was replaced (a resume rebuilds it)

    def complete(self) -> list[Any]:
        """The complete trials (FrozenTrial) now in the file; [] before it exists."""
        import optuna

        from sweep.search.live_study import journal_storage

        try:
            inode = self.path.stat().st_ino
        except FileNotFoundError:
            return []
        if inode != self._inode:
            if self._inode is not None:
                self.replaced += 1
            self._storage, self._inode = journal_storage(self.path), inode
        try:
            study_id = self._storage.get_study_id_from_name(self.study_name)
        except KeyError:
            return []  # the driver has not written the study yet
        return self._storage.get_all_trials(study_id, deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def cost_at(samples: Sequence[DriverSample], n: int, window: int) -> dict[str, float] | None:
    """The driver's CPU seconds (and wall seconds) per search trial over the trials (n - window, n].

    From the first sample with ``done >= n - window`` (at least 1, so the driver's start-up
    before its first trial is left out, as sweep_overhead's marginal cost leaves out a fit()'s
    fixed cost) to the first with ``done >= n``, both of one driver process. None when no
    single driver saw the whole window (the resume fell in it) or the run never got there.
    """
    low = max(1, n - window)
    for driver in sorted({s.driver for s in samples}):
        mine = [s for s in samples if s.driver == driver]
        start = next((s for s in mine if s.done >= low), None)
        end = next((s for s in mine if s.done >= n), None)
        if start is None or end is None or end.done <= start.done or start.done > low + window // 5:
            continue
        trials = end.done - start.done
        return {
            "from": start.done,
            "to": end.done,
            "driver": driver,
            "cpu_s_per_trial": (end.cpu_s - start.cpu_s) / trials,
            "wall_s_per_trial": (end.t - start.t) / trials,
            "rss_mib": end.rss_mib,
        }
    return None


# ------------------------------------------------------------------ the counts
@dataclass
class Counts:
    """Each store's trials. ``problems`` lists every count that is off; empty when all hold.

    A leftover is a trial the killed driver started (or even finished) after Tune last saved
    its state: ``--resume`` does not know it and its configuration number goes to a new
    configuration, so the report keeps it as a configuration of its own, named by its trial
    id, after the numbered ones (it is not in the live study, which is rebuilt from Tune's state).
    """

    csv_rows: int = 0
    csv_complete_search: int = 0  # complete rows of numbered configurations (c0 .. cN-1)
    csv_complete_baseline: int = 0
    csv_leftovers: dict[str, int] = field(default_factory=dict)  # status -> leftover rows
    csv_other: dict[str, int] = field(default_factory=dict)  # status -> other rows that are not complete
    journal_trials: int = 0
    journal_complete: int = 0
    db_trials: int = 0
    db_complete: int = 0  # complete trials numbered 0 .. N-1
    db_leftovers: int = 0
    errors: list[str] = field(default_factory=list)  # "trial_id config_id: reason" of every errored trial
    problems: list[str] = field(default_factory=list)


def _repeated(items: Sequence[Any]) -> list[Any]:
    seen: set[Any] = set()
    return sorted({i for i in items if i in seen or seen.add(i)}, key=str)  # type: ignore[func-returns-value]


def _ids(trial: Any) -> list[str]:
    return [str(i) for i in trial.user_attrs.get("tune_trial_ids", [])]


def count_results(folder: Path, study_name: str, search_trials: int) -> Counts:
    """Count ``folder``'s trials in trials.csv, optuna.journal and optuna.db against the plan.

    Configurations c0 .. cN-1 (N = ``search_trials``) must each be complete exactly once in every
    store, with the same Tune trial (and, in the two studies, the same params) under the same
    number; the baseline once in trials.csv (it is never told to Optuna); every Tune trial on
    one row; leftovers (see ``Counts``) only as configurations of their own, after the numbered ones.
    """
    import optuna

    from sweep.search.live_study import journal_storage

    c = Counts()
    with open(folder / "trials.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    c.csv_rows = len(rows)
    labels = [f"c{k}" for k in range(search_trials)]
    numbered: dict[str, list[str]] = {label: [] for label in labels}  # cK -> its complete Tune trials
    leftovers: list[str] = []
    for r in rows:
        if r["status"] == "error":
            c.errors.append(f"{r['trial_id']} {r['config_id']}: {r['reason'][:300]}")
        if r["arm"] == "baseline":
            c.csv_complete_baseline += r["status"] == "complete"
            if r["status"] != "complete":
                c.csv_other[r["status"]] = c.csv_other.get(r["status"], 0) + 1
        elif r["config_id"] == r["trial_id"]:
            leftovers.append(r["trial_id"])
            c.csv_leftovers[r["status"]] = c.csv_leftovers.get(r["status"], 0) + 1
        elif r["config_id"] in numbered and r["status"] == "complete":
            numbered[r["config_id"]].append(r["trial_id"])
        else:
            c.csv_other[r["status"]] = c.csv_other.get(r["status"], 0) + 1
    c.csv_complete_search = sum(len(ids) for ids in numbered.values())
    if c.csv_other:
        c.problems.append(f"trials.csv: rows neither complete nor leftovers: {c.csv_other}")
    if c.csv_complete_baseline != 1:
        c.problems.append(f"trials.csv: {c.csv_complete_baseline} complete baselines, expected 1")
    if wrong := [label for label, ids in numbered.items() if len(ids) != 1]:
        c.problems.append(f"trials.csv: configurations not complete exactly once: {wrong[:10]} of {len(wrong)}")
    if twice := _repeated([r["trial_id"] for r in rows]):
        c.problems.append(f"trials.csv: Tune trials on more than one row: {twice[:10]}")

    journal = journal_storage(folder / "optuna.journal")
    live = optuna.load_study(study_name=study_name, storage=journal).get_trials(deepcopy=False)
    c.journal_trials = len(live)
    c.journal_complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in live)
    if [t.number for t in live] != list(range(search_trials)) or c.journal_complete != search_trials:
        c.problems.append(f"optuna.journal: {c.journal_complete} of {len(live)} trials complete, expected 0..N-1 all")
    if wrong := [t.number for t in live if t.number < search_trials and _ids(t) != numbered[f"c{t.number}"]]:
        c.problems.append(f"optuna.journal: numbers whose Tune trial is not trials.csv's: {wrong[:10]} of {len(wrong)}")

    db = optuna.storages.RDBStorage(f"sqlite:///{folder / 'optuna.db'}")
    try:
        kept = optuna.load_study(study_name=study_name, storage=db).get_trials(deepcopy=False)
    finally:
        db.engine.dispose()  # close SQLite before the folder may be removed
    c.db_trials = len(kept)
    head, tail = kept[:search_trials], kept[search_trials:]
    c.db_complete = sum(t.state == optuna.trial.TrialState.COMPLETE for t in head)
    c.db_leftovers = len(tail)
    if c.db_complete != search_trials or [t.user_attrs.get("config_id") for t in head] != labels:
        c.problems.append(f"optuna.db: trials 0..N-1 are not c0..cN-1 all complete ({c.db_complete} complete)")
    if wrong := [a.number for a, b in zip(head, live) if _ids(a) != _ids(b) or a.params != b.params]:
        c.problems.append(f"optuna.db: numbers unlike the live study's (Tune trial or params): {wrong[:10]}")
    if sorted(i for t in tail for i in _ids(t)) != sorted(leftovers):
        c.problems.append("optuna.db: its trials after N are not trials.csv's leftovers")
    if twice := _repeated([i for t in kept for i in _ids(t)]):
        c.problems.append(f"optuna.db: Tune trials in more than one Optuna trial: {twice[:10]}")
    return c


# ------------------------------------------------------------------ the table
def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def soak_table(result: dict[str, Any], goal_s: float) -> str:
    """The driver's cost per window of trials, then the run's other numbers."""
    rows = []
    for n, c in result["cost"].items():
        if c is None:
            rows.append((n, "-", "-", "-", "(the resume fell in this window)"))
            continue
        rows.append(
            (
                n,
                f"{c['from']}..{c['to']}",
                f"{c['cpu_s_per_trial']:.4f}",
                f"{c['wall_s_per_trial']:.3f}",
                f"{c['rss_mib']:.0f}",
            )
        )
    out = [
        f"Driver cost per search trial, over the last {result['window']} trials before n "
        f"(driver CPU s; the goal is <= {goal_s} at every n)",
        format_table(("n", "trials", "driver CPU s/trial", "wall s/trial", "driver RSS MiB"), rows),
        "",
    ]
    c = result["counts"]
    facts = [
        ("search trials + baseline", f"{result['trials']} + 1"),
        ("trials.csv: c0..cN-1 complete / baseline", f"{c['csv_complete_search']} / {c['csv_complete_baseline']}"),
        (
            "trials.csv: leftovers of the killed driver",
            json.dumps(c["csv_leftovers"]) if c["csv_leftovers"] else "none",
        ),
        ("optuna.journal: complete / all trials", f"{c['journal_complete']} / {c['journal_trials']}"),
        ("optuna.db: c0..cN-1 complete / leftovers", f"{c['db_complete']} / {c['db_leftovers']}"),
        ("peak driver memory (VmHWM)", f"{result['peak_driver_mib']:.0f} MiB"),
        (
            "optuna.journal size",
            f"{result['journal_bytes'] / 2**20:.2f} MiB ({result['journal_bytes_per_trial']:.0f} B/trial)",
        ),
        ("launch.py report on the finished folder", f"{result['report_s']:.1f} s"),
        (
            "resume: start -> new journal / rebuilt",
            f"{_fmt(result.get('resume_journal_s'), '.1f')} s / {_fmt(result['resume_rebuilt_s'], '.1f')} s",
        ),
        ("resume: start -> first new trial told", f"{_fmt(result['resume_pickup_s'], '.1f')} s"),
        ("whole sweep (both drivers)", f"{_fmt(result['wall_s'], '.0f')} s"),
        ("faults at (complete search trials)", json.dumps(result["complete_at_event"])),
    ]
    out.append(format_table(("what", "value"), facts))
    if c["errors"]:
        out += ["", "errored trials:"] + [f"  - {e}" for e in c["errors"]]
    if c["problems"]:
        out += ["", "COUNTS OFF:"] + [f"  - {p}" for p in c["problems"]]
    else:
        out += [
            "",
            "counts: c0..cN-1 complete exactly once in every store, under the same numbers; the baseline once (PASS)",
        ]
    return "\n".join(out)
