"""Records read back from a report's own ``trials.csv``, for a results folder without ``tune/``.

A published results folder (``docs/results/...``) or one whose Tune folder was not
copied along still holds ``trials.csv``: every trial's arm, status, reason, epochs,
searched params, final metrics and checkpoint. From it the report is rebuilt with
the same tables and front; per-epoch values and start times are not in it. Pure:
text in, records out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sweep.baselines import BASELINE_ARM, baseline_configs
from sweep.formatting import cell
from sweep.report.configs import config_number
from sweep.report.records import SEARCH_ARM, TrialRecord
from sweep.report.status import STATUSES, Status
from sweep.spaces import IntParam, Param, SearchSpace
from trainable.metric_names import METRICS

__all__ = ["records_from_csv", "number_from_cell"]

_INT = re.compile(r"^[+-]?\d+$")


def number_from_cell(text: str) -> float | int | None:
    """A metric cell as it was written: blank -> None, ``3`` -> 3, ``0.5``/``nan`` -> float."""
    if text == "":
        return None
    return int(text) if _INT.match(text) else float(text)


def _param_value(param: Param, text: str) -> Any:
    """A param cell back to the value it was written from (``null`` for a chosen null)."""
    choices = getattr(param, "choices", None)
    if choices is not None:
        for choice in choices:
            if (choice is None and text == "null") or (choice is not None and cell(choice) == text):
                return choice
        return text
    try:
        return int(text) if isinstance(param, IntParam) and _INT.match(text) else float(text)
    except ValueError:
        return text


@dataclass
class _Baselines:
    """The planned baseline configs still to meet in trials.csv, and the one its rows are at now."""

    planned: list[dict[str, Any]]
    current: dict[str, Any] = field(default_factory=dict)


def _config(
    row: Mapping[str, str], space: SearchSpace, fixed: Mapping[str, Any], baselines: _Baselines
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, params) of one row; baselines take the next planned baseline config in order."""
    params = {name: _param_value(p, row[name]) for name, p in space.params.items() if row.get(name, "") != ""}
    # What tells replicates apart: written by netsep since configurations have seeds (blank before).
    labels = {k: int(row[k]) for k in ("replicate", "seed") if _INT.match(row.get(k) or "")}
    number = config_number(row.get("config_id") or "")
    if number is not None:
        labels["config_id"] = number
    if row["arm"] == BASELINE_ARM:
        # The sweep proposes its baselines first, in baseline_configs' order, each over its seeds:
        # a row of replicate 0 starts the next planned baseline, later replicates repeat it.
        if labels.get("replicate", 0) == 0 or not baselines.current:
            baselines.current = baselines.planned.pop(0) if baselines.planned else {**fixed, "objective": "independent"}
        return {**baselines.current, **params, **labels, "arm": BASELINE_ARM}, params
    return {**fixed, **params, **labels}, params


def _record(row: Mapping[str, str], config: dict[str, Any], params: dict[str, Any]) -> TrialRecord:
    status = row["status"]
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    status_: Status = status  # type: ignore[assignment]
    return TrialRecord(
        trial_id=row["trial_id"],
        arm=BASELINE_ARM if row["arm"] == BASELINE_ARM else SEARCH_ARM,
        status=status_,
        reason=row["reason"],
        epochs=int(row["epochs"]),
        max_epochs=int(row["max_epochs"]),
        config=config,
        params=params,
        metrics={name: number_from_cell(row.get(name, "")) for name in METRICS},
        history=(),
        checkpoint=row["checkpoint"],
        started=None,
        ended=None,
        eval_split=row.get("eval_split") or "",  # absent from trials.csv files written before it existed
    )


def records_from_csv(text: str, space: SearchSpace, fixed: Mapping[str, Any]) -> list[TrialRecord]:
    """The records of a ``trials.csv``, in its order; ``ValueError`` when it is not one."""
    rows: Sequence[Mapping[str, str]] = list(csv.DictReader(io.StringIO(text)))
    baselines = _Baselines(baseline_configs(fixed, space.searched_objectives()))
    records = []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            config, params = _config(row, space, fixed, baselines)
            records.append(_record(row, config, params))
        except (KeyError, ValueError, TypeError) as error:
            raise ValueError(f"line {number}: {type(error).__name__}: {error}") from None
    return records
