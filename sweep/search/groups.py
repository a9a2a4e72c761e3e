"""A configuration and its replicates: what the searcher knows of one Optuna trial run over several seeds.

One Optuna trial is one *configuration* (values of the searched params); it runs as
Tune trials that differ only in their seed, ``seed_0 + r`` for replicate r, the same
seeds as the baseline's replicates (so every difference is paired by seed). The
configuration is told to Optuna once, when every replicate it will get has ended:

* every replicate complete: COMPLETE with the mean over its seeds of each objective;
* any replicate failed (an error beyond its retries): FAIL. Never a silent mean of
  fewer seeds: a configuration that only some seeds can train is not the configuration
  the others describe, and the report names the failed seed;
* any replicate stopped early (config-level early stopping stops them together): PRUNED.

Pure data and arithmetic; no Ray, no Optuna.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["COMPLETE", "ERROR", "STOPPED", "ConfigGroup", "Outcome"]

Outcome = Literal["complete", "error", "stopped"]
COMPLETE: Outcome = "complete"
ERROR: Outcome = "error"
STOPPED: Outcome = "stopped"


@dataclass
class ConfigGroup:
    """One configuration of the sweep and its replicates."""

    number: int  # the Optuna trial's number: the configuration's id (``config_id``) everywhere
    params: dict[str, Any]  # the searched params' values
    planned: int  # replicates handed out or queued so far (racing adds to it)
    trial_ids: dict[int, str] = field(default_factory=dict)  # replicate -> Tune trial id
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # replicate -> how it ended
    values: dict[int, list[float]] = field(default_factory=dict)  # replicate -> objective values (complete ones)
    watched: dict[int, dict[str, float | None]] = field(default_factory=dict)  # replicate -> constrained metrics
    settled: bool = False  # told to Optuna: no replicate is added any more

    # ------------------------------------------------------------------ state
    @property
    def ended(self) -> int:
        return len(self.outcomes)

    @property
    def all_ended(self) -> bool:
        return self.ended >= self.planned

    @property
    def failed(self) -> list[int]:
        return sorted(r for r, o in self.outcomes.items() if o == ERROR)

    @property
    def stopped(self) -> list[int]:
        return sorted(r for r, o in self.outcomes.items() if o == STOPPED)

    @property
    def complete(self) -> list[int]:
        return sorted(r for r, o in self.outcomes.items() if o == COMPLETE)

    def record(
        self, replicate: int, outcome: Outcome, values: Sequence[float] | None, watched: Mapping[str, Any]
    ) -> None:
        """A replicate ended (``values`` and ``watched`` matter for a complete one only)."""
        self.outcomes[replicate] = outcome
        if outcome == COMPLETE and values is not None:
            self.values[replicate] = [float(v) for v in values]
            self.watched[replicate] = {k: _as_float(v) for k, v in watched.items()}

    # ------------------------------------------------------------- arithmetic
    def means(self) -> list[float]:
        """The mean over complete replicates of each objective (NaN where one is not finite)."""
        rows = [self.values[r] for r in self.complete]
        if not rows:
            return []
        return [_mean([row[i] for row in rows]) for i in range(len(rows[0]))]

    def sds(self) -> list[float]:
        """The sample sd over complete replicates of each objective (NaN with one seed)."""
        rows = [self.values[r] for r in self.complete]
        if not rows:
            return []
        return [_sd([row[i] for row in rows]) for i in range(len(rows[0]))]

    def watched_mean(self, metric: str) -> float | None:
        """The mean over complete replicates of a constrained metric; None when a replicate lacks it."""
        seen = [self.watched.get(r, {}).get(metric) for r in self.complete]
        if not seen or any(v is None for v in seen):
            return None
        return _mean([float(v) for v in seen])  # type: ignore[arg-type]

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "params": self.params,
            "planned": self.planned,
            "trial_ids": {str(r): t for r, t in self.trial_ids.items()},
            "outcomes": {str(r): o for r, o in self.outcomes.items()},
            "values": {str(r): [_json_number(v) for v in vs] for r, vs in self.values.items()},
            "watched": {str(r): {k: _json_number(v) for k, v in w.items()} for r, w in self.watched.items()},
            "settled": self.settled,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ConfigGroup:
        """The inverse of ``to_json``; ValueError / KeyError / TypeError for data that is not one."""
        outcomes = {int(r): str(o) for r, o in dict(raw["outcomes"]).items()}
        if not set(outcomes.values()) <= {COMPLETE, ERROR, STOPPED}:
            raise ValueError(f"unknown replicate outcome in {sorted(set(outcomes.values()))}")
        return cls(
            number=int(raw["number"]),
            params=dict(raw["params"]),
            planned=int(raw["planned"]),
            trial_ids={int(r): str(t) for r, t in dict(raw["trial_ids"]).items()},
            outcomes=outcomes,  # type: ignore[arg-type]
            values={int(r): [float(v) for v in vs] for r, vs in dict(raw["values"]).items()},
            watched={
                int(r): {str(k): _as_float(v) for k, v in dict(w).items()} for r, w in dict(raw["watched"]).items()
            },
            settled=bool(raw["settled"]),
        )


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _json_number(value: float | None) -> float | str | None:
    """JSON has no NaN or infinity: keep them as strings ``float()`` reads back."""
    return repr(value) if isinstance(value, float) and not math.isfinite(value) else value


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if all(math.isfinite(x) for x in xs) else math.nan


def _sd(xs: Sequence[float]) -> float:
    if len(xs) < 2 or not all(math.isfinite(x) for x in xs):
        return math.nan
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
