"""A results folder's plan, space and trial records: read, never written.

``read_trials(results_dir)`` reads ``sweep.json`` and ``space.yaml`` and Ray Tune's
experiment folder (``<results>/tune``, or the plan's URI when the experiment lives in
an object store) through ``sweep.report.tune_folder``. Without a Tune folder but with
a ``trials.csv`` (a published or copied results folder), the records come from that
file (``sweep.report.from_csv``), with a note.
"""

from __future__ import annotations

from pathlib import Path

from sweep.errors import UserError
from sweep.paths import is_uri
from sweep.plan import PLAN_FILE, SPACE_COPY, TUNE_DIR, SweepPlan, load_plan
from sweep.report.from_csv import records_from_csv
from sweep.report.records import TrialRecord, to_record
from sweep.report.tune_folder import experiment_exists, read_experiment
from sweep.spaces import SearchSpace

__all__ = ["TRIALS_CSV", "read_trials", "load_results_folder", "tune_location"]

TRIALS_CSV = "trials.csv"


def load_results_folder(results_dir: Path) -> tuple[SweepPlan, SearchSpace]:
    """The plan and the space of a results folder; ``UserError`` naming what is missing."""
    if not results_dir.is_dir():
        raise UserError(
            f"{results_dir}: no such results folder (expected the folder a sweep printed, e.g. experiments/<name>)"
        )
    if not (results_dir / PLAN_FILE).is_file():
        raise UserError(
            f"{results_dir}: not a netsep results folder ({PLAN_FILE} is missing); "
            "pass the folder a sweep printed when it started, e.g. experiments/<name>"
        )
    if not (results_dir / SPACE_COPY).is_file():
        raise UserError(
            f"{results_dir}: {SPACE_COPY} is missing (the copy of the search space the sweep ran); "
            f"copy the space file there as {SPACE_COPY}"
        )
    try:
        return load_plan(results_dir)
    except (ValueError, TypeError) as error:
        raise UserError(
            f"{results_dir / PLAN_FILE}: cannot be read as a sweep plan ({type(error).__name__}: {error})"
        ) from None


def tune_location(results_dir: Path, plan: SweepPlan) -> str:
    """Tune's folder: ``<results>/tune`` when it is here (also after the folder moved), else the plan's URI."""
    local = results_dir / TUNE_DIR
    if local.is_dir() or not is_uri(plan.tune_storage):
        return str(local)
    return plan.tune_path


def _from_csv(results_dir: Path, plan: SweepPlan, space: SearchSpace, location: str) -> list[TrialRecord]:
    path = results_dir / TRIALS_CSV
    try:
        return records_from_csv(path.read_text(encoding="utf-8"), space, plan.fixed)
    except ValueError as error:
        raise UserError(
            f"{path}: no Ray Tune experiment at {location} and {TRIALS_CSV} cannot be read back ({error})"
        ) from None


def read_trials(results_dir: str | Path) -> tuple[SweepPlan, SearchSpace, list[TrialRecord], list[str]]:
    """Every trial of a results folder, in the order Tune created them.

    Returns the plan, the space, the trials and notes on what the folder lacked.
    ``UserError`` when the folder is not a results folder or holds no Tune experiment
    (and no ``trials.csv`` to rebuild from).
    """
    results_dir = Path(results_dir)
    plan, space = load_results_folder(results_dir)
    location = tune_location(results_dir, plan)
    if not experiment_exists(location):
        if (results_dir / TRIALS_CSV).is_file():
            note = (
                f"Ray Tune's experiment folder is not here ({location}); this report was rebuilt from "
                f"{TRIALS_CSV}, which holds no per-epoch values or start times"
            )
            return plan, space, _from_csv(results_dir, plan, space, location), [note]
        raise UserError(
            f"{results_dir}: no Ray Tune experiment at {location} (the sweep started no "
            "trial yet, or its tune/ folder was removed or not copied along)"
        )
    experiment = read_experiment(location)
    if not experiment.trials and (results_dir / TRIALS_CSV).is_file():
        # An empty Tune folder (a half-finished copy) says nothing; the saved table still does.
        note = (
            f"Ray Tune's experiment folder {location} holds no trial; this report was rebuilt from "
            f"{TRIALS_CSV}, which holds no per-epoch values or start times"
        )
        return plan, space, _from_csv(results_dir, plan, space, location), [note, *experiment.notes]
    return plan, space, [to_record(t, space) for t in experiment.trials], list(experiment.notes)
