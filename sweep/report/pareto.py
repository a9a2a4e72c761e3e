"""The Pareto front of points: a pure function, nothing read or written."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["pareto_front", "better"]


def better(value: float, other: float, direction: str) -> bool:
    """``value`` strictly better than ``other`` in ``direction`` (``"max"`` or ``"min"``)."""
    return value > other if direction == "max" else value < other


def pareto_front(values: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """Indices (ascending) of the points no other point dominates.

    ``directions`` holds ``"max"`` or ``"min"`` per objective. A point dominates
    another when it is at least as good on every objective and better on one, so
    equal points do not dominate each other: duplicates are all on the front, as
    in Optuna's ``study.best_trials``.
    """
    for d in directions:
        if d not in ("max", "min"):
            raise ValueError(f"each direction must be 'max' or 'min', but got {d!r}")
    if not directions:
        raise ValueError("at least one direction is required, but got []")
    signed: list[list[float]] = []  # every objective turned into "larger is better"
    for i, point in enumerate(values):
        if len(point) != len(directions):
            raise ValueError(f"point {i} has {len(point)} values for {len(directions)} directions: {list(point)!r}")
        if any(not math.isfinite(v) for v in point):
            raise ValueError(f"point {i} has a value that is not finite: {list(point)!r}")
        signed.append([v if d == "max" else -v for v, d in zip(point, directions)])

    def dominates(a: list[float], b: list[float]) -> bool:
        return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))

    return [i for i, p in enumerate(signed) if not any(dominates(q, p) for j, q in enumerate(signed) if j != i)]
