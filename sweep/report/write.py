"""Write a results folder's report files, and print its end-of-sweep text.

``write_report(results_dir)`` reads the folder (``sweep.report.build``) and
(re)writes ``trials.csv``, ``pareto.csv``, ``optuna.db``, ``pareto.png`` and
``summary.md``. It works on any state the folder can be in, also after the driver
died (see ``sweep.report.tune_folder``). Nothing here starts Ray.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sweep.backend.storage_mirror import mirror_to_storage
from sweep.errors import UserError
from sweep.formatting import num, text_table, write_text_atomically
from sweep.report.build import Report, build_report
from sweep.report.csv_files import PARETO_CSV, write_pareto_csv, write_trials_csv
from sweep.report.optuna_export import OPTUNA_DB, write_optuna_db
from sweep.report.plot import PARETO_PNG, write_plot
from sweep.report.reading import TRIALS_CSV
from sweep.report.summary import SUMMARY_MD, front_rows, summary_text

__all__ = ["write_report", "print_final"]


def _write_summary(report: Report, path: Path) -> None:
    write_text_atomically(path, summary_text(report))


_WRITERS: tuple[tuple[str, Callable[[Report, Path], None]], ...] = (
    (TRIALS_CSV, write_trials_csv),
    (PARETO_CSV, write_pareto_csv),
    (OPTUNA_DB, write_optuna_db),
    (PARETO_PNG, write_plot),
    (SUMMARY_MD, _write_summary),  # last: it names the others
)


def write_report(results_dir: Path) -> Report:
    """Rebuild every report file of ``results_dir`` from the folder alone; see the module doc."""
    results_dir = Path(results_dir)
    report = build_report(results_dir)
    try:
        for name, write in _WRITERS:
            write(report, results_dir / name)
            report.files[name] = results_dir / name
    except (OSError, sqlite3.Error) as error:
        raise UserError(f"{results_dir}: cannot write the report there ({type(error).__name__}: {error})") from None
    # An object-store --storage gets the plan and report next to Tune's folder.
    mirror_to_storage(results_dir, report.plan.tune_storage)
    return report


def print_final(report: Report) -> None:
    """The front, the baseline below it, counts by status and the folder, as plain text."""
    objectives = report.objectives
    print()
    if report.pareto:
        print(
            f"Pareto front: {len(report.pareto)} non-dominated of {report.counts['complete']} complete search trials "
            f"({', '.join(f'{m} {d}' for m, d in zip(objectives, report.directions))})"
        )
        print(text_table(*front_rows(report)))
    else:
        print("Pareto front: empty (no complete search trial with finite objective values)")
        for base in report.baselines:
            values = ", ".join(f"{m}={num(base.metrics.get(m))}" for m in objectives)
            print(f"  baseline {base.trial_id} ({base.status}): {values}")
    c = report.counts
    print(
        f"\nSearch trials: {c['complete']} complete, {c['stopped_early']} stopped early, "
        f"{c['error']} error, {c['interrupted']} interrupted (of {report.plan.trials} requested)"
    )
    if report.baselines:
        print("Baseline: " + ", ".join(f"{b.trial_id} {b.status}" for b in report.baselines))
    inert = [t.trial_id for t in report.search_trials if t.status == "complete" and t.inert_adversary]
    if inert:
        print(f"Inert adversary (disc_acc at chance, kept off the front): {', '.join(inert)}")
    for t in report.trials:
        if t.status == "error":
            print(f"  error {t.trial_id} ({t.arm}): {t.reason}")
    for note in report.notes:
        print(f"Note: {note}")
    print(
        f"Results: {report.results_dir.resolve()}  ({SUMMARY_MD}, {TRIALS_CSV}, {PARETO_CSV}, {PARETO_PNG}, "
        f"{OPTUNA_DB})"
    )
