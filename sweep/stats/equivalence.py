"""Equivalence and simultaneous intervals: what a set of arms can be said to be, in one word each.

Pure functions on numbers; seeds are the unit of replication and the differences
are paired (arm - baseline, seed by seed), as everywhere in ``sweep.stats``.

* ``tost_paired``: the two one-sided paired t-tests (TOST) against a margin
  ``±delta``: H0 "mean <= -delta" and H0 "mean >= +delta"; p_TOST is the larger of
  the two one-sided p-values. A small p_TOST says the true difference lies inside
  the margin: the claim "no effect worth detecting" needs this, not a large p of
  the usual test (docs/protocol.md sections 6 and 8).
* ``simultaneous_ci``: the paired t interval at the Bonferroni level 1 - alpha / m,
  so that all m arms' intervals hold together with probability >= 1 - alpha. Holm's
  step-down decides the tests; its intervals are not simple to state, so the
  intervals are Bonferroni's (slightly wider: an arm Holm calls better can have a
  simultaneous interval that touches 0).
* ``verdict_word`` and ``judge_arms``: per arm "better", "worse", "equivalent within
  ±X pp" or "undecided", from the Holm-adjusted two-sided test and the Holm-adjusted
  TOST over the arms (for a metric where higher is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sweep.stats.paired import PairedCI, paired_ci
from sweep.stats.power import holm, paired_t_p

__all__ = [
    "ALPHA",
    "TOST",
    "ArmJudgement",
    "tost_paired",
    "simultaneous_confidence",
    "simultaneous_ci",
    "verdict_word",
    "judge_arms",
]

ALPHA = 0.05  # the family-wise error rate of every decision over the arms


@dataclass(frozen=True)
class TOST:
    """The two one-sided paired t-tests of ``mean`` against the margin ``±delta``."""

    mean: float  # mean paired difference over seeds
    delta: float  # the margin (the smallest effect worth detecting), > 0
    n: int  # seeds with a finite difference
    t_lower: float  # (mean + delta) / se: large when the mean is well above -delta
    t_upper: float  # (mean - delta) / se: very negative when the mean is well below +delta
    p_lower: float  # one-sided p of H0 "mean <= -delta": P(T >= t_lower)
    p_upper: float  # one-sided p of H0 "mean >= +delta": P(T <= t_upper)
    p: float  # max(p_lower, p_upper): both nulls must be rejected; NaN when no test is possible


def _finite(values: Sequence[float]) -> np.ndarray:
    d = np.asarray(values, dtype=float)
    return d[np.isfinite(d)]


def tost_paired(differences: Sequence[float], delta: float) -> TOST:
    """TOST of the paired ``differences`` (arm - baseline per seed) against ``±delta``.

    With se = sd / sqrt(n) and df = n - 1: t_lower = (mean + delta) / se, p_lower =
    P(T_df >= t_lower); t_upper = (mean - delta) / se, p_upper = P(T_df <= t_upper).
    NaN p with fewer than 2 seeds or differences that do not vary, as ``paired_t_p``:
    a handful of identical differences does not prove a difference lies inside the margin.
    """
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"the equivalence margin must be a number > 0, got {delta!r}")
    d = _finite(differences)
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if n < 2 or sd == 0.0:
        return TOST(mean, delta, n, math.nan, math.nan, math.nan, math.nan, math.nan)
    se = sd / math.sqrt(n)
    t_lower, t_upper = (mean + delta) / se, (mean - delta) / se
    p_lower = float(stats.t.sf(t_lower, df=n - 1))
    p_upper = float(stats.t.cdf(t_upper, df=n - 1))
    return TOST(mean, delta, n, t_lower, t_upper, p_lower, p_upper, max(p_lower, p_upper))


def simultaneous_confidence(m: int, confidence: float = 1 - ALPHA) -> float:
    """Bonferroni's per-arm confidence for ``m`` intervals that hold together at ``confidence``."""
    return 1 - (1 - confidence) / max(1, m)


def simultaneous_ci(differences: Sequence[float], m: int, confidence: float = 1 - ALPHA) -> PairedCI:
    """The paired t interval of ``differences`` at Bonferroni's level for ``m`` arms.

    Its ``confidence`` is the per-arm level 1 - (1 - confidence) / m; the m intervals
    together cover their true differences with probability >= ``confidence``. Equal to
    the one-at-a-time interval for m = 1, wider for m > 1.
    """
    d = np.asarray(differences, dtype=float)
    return paired_ci(d, np.zeros_like(d), simultaneous_confidence(m, confidence))


def verdict_word(mean: float, p_holm: float, p_tost_holm: float, delta: float, alpha: float = ALPHA) -> str:
    """One arm's word, for a metric where higher is better (``delta`` a fraction, shown in pp).

    "better" / "worse": the Holm-adjusted two-sided paired test rejects 0 (p < alpha),
    the sign of the mean says which. Else "equivalent within ±X pp" when the
    Holm-adjusted TOST rejects both one-sided nulls. Else "undecided": the seeds run
    neither find a difference nor exclude one of the margin's size.
    """
    if math.isfinite(p_holm) and p_holm < alpha and math.isfinite(mean) and mean != 0:
        return "better" if mean > 0 else "worse"
    if math.isfinite(p_tost_holm) and p_tost_holm < alpha:
        return f"equivalent within ±{100 * delta:.2f} pp"
    return "undecided"


@dataclass(frozen=True)
class ArmJudgement:
    """Everything the verdict of one arm (against its baseline) rests on."""

    n: int
    mean: float
    p: float  # two-sided paired t
    p_holm: float  # Holm over the arms
    tost: TOST
    p_tost_holm: float  # TOST p, Holm over the arms
    simultaneous: PairedCI  # Bonferroni over the m arms with a test
    m: int  # arms with a test (finite p): Holm's and Bonferroni's m
    verdict: str


def judge_arms(differences: Sequence[Sequence[float]], delta: float, alpha: float = ALPHA) -> list[ArmJudgement]:
    """Per arm (its paired differences over seeds): both tests, Holm over the arms, the word.

    Holm counts only arms with a finite p (``holm``); Bonferroni uses the same m, so
    the simultaneous intervals and the adjusted p-values speak of one family.
    """
    p_values = [paired_t_p(d) for d in differences]
    tosts = [tost_paired(d, delta) for d in differences]
    p_holm, p_tost_holm = holm(p_values), holm([t.p for t in tosts])
    m = max(1, sum(math.isfinite(p) for p in p_values))
    out = []
    for d, p, ph, t, th in zip(differences, p_values, p_holm, tosts, p_tost_holm):
        sim = simultaneous_ci(d, m, 1 - alpha)
        out.append(ArmJudgement(sim.n, sim.mean, p, ph, t, th, sim, m, verdict_word(sim.mean, ph, th, delta, alpha)))
    return out
