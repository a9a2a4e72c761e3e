"""A study's results folder and its compare plan: the study's arms, netsep's baselines, paired seeds.

A study runs exactly as a compare does (``sweep.compare.run``, ``sweep.compare.report``):
the only difference is where the arms come from. The folder ``<storage>/<name>/``
holds ``study.yaml`` (the file as it was run: the record of what was registered),
``compare.json``, the Tune experiment ``tune/`` and the report (with ``sequential.csv``
when the study registered looks: ``sweep.study.sequential``).
"""

from __future__ import annotations

from pathlib import Path

from sweep.compare.plan import (
    PLAN_FILE,
    Arm,
    ComparePlan,
    baseline_arms,
    check_arms,
    deep_ensemble_arm,
    load_compare_plan,
)
from sweep.errors import UserError
from sweep.study.file import Study

__all__ = ["STUDY_COPY", "plan_study", "study_folder", "check_same_study", "load_study_plan"]

STUDY_COPY = "study.yaml"  # the study file as it was when the study started


def study_folder(study: Study, storage: str | Path) -> Path:
    return (Path(storage) / study.name).resolve()


def plan_study(study: Study, storage: str | Path) -> ComparePlan:
    """Arms: the study's own, then the matched baseline(s) and the deep ensemble. Writes nothing."""
    own = [Arm(name, "", dict(config), False) for name, config in study.arms.items()]
    baselines = baseline_arms(own, study.fixed, {})
    extra = [deep_ensemble_arm(baselines[0])] if study.deep_ensemble else []
    arms = [*own, *baselines, *extra]
    check_arms(arms, str(study.source), study.seeds)
    return ComparePlan(
        sweep_dir="",
        compare_dir=str(study_folder(study, storage)),
        seeds=list(study.seeds),
        arms=arms,
        objectives=[study.primary],
        directions=["max"],
        study=study.name,
    )


def check_same_study(study: Study, folder: Path) -> None:
    """``--resume`` continues the study that was registered: the file may not have changed."""
    saved = folder / STUDY_COPY
    if not saved.is_file():
        raise UserError(f"{folder}: no {STUDY_COPY}; this is not a study's results folder (start it without --resume)")
    if saved.read_text(encoding="utf-8") != study.text:
        raise UserError(
            f"{study.source}: the study file differs from {saved}, the one this study started with; "
            "a registered study does not change while it runs: restore the file (git diff shows the change) "
            "or give the study a new name"
        )


def load_study_plan(folder: Path) -> ComparePlan:
    """The saved plan of a study's folder (``--resume``, ``--report-only``)."""
    if not (folder / PLAN_FILE).is_file():
        raise UserError(f"{folder}: the study has not started yet (no {PLAN_FILE}); run it without --resume")
    return load_compare_plan(folder)
