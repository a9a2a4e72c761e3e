"""Equivalence (TOST), simultaneous intervals and the verdict words, on hand-computed cases.

Every case has n = 4 seeds, so df = 3, where Student's t CDF has a closed form:

    F3(t) = 1/2 + (1/pi) * ( t / (sqrt(3) * (1 + t^2 / 3)) + atan(t / sqrt(3)) )

The expected p-values below come from that formula (``_f3``), not from scipy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweep.stats.equivalence import (
    judge_arms,
    simultaneous_ci,
    simultaneous_confidence,
    tost_paired,
    verdict_word,
)
from sweep.stats.paired import paired_ci

DELTA = 0.0025  # 0.25 pp, fmnist_dose's registered smallest effect


def _f3(t: float) -> float:
    """Student's t CDF with 3 degrees of freedom, in closed form."""
    return 0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi


# d = [0.001, 0.002, 0.0, 0.001]: mean 0.001; deviations 0, +0.001, -0.001, 0, so
# sd = sqrt(2e-6 / 3) = 8.165e-4 and se = sd / sqrt(4) = 4.0825e-4.
#   t_lower = (0.001 + 0.0025) / 4.0825e-4 = +8.5732  -> p_lower = 1 - F3(8.5732) = 0.001668
#   t_upper = (0.001 - 0.0025) / 4.0825e-4 = -3.6742  -> p_upper = F3(-3.6742)    = 0.017448
#   p_TOST = max = 0.017448 < 0.05: equivalent within ±0.25 pp.
#   The usual test: t = 0.001 / 4.0825e-4 = 2.4495, two-sided p = 2 (1 - F3(2.4495)) = 0.0917: not better.
EQUIVALENT = [0.001, 0.002, 0.0, 0.001]
# d = [0.004, 0.005, 0.003, 0.004]: mean 0.004, the same sd and se. t = 9.7980, p = 0.00226: better.
# TOST: t_upper = (0.004 - 0.0025) / se = +3.6742, p_upper = F3(3.6742) = 0.9826: not equivalent.
BETTER = [0.004, 0.005, 0.003, 0.004]
WORSE = [-x for x in BETTER]  # the mirror image: t = -9.7980, p = 0.00226, worse
# d = [0.003, -0.002, 0.004, -0.001]: mean 0.001; deviations +0.002, -0.003, +0.003, -0.002, so
# sd = sqrt(26e-6 / 3) = 2.9439e-3, se = 1.4720e-3. t = 0.6794, p = 0.546 (no difference found);
# t_upper = (0.001 - 0.0025) / 1.4720e-3 = -1.0190, p_upper = F3(-1.0190) = 0.1916 (not excluded either).
UNDECIDED = [0.003, -0.002, 0.004, -0.001]


def test_tost_by_hand() -> None:
    t = tost_paired(EQUIVALENT, DELTA)
    se = math.sqrt(2e-6 / 3) / 2
    assert (t.n, t.mean, t.delta) == (4, pytest.approx(0.001), DELTA)
    assert t.t_lower == pytest.approx((0.001 + DELTA) / se) and t.t_lower == pytest.approx(8.5732, abs=1e-4)
    assert t.t_upper == pytest.approx((0.001 - DELTA) / se) and t.t_upper == pytest.approx(-3.6742, abs=1e-4)
    assert t.p_lower == pytest.approx(1 - _f3(t.t_lower), rel=1e-9) and t.p_lower == pytest.approx(0.001668, abs=1e-6)
    assert t.p_upper == pytest.approx(_f3(t.t_upper), rel=1e-9) and t.p_upper == pytest.approx(0.017448, abs=1e-6)
    assert t.p == t.p_upper


def test_tost_is_symmetric_and_undefined_without_spread() -> None:
    up, down = tost_paired(EQUIVALENT, DELTA), tost_paired([-x for x in EQUIVALENT], DELTA)
    assert (down.p_lower, down.p_upper, down.p) == pytest.approx((up.p_upper, up.p_lower, up.p))
    # Identical differences, or one seed: no test, not certainty.
    assert math.isnan(tost_paired([0.001] * 4, DELTA).p) and math.isnan(tost_paired([0.001], DELTA).p)
    assert tost_paired([0.001, math.nan, 0.002, 0.0, 0.001], DELTA).p == pytest.approx(tost_paired(EQUIVALENT, DELTA).p)
    with pytest.raises(ValueError, match="margin"):
        tost_paired(EQUIVALENT, 0.0)


