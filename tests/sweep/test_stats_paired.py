"""The compare mode's statistics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweep.compare.verdict import Power, verdict_text
from sweep.stats.paired import PairedCI, mcnemar_exact, mean_std, paired_ci


def test_mean_std_uses_the_sample_std_and_skips_nan():
    s = mean_std([0.90, 0.92, 0.94, math.nan])
    # mean 0.92; deviations -0.02, 0, 0.02 -> sum of squares 8e-4 / (3 - 1) = 4e-4 -> std 0.02
    assert s.mean == pytest.approx(0.92) and s.std == pytest.approx(0.02) and s.n == 3
    one = mean_std([0.5])
    assert one.mean == 0.5 and math.isnan(one.std)


def test_paired_ci_by_hand():
    arm, base = [0.91, 0.93, 0.92], [0.90, 0.90, 0.90]
    ci = paired_ci(arm, base)
    # d = 0.01, 0.03, 0.02: mean 0.02, sd 0.01, se 0.01/sqrt(3); t(0.975, 2) = 4.302653
    half = 4.302653 * 0.01 / math.sqrt(3)
    assert ci.mean == pytest.approx(0.02)
    assert ci.low == pytest.approx(0.02 - half, rel=1e-5) and ci.high == pytest.approx(0.02 + half, rel=1e-5)
    assert ci.n == 3


def test_paired_ci_is_paired_not_two_sample():
    # Large seed-to-seed spread, small varying paired difference: the interval is tight.
    # d = [0.01, 0.03, 0.01, 0.03]: mean 0.02, sd 0.011547, t(0.975, 3) = 3.182446
    # -> half width 3.182446 * 0.011547 / 2 = 0.018374.
    base = np.array([0.70, 0.80, 0.90, 0.60])
    ci = paired_ci(base + np.array([0.01, 0.03, 0.01, 0.03]), base)
    assert ci.mean == pytest.approx(0.02)
    assert ci.low == pytest.approx(0.02 - 0.018374, abs=1e-6) and ci.high == pytest.approx(0.02 + 0.018374, abs=1e-6)
    assert ci.high - ci.low < 0.05  # a two-sample interval over this spread would be about 0.3 wide


def test_a_constant_paired_difference_has_no_interval():
    # Every seed gives +0.01: a t interval would be [0.01, 0.01], a certainty 4 seeds cannot give.
    base = np.array([0.70, 0.80, 0.90, 0.60])
    ci = paired_ci(base + 0.01, base)
    assert ci.mean == pytest.approx(0.01) and ci.n == 4
    assert math.isnan(ci.low) and math.isnan(ci.high)


def test_paired_ci_with_one_seed_has_no_interval():
    ci = paired_ci([0.9], [0.8])
    assert ci.mean == pytest.approx(0.1) and math.isnan(ci.low) and math.isnan(ci.high)


def test_mcnemar_exact_by_hand():
    # 5 examples only the arm gets right, 1 only the baseline: two-sided binomial p
    # = 2 * P(X >= 5 | n=6, 1/2) = 2 * (6 + 1) / 64 = 0.21875
    arm = np.array([1, 1, 1, 1, 1, 0, 1, 0], dtype=bool)
    base = np.array([0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    test = mcnemar_exact(arm, base)
    assert (test.only_arm, test.only_baseline) == (5, 1)
    assert test.p_value == pytest.approx(0.21875)


def test_mcnemar_without_discordant_pairs_is_p_one():
    x = np.array([1, 0, 1], dtype=bool)
    assert mcnemar_exact(x, x).p_value == 1.0


def test_mcnemar_strong_difference_is_significant():
    arm = np.ones(100, dtype=bool)
    base = np.zeros(100, dtype=bool)
    base[:70] = True  # 30 discordant, all for the arm: p = 2 / 2**30
    assert mcnemar_exact(arm, base).p_value == pytest.approx(2 / 2**30)


POWER = Power(sd=0.01, mde=0.02, effect=0.005, seeds_needed=34)


def test_verdict_follows_the_paired_t_and_holm():
    win = verdict_text("front-1", "baseline", PairedCI(0.02, 0.01, 0.03, 3, 0.95), 0.01, 0.01, 1, POWER)
    assert win.startswith("front-1 beats the baseline ensemble by +2.00 pp") and "paired t p = 0.01" in win
    assert "Holm" not in win  # one arm: nothing to correct
    lose = verdict_text("front-1", "baseline", PairedCI(-0.02, -0.03, -0.01, 3, 0.95), 0.01, 0.01, 1, POWER)
    assert "is worse than" in lose and "2.00 pp" in lose
    tie = verdict_text("front-1", "baseline", PairedCI(0.005, -0.01, 0.02, 3, 0.95), 0.4, 0.4, 1, POWER)
    assert tie.startswith("No significant difference") and "+0.50 pp" in tie
    # A clear interval that Holm's correction over 3 arms no longer supports is not called significant.
    mixed = verdict_text("front-1", "baseline", PairedCI(0.01, 0.001, 0.02, 3, 0.95), 0.03, 0.09, 3, POWER)
    assert mixed.startswith("No significant difference") and "Holm-adjusted over 3 arms p = 0.09" in mixed


def test_verdict_says_what_is_excluded_and_the_power():
    text = verdict_text(
        "front-1",
        "baseline",
        PairedCI(0.001, -0.002, 0.003, 3, 0.95),
        0.5,
        0.5,
        1,
        POWER,
        deep=PairedCI(-0.004, -0.006, -0.002, 3, 0.95),
    )
    assert "Gains above +0.30 pp and losses beyond -0.20 pp are excluded at 95 %." in text
    assert "minimum detectable difference at 80 % power is 2.00 pp; detecting +0.50 pp would take 34 seeds" in text
    assert "Against the deep ensemble: -0.40 pp (95% CI [-0.60, -0.20] pp)." in text
