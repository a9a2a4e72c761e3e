"""Write a results folder's report files, and print its end-of-sweep text.

``write_report(results_dir)`` reads the folder (``sweep.report.build``) and
(re)writes ``trials.csv``, ``pareto.csv``, ``optuna.db``, ``pareto.png`` and
``summary.md``. It works on any state the folder can be in, also after the driver
died (see ``sweep.report.tune_folder``). Nothing here starts Ray.

A report never loses what the folder's last report recorded: when the trials it
reads now are fewer than those of the existing ``trials.csv`` (a half-copied Tune
folder, trial folders removed), the previous report files are kept in a new
``report-previous-<time>/`` folder beside them and the report says so. Every file
is written whole or not at all, never through a link, and only into the folder
itself: copying to an object store happens only for the sweep's own run (``mirror``).
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from sweep.backend.storage_mirror import mirror_to_storage
from sweep.errors import UserError
from sweep.folders import FolderLock, replacing, write_text_atomically
from sweep.formatting import num, text_table
from sweep.report.build import Report, build_report
from sweep.report.csv_files import CONFIGS_CSV, PARETO_CSV, write_configs_csv, write_pareto_csv, write_trials_csv
from sweep.report.optuna_export import OPTUNA_DB, write_optuna_db
from sweep.report.plot import PARETO_PNG, write_plot
from sweep.report.reading import TRIALS_CSV, load_results_folder
from sweep.report.summary import SUMMARY_MD, front_rows, summary_text

__all__ = ["write_report", "print_final", "report_folder"]


def _write_summary(report: Report, path: Path) -> None:
    write_text_atomically(path, summary_text(report))


def _via_temporary(write: Callable[[Report, Path], None]) -> Callable[[Report, Path], None]:
    """A writer that needs a file name writes a temporary file, renamed over the name when done."""

    def write_whole(report: Report, path: Path) -> None:
        with replacing(path) as tmp:
            write(report, tmp)

    return write_whole


_WRITERS: tuple[tuple[str, Callable[[Report, Path], None]], ...] = (
    (TRIALS_CSV, write_trials_csv),
    (CONFIGS_CSV, write_configs_csv),
    (PARETO_CSV, write_pareto_csv),
    (OPTUNA_DB, _via_temporary(write_optuna_db)),  # built beside the old one, which stays until it is whole
    (PARETO_PNG, _via_temporary(write_plot)),
    (SUMMARY_MD, _write_summary),  # last: it names the others
)


PREVIOUS_PREFIX = "report-previous-"


def _recorded_ids(path: Path) -> set[str]:
    """Trial ids of an existing ``trials.csv`` (nothing when it is missing or unreadable)."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return {row["trial_id"] for row in csv.DictReader(f) if row.get("trial_id")}
    except (OSError, UnicodeDecodeError, csv.Error, KeyError):
        return set()