@pytest.mark.parametrize(
    ("differences", "word", "p_two_sided", "p_tost"),
    [
        (EQUIVALENT, "equivalent within ±0.25 pp", 2 * (1 - _f3(2.4494897)), _f3(-3.6742346)),
        (BETTER, "better", 2 * (1 - _f3(9.7979590)), _f3(3.6742346)),
        (WORSE, "worse", 2 * (1 - _f3(9.7979590)), _f3(3.6742346)),
        (UNDECIDED, "undecided", 2 * (1 - _f3(0.6793662)), _f3(-1.0190493)),
    ],
)
def test_one_arm_gets_its_word(differences: list[float], word: str, p_two_sided: float, p_tost: float) -> None:
    (j,) = judge_arms([differences], DELTA)
    assert j.verdict == word
    assert j.p == pytest.approx(p_two_sided, rel=1e-6) and j.p_holm == j.p  # one arm: nothing to adjust
    assert j.tost.p == pytest.approx(p_tost, rel=1e-6) and j.p_tost_holm == j.tost.p
    assert j.m == 1 and j.n == 4


def test_verdict_word_rules() -> None:
    # better / worse come first: a significant gain inside the margin is still "better".
    assert verdict_word(0.001, 0.01, 0.01, DELTA) == "better"
    assert verdict_word(-0.001, 0.01, 0.2, DELTA) == "worse"
    assert verdict_word(0.001, 0.2, 0.049, 0.005) == "equivalent within ±0.50 pp"
    assert verdict_word(0.001, 0.05, 0.05, DELTA) == "undecided"  # p < alpha, strictly
    assert verdict_word(math.nan, math.nan, math.nan, DELTA) == "undecided"


def test_holm_over_arms_can_take_equivalence_away() -> None:
    # One arm: TOST p = 0.017448 < 0.05, equivalent. Three arms with the same differences:
    # Holm multiplies the smallest by 3 -> 0.052345, and the running maximum keeps all three there.
    (alone,) = judge_arms([EQUIVALENT], DELTA)
    three = judge_arms([EQUIVALENT] * 3, DELTA)
    assert alone.verdict.startswith("equivalent")
    assert [j.p_tost_holm for j in three] == pytest.approx([3 * _f3(-3.6742346)] * 3, rel=1e-6)
    assert [j.verdict for j in three] == ["undecided"] * 3 and all(j.m == 3 for j in three)
    # Mixed: Holm over (0.00226, 0.0917) two-sided: 2 * 0.00226 = 0.00452, then max(0.00452, 0.0917).
    better, equivalent = judge_arms([BETTER, EQUIVALENT], DELTA)
    assert better.p_holm == pytest.approx(2 * better.p) and equivalent.p_holm == pytest.approx(equivalent.p)
    assert better.verdict == "better"
    # TOST Holm: (0.9826, 0.017448) -> 0.017448 * 2 = 0.0349, then max(0.0349, 0.9826).
    assert equivalent.p_tost_holm == pytest.approx(2 * equivalent.tost.p) and equivalent.verdict.startswith("equiv")
    # An arm without a test does not count in m (as Holm's NaN counts for nothing).
    lone, nothing = judge_arms([EQUIVALENT, [0.001]], DELTA)
    assert lone.m == 1 and lone.verdict.startswith("equivalent") and nothing.verdict == "undecided"


def test_simultaneous_interval_is_bonferronis() -> None:
    d = np.array(EQUIVALENT)
    one = paired_ci(d, np.zeros(4))
    assert simultaneous_confidence(1) == pytest.approx(0.95) and simultaneous_confidence(2) == pytest.approx(0.975)
    same = simultaneous_ci(EQUIVALENT, 1)
    assert (same.low, same.high, same.confidence) == pytest.approx((one.low, one.high, 0.95))
    # m = 2: t_{0.9875, 3} = 4.1765 instead of t_{0.975, 3} = 3.1824; half width 4.1765 * 4.0825e-4 = 1.7051e-3.
    two = simultaneous_ci(EQUIVALENT, 2)
    assert two.high - two.mean == pytest.approx(1.7051e-3, rel=1e-4) and one.high - one.mean == pytest.approx(
        1.2992e-3, rel=1e-4
    )
    widths = [simultaneous_ci(EQUIVALENT, m).high - simultaneous_ci(EQUIVALENT, m).low for m in (1, 2, 3, 6)]
    assert widths == sorted(widths) and len(set(widths)) == 4  # wider with every arm added
    judged = judge_arms([EQUIVALENT, BETTER], DELTA)
    assert all(j.simultaneous.confidence == pytest.approx(0.975) for j in judged)
