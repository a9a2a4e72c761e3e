"""Paired statistics for the compare mode: pure functions on NumPy arrays.

* ``mean_std``: the per-arm summary over seeds (sample std, ddof=1).
* ``paired_ci``: the mean of paired differences over seeds with a Student-t
  confidence interval (seed s of every arm shares data order and the first
  classifier's initialisation, so differences are paired).
* ``mcnemar_exact``: the exact (binomial) McNemar test on paired per-example
  correctness, pooled over seeds.
* ``verdict``: one paragraph written from those numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["MeanStd", "PairedCI", "McNemar", "mean_std", "paired_ci", "mcnemar_exact", "verdict"]


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float  # sample standard deviation over seeds; NaN with one seed
    n: int


@dataclass(frozen=True)
class PairedCI:
    mean: float  # mean of (arm - baseline) over seeds
    low: float
    high: float  # the confidence interval; NaN with fewer than two seeds
    n: int
    confidence: float


@dataclass(frozen=True)
class McNemar:
    only_arm: int  # examples the arm gets right and the baseline wrong (pooled over seeds)
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
    if n < 2:
        return PairedCI(mean, math.nan, math.nan, n, confidence)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * d.std(ddof=1) / math.sqrt(n))
    return PairedCI(mean, mean - half, mean + half, n, confidence)


def mcnemar_exact(arm_correct: np.ndarray, baseline_correct: np.ndarray) -> McNemar:
    """Exact McNemar test on paired bool correctness arrays of the same shape.

    Only discordant pairs carry information: under H0 (same accuracy) an example
    one of the two gets right and the other wrong is equally likely to favour
    either, so ``only_arm ~ Binomial(only_arm + only_baseline, 1/2)``. Pooling over
    seeds treats (seed, example) pairs as independent, which they are not exactly
    (the same example recurs); the paired t interval over seeds does not assume it.
    """
    a, b = np.asarray(arm_correct, dtype=bool), np.asarray(baseline_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired correctness needs the same shape, got {a.shape} and {b.shape}")
    only_arm = int(np.sum(a & ~b))
    only_base = int(np.sum(~a & b))
    n = only_arm + only_base
    p = 1.0 if n == 0 else float(stats.binomtest(only_arm, n, 0.5, alternative="two-sided").pvalue)
    return McNemar(only_arm, only_base, p)


def _pp(x: float) -> str:
    return f"{100 * x:+.2f} pp"


def verdict(
    arm: str, baseline: str, diff: PairedCI, test: McNemar, diversity_metric: str | None = None,
    diversity_diff: PairedCI | None = None, alpha: float = 0.05,
) -> str:
    """One paragraph on ``arm`` vs ``baseline``, from the numbers alone."""
    if diff.n == 0:
        return f"No paired runs of {arm} and {baseline} finished, so nothing can be said."
    ci = (f"{100 * diff.confidence:.0f}% CI [{100 * diff.low:+.2f}, {100 * diff.high:+.2f}] pp"
          if math.isfinite(diff.low) else "no CI with a single seed")
    evidence = (f"{ci}, exact McNemar p = {test.p_value:.3g} "
                f"({test.only_arm} vs {test.only_baseline} discordant examples)")
    ci_clear = math.isfinite(diff.low) and (diff.low > 0 or diff.high < 0)
    significant = ci_clear and test.p_value < alpha
    if significant and diff.mean > 0:
        head = (f"{arm} beats the {baseline} ensemble by {_pp(diff.mean)} in ensemble accuracy "
                f"over {diff.n} paired seeds ({evidence}).")
    elif significant and diff.mean < 0:
        head = (f"{arm} is worse than the {baseline} ensemble by {_pp(-diff.mean).lstrip('+')} in ensemble accuracy "
                f"over {diff.n} paired seeds ({evidence}).")
    else:
        head = (f"No significant difference in ensemble accuracy between {arm} and the {baseline} ensemble: "
                f"{_pp(diff.mean)} over {diff.n} paired seeds ({evidence}).")
        if not math.isfinite(diff.low):
            head += " More seeds are needed for an interval."
    if diversity_metric and diversity_diff is not None and diversity_diff.n:
        span = (f" (CI [{diversity_diff.low:+.4f}, {diversity_diff.high:+.4f}])"
                if math.isfinite(diversity_diff.low) else "")
        head += f" Its {diversity_metric} differs by {diversity_diff.mean:+.4f}{span}."
    return head
