"""Racing: more seeds only where a configuration may still be on the front.

With ``replicates: {min, max}`` every configuration first runs ``min`` seeds. Each time
all its seeds so far have completed, ``needs_more_seeds`` asks whether its interval still
reaches the front: is there another configuration whose *pessimistic* point (each
objective's 95 % t interval taken at its worse end) dominates this one's *optimistic*
point (the better end)? If so, no number of further seeds is likely to put it on the
front, so it stops where it is; otherwise it gets one more seed, up to ``max``. Front
members keep getting seeds until ``max``, which is where the claims are made.

The classic racing algorithms (Maron & Moore's Hoeffding races, F-Race) drop candidates
the same way, on an interval rather than a point. Pure arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

__all__ = ["Estimate", "needs_more_seeds"]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A configuration's means over its seeds so far, with each objective's sample sd and the seed count."""

    means: Sequence[float]
    sds: Sequence[float]
    n: int

    def half_widths(self, confidence: float = CONFIDENCE) -> list[float]:
        """Each objective's t-interval half width; infinite with fewer than two seeds (nothing is known)."""
        if self.n < 2:
            return [math.inf] * len(self.means)
        t = float(stats.t.ppf(0.5 + confidence / 2, df=self.n - 1))
        return [t * s / math.sqrt(self.n) if math.isfinite(s) else math.inf for s in self.sds]

    def bound(self, directions: Sequence[str], optimistic: bool) -> list[float]:
        """The interval's better end of each objective (``optimistic``), or its worse end."""
        out = []
        for m, h, d in zip(self.means, self.half_widths(), directions):
            better = 1.0 if d == "max" else -1.0
            out.append(m + (better if optimistic else -better) * h)
        return out


def _dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[str]) -> bool:
    """``a`` at least as good as ``b`` on every objective and better on one."""
    signs = [1.0 if d == "max" else -1.0 for d in directions]
    at_least = all(s * x >= s * y for x, y, s in zip(a, b, signs))
    return at_least and any(s * x > s * y for x, y, s in zip(a, b, signs))


def needs_more_seeds(candidate: Estimate, others: Sequence[Estimate], directions: Sequence[str]) -> bool:
    """True unless some other configuration's worst case beats ``candidate``'s best case on the front's terms."""
    if not all(math.isfinite(m) for m in candidate.means):
        return False  # a configuration with a broken objective is not going to the front
    hope = candidate.bound(directions, optimistic=True)
    for other in others:
        if other is candidate or not all(math.isfinite(m) for m in other.means):
            continue
        if _dominates(other.bound(directions, optimistic=False), hope, directions):
            return False
    return True
