"""Multiplicity and power statistics, on hand-computed cases and by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweep.stats.power import (
    excluded_effects,
    holm,
    minimum_detectable_difference,
    paired_t_p,
    power_paired_t,
    seeds_needed,
)


def test_holm_hand_case() -> None:
    # sorted: 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_holm_caps_at_one_keeps_nan_and_single_value() -> None:
    out = holm([0.6, math.nan, 0.5])
    assert out[0] == pytest.approx(1.0) and out[2] == pytest.approx(1.0) and math.isnan(out[1])
    assert holm([0.02]) == [0.02]
    assert holm([]) == []


def test_paired_t_p_hand_case() -> None:
    # d = [1, 2, 3]: mean 2, sd 1, t = 2 / (1/sqrt 3) = 3.4641, df 2 -> p = 0.07418
    assert paired_t_p([1.0, 2.0, 3.0]) == pytest.approx(0.074180, abs=1e-5)
    assert math.isnan(paired_t_p([1.0]))
    # Differences that do not vary: no t statistic, no p-value (never "p = 0" for a constant gain).
    assert math.isnan(paired_t_p([0.0, 0.0]))
    assert math.isnan(paired_t_p([0.0021, 0.0021, 0.0021]))


def test_power_at_zero_effect_is_alpha() -> None:
    assert power_paired_t(0.0, 1.0, 8) == pytest.approx(0.05, abs=1e-9)


def test_mde_matches_normal_formula_for_many_seeds() -> None:
    # large n: (z_0.975 + z_0.8) * sd / sqrt(n) = 2.8016 * sd / sqrt(n)
    assert minimum_detectable_difference(1.0, 400) == pytest.approx(2.8016 / 20, rel=5e-3)


def test_mde_has_the_stated_power_by_simulation() -> None:
    # An independent check of the noncentral-t solution: simulate paired t-tests.
    from scipy import stats

    sd, n = 0.0015, 3
    mde = minimum_detectable_difference(sd, n)
    rng = np.random.default_rng(0)
    d = rng.normal(mde, sd, size=(40000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / math.sqrt(n))
    rejected = np.abs(t) > stats.t.ppf(0.975, n - 1)
    assert rejected.mean() == pytest.approx(0.8, abs=0.01)
    # issue 10's figure: 3 seeds, paired sd 0.15 pp -> about 0.5 pp
    assert 0.004 < mde < 0.0065


def test_seeds_needed_is_the_first_n_with_enough_power() -> None:
    n = seeds_needed(0.002, 0.0015)
    assert n is not None and n >= 2
    assert power_paired_t(0.002, 0.0015, n) >= 0.8
    assert power_paired_t(0.002, 0.0015, n - 1) < 0.8 or n == 2
    assert seeds_needed(0.0, 1.0) is None
    assert seeds_needed(1e-9, 1.0) is None  # beyond MAX_SEEDS


def test_excluded_effects_words() -> None:
    assert excluded_effects(-0.0043, 0.0033) == ("gains above +0.33 pp and losses beyond -0.43 pp are excluded at 95 %")
    assert "any loss" in excluded_effects(0.001, 0.004)
    assert "any gain" in excluded_effects(-0.004, -0.001)
    assert "nothing" in excluded_effects(math.nan, math.nan)
