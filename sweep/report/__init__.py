"""The report of a results folder, rebuilt from the folder alone.

One module per job: ``tune_folder`` (Tune's experiment folder, read without
unpickling), ``records`` (a trial as the report sees it), ``status`` (its outcome),
``errors`` (why it failed), ``reading`` (the folder into records; ``from_csv`` when only
``trials.csv`` is left), ``configs`` (trials grouped into configurations over seeds,
paired with the baseline by seed, the claims), ``pareto`` (the front), ``build`` (the
Report, written nowhere), ``csv_files``, ``optuna_export``, ``plot``, ``summary`` (the
files), ``write`` (all of it, and the terminal text).
"""

from __future__ import annotations

from sweep.report.build import Report, build_report
from sweep.report.configs import BaselineGroup, ConfigRecord
from sweep.report.csv_files import CONFIGS_CSV, PARETO_CSV
from sweep.report.errors import error_reason
from sweep.report.optuna_export import OPTUNA_DB
from sweep.report.pareto import pareto_front
from sweep.report.plot import PARETO_PNG
from sweep.report.reading import TRIALS_CSV, read_trials
from sweep.report.records import SEARCH_ARM, TrialRecord
from sweep.report.status import STATUSES, Status
from sweep.report.summary import SUMMARY_MD
from sweep.report.write import print_final, report_folder, write_report

__all__ = [
    "Status",
    "STATUSES",
    "SEARCH_ARM",
    "TRIALS_CSV",
    "PARETO_CSV",
    "CONFIGS_CSV",
    "ConfigRecord",
    "BaselineGroup",
    "PARETO_PNG",
    "OPTUNA_DB",
    "SUMMARY_MD",
    "TrialRecord",
    "Report",
    "pareto_front",
    "error_reason",
    "read_trials",
    "build_report",
    "write_report",
    "print_final",
    "report_folder",
]
