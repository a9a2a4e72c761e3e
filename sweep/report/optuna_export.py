"""``optuna.db``: the configurations as an Optuna study (SQLite), for Optuna's own tools.

One Optuna trial per configuration, as the searcher told it: its means over seeds as
values (COMPLETE), PRUNED when it was stopped early, FAIL when a seed failed; its
constraints (an inert adversary, the space's own) recorded the way Optuna records them,
so ``study.best_trials`` and optuna-dashboard leave infeasible ones off the front, as
``pareto.csv`` does. Rebuilt from scratch each time, from the records alone, so two
rebuilds give the same study: trial times are Tune's, not the rebuild's.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.plan import SPACE_COPY
from sweep.report.build import Report
from sweep.report.configs import ConfigRecord
from sweep.report.records import metric_value
from sweep.report.tune_folder import epochs_done
from sweep.search.feasibility import Feasibility, objective_of
from trainable.metric_names import METRICS

__all__ = ["OPTUNA_DB", "write_optuna_db"]

OPTUNA_DB = "optuna.db"


def _plan_time(report: Report) -> float:
    """When the sweep was planned (sweep.json's ``created``), else its first trial's start."""
    try:
        return datetime.strptime(report.plan.created, "%Y-%m-%d %H:%M:%S").timestamp()
    except (TypeError, ValueError):
        started = [t.started for t in report.trials if t.started is not None]
        return min(started) if started else 0.0


def write_optuna_db(report: Report, path: Path) -> None:
    """A fresh SQLite study of the search trials, in the order Optuna proposed them (leftovers last)."""
    import optuna

    if path.exists():
        path.unlink()
    # Optuna logs each study it creates at INFO; the rebuild is not news, so quiet it meanwhile.
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        _fill_study(report, path)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _fill_study(report: Report, path: Path) -> None:
    import optuna

    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
    directions = [
        optuna.study.StudyDirection.MAXIMIZE if d == "max" else optuna.study.StudyDirection.MINIMIZE
        for d in report.directions
    ]
    study = optuna.create_study(storage=storage, study_name=report.plan.name, directions=directions)
    with warnings.catch_warnings():
        # Experimental since Optuna 3.2, still so in 5.0; it names the objectives in Optuna's dashboard.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(report.objectives)
    study.set_user_attr("space_file", report.plan.space_file)
    study.set_user_attr("created", report.plan.created)
    study.set_user_attr("results_dir", str(report.results_dir))
    planned = _plan_time(report)
    # Trial N is configuration cN, as in the live study (optuna.journal): the leftovers of a
    # killed driver whose numbers the resumed search reissued (no number) come after them all.
    for config in sorted(report.configs, key=lambda c: c.number is None):
        study.add_trial(_frozen_trial(report, config, planned))
    # Close SQLAlchemy's pooled connection: the file is complete and nothing holds it open.
    storage.remove_session()
    storage.engine.dispose()


def _frozen_trial(report: Report, config: ConfigRecord, planned: float) -> Any:
    from optuna.distributions import BaseDistribution
    from optuna.trial import TrialState, create_trial

    values = config.objective_values(report.objectives)
    if config.status == "complete" and values is not None:
        state = TrialState.COMPLETE
    elif config.status == "stopped_early":
        state, values = TrialState.PRUNED, None
    else:
        state, values = TrialState.FAIL, None
    distributions: dict[str, BaseDistribution] = {
        name: report.space.params[name].distribution() for name in config.params
    }
    watched = report.plan.early_stop or report.objectives[0]  # the metric early stopping compared on
    intermediate = _mean_curve(config, watched)
    feasibility = Feasibility(report.space.constraints)
    violations = feasibility.violations(lambda m: _finite(config.value(m)), objective_of(config.params, config.config))
    user_attrs: dict[str, Any] = {
        "config_id": config.config_id,
        "tune_trial_ids": [t.trial_id for t in config.replicates],
        "seeds": config.seeds,
        "replicates": config.n,
        "status": config.status,
        "reason": config.reason,
        "checkpoint": config.checkpoint,
        "epochs": config.epochs,
        **{f"mean_{m}": config.means.get(m) for m in METRICS},
        **{f"sd_{m}": config.sds.get(m) for m in report.objectives},
    }
    try:
        frozen = create_trial(
            state=state,
            values=values,
            params=dict(config.params),
            distributions=distributions,
            user_attrs=user_attrs,
            constraints=violations if state == TrialState.COMPLETE else None,
            intermediate_values=intermediate,
        )
    except ValueError as error:
        raise UserError(
            f"{report.results_dir / SPACE_COPY}: configuration {config.config_id}'s params {config.params} "
            f"do not fit the space ({error}); was {SPACE_COPY} edited after the sweep?"
        ) from None
    # Tune's clock, not the time of this rebuild. Optuna wants a start for every
    # finished trial; one that never started gets the sweep's start.
    starts = [t.started for t in config.replicates if t.started is not None]
    ends = [t.ended for t in config.replicates if t.ended is not None]
    start = min(starts) if starts else planned
    frozen.datetime_start = datetime.fromtimestamp(start)
    frozen.datetime_complete = datetime.fromtimestamp(max([start, *ends]))
    return frozen


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _mean_curve(config: ConfigRecord, metric: str) -> dict[int, float]:
    """Per epoch, the mean over the replicates that reported it (every one of them)."""
    per_epoch: dict[int, list[float]] = {}
    for trial in config.replicates:
        for row in trial.history:
            value, step = metric_value(row.get(metric)), epochs_done(row)
            if value is not None and math.isfinite(value) and step > 0:
                per_epoch.setdefault(step, []).append(float(value))
    n = len(config.replicates)
    return {step: sum(vs) / len(vs) for step, vs in sorted(per_epoch.items()) if len(vs) == n}
