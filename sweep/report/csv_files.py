"""``trials.csv`` (every Tune trial), ``configs.csv`` (one row per configuration) and ``pareto.csv`` (the front).

A configuration's columns: its params, K (the seeds that completed), and for each
objective its mean and sd over seeds and the paired difference from the matched
baseline with its 95 % interval and p-value (Holm-adjusted over the front for front
members); ``beats_baseline`` says whether the claim holds (docs/protocol.md section 9).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweep.folders import write_csv
from sweep.report.build import Report
from sweep.report.configs import ConfigRecord, config_label
from trainable.metric_names import METRICS

__all__ = ["CONFIGS_CSV", "PARETO_CSV", "write_configs_csv", "write_pareto_csv", "write_trials_csv"]

PARETO_CSV = "pareto.csv"
CONFIGS_CSV = "configs.csv"


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
        "config_id",
        "replicate",
        "seed",
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
    # A killed driver's leftover whose number the resumed search reissued is a configuration of
    # its own, named by its trial id (configs.csv, optuna.db): not the configuration now under that number.
    leftovers = {t.trial_id for c in report.configs if c.number is None for t in c.replicates}
    rows = [
        [
            t.trial_id,
            t.arm,
            t.trial_id if t.trial_id in leftovers else config_label(t.config.get("config_id")),
            t.config.get("replicate"),
            t.config.get("seed", 0),
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


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _config_columns(report: Report) -> list[str]:
    header = ["config_id", "optuna_number", "status", "replicates", "seeds", "feasible", "broken_constraints"]
    header += list(report.space.params)
    for m in report.objectives:
        header += [f"{m}_mean", f"{m}_sd", f"delta_{m}", f"delta_{m}_low", f"delta_{m}_high", f"p_{m}", f"p_holm_{m}"]
    return [*header, "baseline", "beats_baseline", "reason", "epochs", "checkpoint"]


def _config_row(report: Report, c: ConfigRecord) -> list[Any]:
    row: list[Any] = [
        c.config_id,
        c.number,
        c.status,
        c.n,
        " ".join(map(str, c.seeds)),
        _yes_no(c.feasible) if c.status == "complete" else None,
        "; ".join(c.broken),
        *(_param_cell(c.config, p) for p in report.space.params),
    ]
    for m in report.objectives:
        d = c.paired.get(m)
        row += [c.means.get(m), c.sds.get(m)]
        row += [d.mean, d.low, d.high, d.p, d.p_holm] if d else [None] * 5
    # reason: why a seed failed or stopped; epochs: the fewest any seed trained; checkpoint: seed 0's.
    return [*row, c.baseline, _yes_no(c.beats_baseline), c.reason, c.epochs, c.checkpoint]


def write_configs_csv(report: Report, path: Path) -> None:
    """One row per configuration, in the order Optuna proposed them (see the module doc)."""
    write_csv(path, _config_columns(report), [_config_row(report, c) for c in report.configs])


def write_pareto_csv(report: Report, path: Path) -> None:
    """The front, best first: configurations.csv's columns for its members (``beats_baseline`` decided)."""
    write_csv(path, _config_columns(report), [_config_row(report, c) for c in report.pareto])