def _keep_previous(results_dir: Path) -> Path:
    """Copy the current report files into a new ``report-previous-<time>/`` folder; that folder."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        kept = results_dir / f"{PREVIOUS_PREFIX}{stamp}{f'-{n}' if n else ''}"
        try:
            kept.mkdir()
            break
        except FileExistsError:
            continue
    else:
        raise UserError(f"{results_dir}: cannot keep the previous report (too many {PREVIOUS_PREFIX}* folders)")
    for name, _ in _WRITERS:
        source = results_dir / name
        if source.is_file() and not source.is_symlink():
            shutil.copy2(source, kept / name)
    return kept


def write_report(results_dir: Path, *, mirror: bool = False) -> Report:
    """Rebuild every report file of ``results_dir`` from the folder alone; see the module doc.

    ``mirror``: also copy the files to the plan's object-store storage (only the run that
    made the folder does this: a folder from elsewhere must not make netsep write elsewhere).
    """
    results_dir = Path(results_dir)
    report = build_report(results_dir)
    lost = _recorded_ids(results_dir / TRIALS_CSV) - {t.trial_id for t in report.trials}
    if lost:
        try:
            kept = _keep_previous(results_dir)
        except OSError as error:
            raise UserError(
                f"{results_dir}: the report would drop {len(lost)} trials its {TRIALS_CSV} records, and the "
                f"previous report cannot be kept ({type(error).__name__}: {error}); nothing was rewritten"
            ) from None
        shown = ", ".join(sorted(lost)[:5]) + (", ..." if len(lost) > 5 else "")
        report.notes.append(
            f"{len(lost)} trials of the previous {TRIALS_CSV} are not in the folder's Tune experiment now "
            f"({shown}; a partial copy, or trial folders removed?); the previous report is kept in {kept.name}/"
        )
    try:
        for name, write in _WRITERS:
            write(report, results_dir / name)
            report.files[name] = results_dir / name
    except (OSError, sqlite3.Error) as error:
        raise UserError(f"{results_dir}: cannot write the report there ({type(error).__name__}: {error})") from None
    if mirror:  # an object-store --storage gets the plan and report next to Tune's folder
        mirror_to_storage(results_dir, report.plan.tune_storage)
    return report


def print_final(report: Report) -> None:
    """The noise floor, the front with its claims, counts by status and the folder, as plain text."""
    objectives = report.objectives
    print()
    floor = report.noise_floor()
    print("Noise floor (seed sd of the baseline): " + ", ".join(f"{m} {num(floor[m])}" for m in objectives))
    if report.pareto:
        print(
            f"Pareto front: {len(report.pareto)} non-dominated of {report.counts['complete']} complete configurations "
            f"({report.replicates.text()} seeds each; {', '.join(f'{m} {d}' for m, d in zip(objectives, report.directions))})"
        )
        print(text_table(*front_rows(report)))
    else:
        print("Pareto front: empty (no complete, feasible configuration with finite objective values)")
        for base in report.baseline_groups:
            values = ", ".join(f"{m}={num(base.value(m))}" for m in objectives)
            print(f"  {base.label} ({base.status}): {values}")
    winners = [c.config_id for c in report.pareto if c.beats_baseline]
    if report.baseline_groups:
        if winners:
            print(f"Beats the baseline beyond seed noise: {', '.join(winners)}")
        elif report.replicates.max == 1:
            print("Beats the baseline beyond seed noise: nothing can be claimed with one seed per configuration")
        elif not any(c.paired for c in report.pareto):
            print("Beats the baseline beyond seed noise: none (no front member could be compared with it)")
        else:
            print("Beats the baseline beyond seed noise: none (no front member is better on every objective)")
    c = report.counts
    print(
        f"\nConfigurations: {c['complete']} complete, {c['stopped_early']} stopped early, "
        f"{c['error']} error, {c['interrupted']} interrupted (of {report.plan.trials} requested)"
    )
    if report.baselines:
        print(
            "Baseline: "
            + "; ".join(f"{g.label} {g.status} ({len(g.replicates)} seeds)" for g in report.baseline_groups)
        )
    broken = [c.config_id for c in report.configs if c.status == "complete" and c.broken]
    if broken:
        print(f"Infeasible (inert adversary or a constraint; kept off the front): {', '.join(broken)}")
    for t in report.trials:
        if t.status == "error":
            print(f"  error {t.trial_id} ({t.arm}, seed {t.config.get('seed', 0)}): {t.reason}")
    for note in report.notes:
        print(f"Note: {note}")
    print(
        f"Results: {report.results_dir.resolve()}  ({SUMMARY_MD}, {CONFIGS_CSV}, {TRIALS_CSV}, {PARETO_CSV}, "
        f"{PARETO_PNG}, {OPTUNA_DB})"
    )


def report_folder(results_dir: str | Path) -> Report:
    """``launch.py report DIR``: check the folder, hold its lock, rewrite and print its report.

    The folder may come from anywhere: it is read without unpickling anything, and
    written only inside itself (no mirror), one netsep process at a time.
    """
    results_dir = Path(results_dir)
    load_results_folder(results_dir)  # a clear error before anything is written there
    with FolderLock(results_dir, "writing its report"):
        report = write_report(results_dir)
    print_final(report)
    return report
