"""Paired statistics for the compare mode: pure functions on NumPy arrays.

* ``mean_std``: the per-arm summary over seeds (sample std, ddof=1).
* ``paired_ci``: the mean of paired differences over seeds with a Student-t
  confidence interval (seed s of every arm shares data order and the first
  classifier's initialisation, so differences are paired).
* ``mcnemar_exact``: the exact (binomial) McNemar test on paired per-example
  correctness; compare applies it per seed, as a descriptive figure only.

The verdict written from these numbers is ``sweep.compare.verdict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["MeanStd", "PairedCI", "McNemar", "mean_std", "paired_ci", "mcnemar_exact"]


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float  # sample standard deviation over seeds; NaN with one seed
    n: int


@dataclass(frozen=True)
class PairedCI:
    mean: float  # mean of (arm - baseline) over seeds
    low: float
    high: float  # the confidence interval; NaN with fewer than two seeds or differences that do not vary
    n: int
    confidence: float


@dataclass(frozen=True)
class McNemar:
    only_arm: int  # examples the arm gets right and the baseline wrong
    only_baseline: int  # the other way round
    p_value: float  # exact two-sided binomial test of only_arm vs only_baseline at 1/2


def mean_std(values: np.ndarray | list[float]) -> MeanStd:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return MeanStd(math.nan, math.nan, 0)
    return MeanStd(float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan, int(x.size))


def paired_ci(arm: np.ndarray | list[float], baseline: np.ndarray | list[float], confidence: float = 0.95) -> PairedCI:
    """Mean paired difference ``arm - baseline`` with a t interval over seeds."""
    a, b = np.asarray(arm, dtype=float), np.asarray(baseline, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same shape, got {a.shape} and {b.shape}")
    d = a - b
    d = d[np.isfinite(d)]
    n = int(d.size)
    if n == 0:
        return PairedCI(math.nan, math.nan, math.nan, 0, confidence)
    mean = float(d.mean())
    if n < 2 or float(d.std(ddof=1)) == 0.0:
        # One seed, or differences that do not vary (identical runs, or too few test images
        # to differ): a t interval would be [mean, mean], certainty the data do not give.
        return PairedCI(mean, math.nan, math.nan, n, confidence)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * d.std(ddof=1) / math.sqrt(n))
    return PairedCI(mean, mean - half, mean + half, n, confidence)


def mcnemar_exact(arm_correct: np.ndarray, baseline_correct: np.ndarray) -> McNemar:
    """Exact McNemar test on paired bool correctness arrays of the same shape.

    Only discordant pairs carry information: under H0 (same accuracy) an example
    one of the two gets right and the other wrong is equally likely to favour
    either, so ``only_arm ~ Binomial(only_arm + only_baseline, 1/2)``. Pooling over
    seeds would treat (seed, example) pairs as independent, which is anti-conservative
    (the same test image recurs); compare calls it per seed, descriptively, and
    tests on the paired t interval over seeds.
    """
    a, b = np.asarray(arm_correct, dtype=bool), np.asarray(baseline_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired correctness needs the same shape, got {a.shape} and {b.shape}")
    only_arm = int(np.sum(a & ~b))
    only_base = int(np.sum(~a & b))
    n = only_arm + only_base
    p = 1.0 if n == 0 else float(stats.binomtest(only_arm, n, 0.5, alternative="two-sided").pvalue)
    return McNemar(only_arm, only_base, p)
