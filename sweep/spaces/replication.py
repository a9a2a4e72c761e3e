"""A space's noise handling: replicated configurations and constraints.

* ``replicates``: how many seeds each configuration is trained with. ``K`` (fixed) or
  ``{min, max}`` (racing: every configuration gets ``min`` seeds, the ones whose interval
  still overlaps the front get more, up to ``max``). Seed r of every configuration and of
  the baseline is ``seed + r`` (``seed`` is the trial setting, 0 unless fixed), so every
  difference from the baseline is paired by seed.
* ``constraints``: ``{metric: NAME, min: X}`` or ``{metric: NAME, max: X}``; a configuration
  whose mean over its seeds breaks one is *infeasible*: Optuna's samplers steer away from
  it and it is kept off the front. An adversarial configuration whose discriminator stayed
  at chance (``disc_acc`` below ``INERT_DISC_ACC``) is always infeasible.
(A space's ``start_with`` configurations are checked by ``sweep.spaces.rules.check_start_with``.)

Pure: values in, typed objects out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainable.metric_names import METRICS
from trainable.problems import describe, did_you_mean

__all__ = [
    "CONSTRAINT_METRICS",
    "INERT_DISC_ACC",
    "MAX_REPLICATES",
    "Constraint",
    "Replicates",
    "replicates_from",
]

MAX_REPLICATES = 64  # seeds per configuration: far above what a sweep can afford, below compare's first seed
# A discriminator whose balanced accuracy on held-out validation pairs ends below this
# learned nothing: 0.5 is chance, and 0.55 is about 2 standard errors above it for 512
# pairs (SE = sqrt(0.25 / 512) ~ 0.022). Its adversarial term was noise from an untrained
# D, so the configuration says nothing about the method (docs/protocol.md section 3).
INERT_DISC_ACC = 0.55
# What a constraint may bound: the metrics every sweep trial reports (the probe runs only in compare).
CONSTRAINT_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m not in ("probe_acc", "epoch", "train_seconds"))


class Replicates(BaseModel):
    """Seeds per configuration: ``min == max`` is a fixed K; ``min < max`` races (see the module doc)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    min: int = Field(ge=1, le=MAX_REPLICATES)
    max: int = Field(ge=1, le=MAX_REPLICATES)

    @model_validator(mode="after")
    def _ordered(self) -> Replicates:
        if self.min > self.max:
            raise ValueError(f"`min <= max` must hold, but got (min={self.min}, max={self.max})")
        if self.min < self.max and self.min < 2:
            raise ValueError(
                f"racing (min < max) decides on an interval over seeds, which needs min >= 2, got min={self.min}"
            )
        return self

    @property
    def races(self) -> bool:
        return self.min < self.max

    def text(self) -> str:
        return f"{self.min}" if not self.races else f"{self.min} to {self.max} (racing)"


def replicates_from(value: Any) -> Replicates:
    """``K`` or ``{min: a, max: b}`` (YAML) or ``"a:b"`` (the command line) -> Replicates; ValueError says the rule."""
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number K or {{min, max}}, got {describe(value)}")
    if isinstance(value, int):
        return Replicates(min=value, max=value)
    if isinstance(value, str) and ":" in value:
        low, _, high = value.partition(":")
        try:
            return Replicates(min=int(low), max=int(high))
        except ValueError as error:
            if "validation error" in str(error):
                raise
            raise ValueError(f"must be K or MIN:MAX with whole numbers, got {value!r}") from None
    if isinstance(value, Mapping):
        return Replicates.model_validate(dict(value))
    raise ValueError(f"must be a whole number K or {{min, max}}, got {describe(value)}")


class Constraint(BaseModel):
    """``{metric, min}`` or ``{metric, max}``: a bound the configuration's mean must keep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(strict=True)
    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        if self.metric not in CONSTRAINT_METRICS:
            raise ValueError(
                f"unknown metric {self.metric!r}{did_you_mean(self.metric, CONSTRAINT_METRICS)} "
                f"(a constraint bounds one of: {', '.join(CONSTRAINT_METRICS)})"
            )
        if (self.min is None) == (self.max is None):
            raise ValueError(f"give exactly one of `min` and `max`, got min={self.min!r}, max={self.max!r}")
        return self

    def violation(self, value: float | None) -> float:
        """Optuna's convention: <= 0 is feasible, > 0 by how much it is broken (1.0 for a missing value)."""
        if value is None or not math.isfinite(value):
            return 1.0
        return self.min - value if self.min is not None else value - self.max  # type: ignore[operator]

    def text(self) -> str:
        return f"{self.metric} >= {self.min:g}" if self.min is not None else f"{self.metric} <= {self.max:g}"
