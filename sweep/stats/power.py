"""Statistics a reviewer asks for beyond one interval: multiplicity and power.

Pure functions on numbers; seeds are the unit of replication (a paired design:
seed s of every arm shares data order and the first classifier's initialisation).

* ``paired_t_p``: the two-sided p-value of the paired t-test over seeds.
* ``holm``: Holm's step-down adjustment of several arms' p-values (controls the
  family-wise error rate without assuming independence between arms).
* ``power_paired_t``: the power of that test for a true mean difference, from the
  noncentral t distribution (exact for normal differences, no large-sample formula).
* ``minimum_detectable_difference``: the smallest true difference found with the
  given power; ``seeds_needed``: how many seeds find a chosen difference.
* ``excluded_effects``: what a confidence interval rules out, in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats

__all__ = [
    "paired_t_p",
    "holm",
    "power_paired_t",
    "minimum_detectable_difference",
    "seeds_needed",
    "excluded_effects",
]

MAX_SEEDS = 1000  # seeds_needed gives up above this: no study here runs more


def paired_t_p(differences: Sequence[float]) -> float:
    """Two-sided p-value of H0 "mean difference = 0" over seeds.

    NaN with < 2 finite values, or when the differences do not vary: the t statistic is
    then undefined, and calling a constant difference significant (p = 0) would claim a
    certainty that a handful of identical seeds cannot give.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.nan
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return math.nan
    t = float(d.mean()) / (sd / math.sqrt(d.size))
    return float(2 * stats.t.sf(abs(t), df=d.size - 1))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order; NaN stays NaN and counts for nothing.

    Sort the m finite p-values ascending; the i-th (from 0) is multiplied by m - i,
    then a running maximum keeps the adjusted values monotone, capped at 1.
    """
    finite = [(p, i) for i, p in enumerate(p_values) if math.isfinite(p)]
    finite.sort()
    m = len(finite)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def power_paired_t(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` with ``n`` seeds.

    ``effect`` is the true mean difference and ``sd`` the standard deviation of the
    per-seed differences, in the same unit. Under the alternative the t statistic
    is noncentral t with df = n - 1 and noncentrality effect / (sd / sqrt(n)).
    """
    if n < 2 or not sd > 0:
        return math.nan
    df = n - 1
    critical = float(stats.t.ppf(1 - alpha / 2, df))
    noncentrality = abs(effect) / (sd / math.sqrt(n))
    upper_tail = float(stats.nct.sf(critical, df, noncentrality))
    # The lower tail is negligible for a large noncentrality, where scipy's nct.cdf
    # can return NaN in its far tail: count that as 0.
    lower_tail = float(stats.nct.cdf(-critical, df, noncentrality))
    return upper_tail + (lower_tail if math.isfinite(lower_tail) else 0.0)


def minimum_detectable_difference(sd: float, n: int, power: float = 0.8, alpha: float = 0.05) -> float:
    """The true mean difference the paired t-test finds with probability ``power``.

    Solved exactly on the noncentral t power curve; NaN where it is undefined
    (fewer than 2 seeds, or no spread to scale by).
    """
    if n < 2 or not (math.isfinite(sd) and sd > 0):
        return math.nan
    upper = sd
    while power_paired_t(upper, sd, n, alpha) < power:
        upper *= 2
    return float(optimize.brentq(lambda e: power_paired_t(e, sd, n, alpha) - power, 0.0, upper, xtol=sd * 1e-9))


def seeds_needed(effect: float, sd: float, power: float = 0.8, alpha: float = 0.05) -> int | None:
    """The fewest seeds (>= 2) that find ``effect`` with ``power``; None above MAX_SEEDS."""
    if not (math.isfinite(sd) and sd > 0) or effect == 0:
        return None
    for n in range(2, MAX_SEEDS + 1):
        if power_paired_t(effect, sd, n, alpha) >= power:
            return n
    return None


def excluded_effects(low: float, high: float, scale: float = 100.0, unit: str = "pp", confidence: float = 0.95) -> str:
    """What a two-sided confidence interval [low, high] of a difference rules out.

    ``scale`` turns the difference into ``unit`` (100 for accuracy fractions in pp).
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return "the data exclude nothing yet (no interval: fewer than 2 seeds, or differences that do not vary)"
    level = f"{100 * confidence:.0f} %"
    lo, hi = scale * low, scale * high
    parts = []
    if hi >= 0:
        parts.append(f"gains above {hi:+.2f} {unit}")
    else:
        parts.append(f"any gain (the difference is below {hi:+.2f} {unit})")
    if lo <= 0:
        parts.append(f"losses beyond {lo:+.2f} {unit}")
    else:
        parts.append(f"any loss (the difference is above {lo:+.2f} {unit})")
    return f"{' and '.join(parts)} are excluded at {level}"
