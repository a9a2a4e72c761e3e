"""Racing: a configuration gets more seeds only while its interval still reaches the front."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from sweep.search.racing import Estimate, needs_more_seeds

MAX2 = ["max", "max"]


def test_half_widths_are_t_intervals_and_unknown_with_one_seed():
    e = Estimate([0.8], [0.02], 4)
    assert e.half_widths() == [pytest.approx(stats.t.ppf(0.975, 3) * 0.02 / 2)]
    assert Estimate([0.8], [math.nan], 1).half_widths() == [math.inf]


def test_bounds_take_each_objectives_better_or_worse_end():
    e = Estimate([0.8, 0.1], [0.0, 0.0], 3)  # no spread: the bounds are the means
    assert e.bound(["max", "min"], optimistic=True) == [0.8, 0.1]
    wide = Estimate([0.8, 0.1], [0.01, 0.01], 3)
    hi = wide.bound(["max", "min"], optimistic=True)
    lo = wide.bound(["max", "min"], optimistic=False)
    assert hi[0] > 0.8 > lo[0] and hi[1] < 0.1 < lo[1]  # min: the better end is the lower one


def test_a_clearly_dominated_configuration_stops():
    best = Estimate([0.90, 0.30], [0.005, 0.005], 3)
    poor = Estimate([0.50, 0.05], [0.005, 0.005], 3)
    assert not needs_more_seeds(poor, [best], MAX2)


def test_a_configuration_whose_interval_overlaps_the_front_gets_more():
    best = Estimate([0.90, 0.30], [0.02, 0.02], 2)
    close = Estimate([0.89, 0.29], [0.02, 0.02], 2)
    assert needs_more_seeds(close, [best], MAX2)
    assert needs_more_seeds(best, [close], MAX2)  # front members race on to max


def test_a_trade_off_is_never_dominated():
    a = Estimate([0.90, 0.10], [0.001, 0.001], 5)
    b = Estimate([0.80, 0.30], [0.001, 0.001], 5)
    assert needs_more_seeds(a, [b], MAX2) and needs_more_seeds(b, [a], MAX2)


def test_a_configuration_with_a_broken_objective_stops():
    assert not needs_more_seeds(Estimate([math.nan, 0.1], [0.0, 0.0], 3), [], MAX2)
