"""The Pareto front by hand."""

from __future__ import annotations

import math

import pytest

from sweep.report import pareto_front
from sweep.report.pareto import better


def test_pareto_single_point_is_the_front() -> None:
    assert pareto_front([[0.3, 7.0]], ["max", "min"]) == [0]


def test_pareto_empty_input_has_empty_front() -> None:
    assert pareto_front([], ["max"]) == []


def test_pareto_duplicates_are_all_on_the_front() -> None:
    # Equal points do not dominate each other (as in Optuna's best_trials).
    assert pareto_front([[1.0, 1.0], [1.0, 1.0], [0.5, 0.5]], ["max", "max"]) == [0, 1]


def test_pareto_tie_on_one_objective_is_decided_by_the_other() -> None:
    assert pareto_front([[1.0, 2.0], [1.0, 3.0]], ["max", "max"]) == [1]
    assert pareto_front([[1.0, 2.0], [1.0, 3.0]], ["max", "min"]) == [0]


def test_pareto_mixed_directions() -> None:
    # max the first, min the second: (0.9, 0.1) and (0.8, 0.05) trade off; the rest are dominated.
    points = [[0.9, 0.1], [0.8, 0.05], [0.85, 0.2], [0.8, 0.06], [0.7, 0.05]]
    assert pareto_front(points, ["max", "min"]) == [0, 1]
    # Read the other way round: (0.7, 0.05) has the lowest first value, (0.85, 0.2) the highest
    # second, and (0.8, 0.06) trades between them; (0.8, 0.05) is beaten by (0.8, 0.06) on the second.
    assert pareto_front(points, ["min", "max"]) == [2, 3, 4]


def test_pareto_one_objective_keeps_every_best() -> None:
    assert pareto_front([[3.0], [5.0], [5.0], [1.0]], ["max"]) == [1, 2]
    assert pareto_front([[3.0], [5.0], [5.0], [1.0]], ["min"]) == [3]


def test_pareto_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="'max' or 'min'"):
        pareto_front([[1.0]], ["maximize"])
    with pytest.raises(ValueError, match="not finite"):
        pareto_front([[1.0, math.nan]], ["max", "max"])
    with pytest.raises(ValueError, match="2 values for 1 directions"):
        pareto_front([[1.0, 2.0]], ["max"])


def test_better_follows_the_direction() -> None:
    assert better(2.0, 1.0, "max") and not better(1.0, 2.0, "max") and not better(1.0, 1.0, "max")
    assert better(1.0, 2.0, "min") and not better(2.0, 1.0, "min")
