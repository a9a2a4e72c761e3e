"""``trials.csv`` (every Tune trial) and ``pareto.csv`` (the front against the baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweep.folders import write_csv
from sweep.report.build import Report, beats
from trainable.metric_names import METRICS

__all__ = ["PARETO_CSV", "write_trials_csv", "write_pareto_csv"]

PARETO_CSV = "pareto.csv"


def _param_cell(config: Mapping[str, Any], name: str) -> Any:
    """A param's CSV value: blank when the trial lacks it, "null" for a chosen null."""
    if name not in config:
        return None
    return "null" if config[name] is None else config[name]


def write_trials_csv(report: Report, path: Path) -> None:
    """One row per Tune trial: arm, status, reason, inert_adversary, eval_split, epochs, params (space order),
    METRICS, checkpoint. ``inert_adversary`` is yes/no (blank for a baseline, which has no discriminator);
    ``eval_split`` the split its metrics were measured on (validation / test / blank when unknown)."""
    params = list(report.space.params)
    header = [
        "trial_id",
        "arm",
        "status",
        "reason",
        "inert_adversary",
        "eval_split",
        "epochs",
        "max_epochs",
        *params,
        *METRICS,
        "checkpoint",
    ]
    rows = [
        [
            t.trial_id,
            t.arm,
            t.status,
            t.reason,
            None if t.is_baseline else ("yes" if t.inert_adversary else "no"),
            t.eval_split,
            t.epochs,
            t.max_epochs,
            *(_param_cell(t.config, p) for p in params),
            *(t.metrics[m] for m in METRICS),
            t.checkpoint,
        ]
        for t in report.trials
    ]
    write_csv(path, header, rows)


def write_pareto_csv(report: Report, path: Path) -> None:
    """The front, best first, with each member's baseline and its difference from it."""
    objectives, directions = report.objectives, report.directions
    params = list(report.space.params)
    number = {t.trial_id: i for i, t in enumerate(report.search_trials)}
    header = [
        "trial_id",
        "optuna_number",
        *objectives,
        "baseline_trial_id",
        *(f"delta_{m}" for m in objectives),
        "beats_baseline",
        *params,
        "epochs",
        "checkpoint",
    ]
    rows = []
    for t in report.pareto:
        values = t.objective_values(objectives) or []
        base = report.baseline_for(t)
        base_values = base.objective_values(objectives) if base else None
        deltas = [a - b for a, b in zip(values, base_values)] if base_values else [None] * len(objectives)
        won = beats(t, base, objectives, directions) if base else None
        rows.append(
            [
                t.trial_id,
                number[t.trial_id],
                *values,
                base.trial_id if base else None,
                *deltas,
                None if won is None else ("yes" if won else "no"),
                *(_param_cell(t.config, p) for p in params),
                t.epochs,
                t.checkpoint,
            ]
        )
    write_csv(path, header, rows)
