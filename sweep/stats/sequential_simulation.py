"""The operating characteristics of a sequential design, by simulating studies: error rates, power, cost.

Pure and vectorised (NumPy): every simulated study draws normal paired differences
for each comparison, seed by seed, and is judged look by look by ``sweep.stats.sequential.decide``,
the rule a real study uses. 20,000 studies of 16 seeds take well under a second.

Used by the tests (the type-I error over thousands of null studies stays <= alpha),
by ``launch.py study --dry-run`` (the expected number of seeds under the null and under
the registered smallest effect) and by ``scripts/sequential_operating.py`` (the numbers
in docs/protocol.md section 11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sweep.stats.sequential import DECISIONS, SequentialDesign, decide, look_table

__all__ = ["Operating", "simulate", "naive_criticals"]

_DECIDED = tuple(DECISIONS.index(w) for w in ("better", "worse", "equivalent"))


@dataclass(frozen=True)
class Operating:
    """What ``studies`` simulated studies did, at true mean difference ``effect`` and sd ``sd``."""

    studies: int
    effect: float  # the true mean paired difference of every comparison (fraction)
    sd: float  # the true sd of the paired differences (fraction)
    better: float  # fraction of comparisons called better (over studies and comparisons)
    worse: float
    equivalent: float
    undecided: float
    any_rejected: float  # fraction of studies in which some comparison was called better or worse
    expected_seeds: float  # mean seeds per arm when the study stopped
    stopped_at: tuple[float, ...]  # fraction of studies that stopped at each look

    @property
    def rejected(self) -> float:
        """Per comparison: better or worse (the type-I error under effect 0, the power otherwise)."""
        return self.better + self.worse

    @property
    def monte_carlo_se(self) -> float:
        """The Monte-Carlo standard error of ``any_rejected`` (a binomial proportion)."""
        p = self.any_rejected
        return float(np.sqrt(max(p * (1 - p), 1e-12) / self.studies))


def naive_criticals(design: SequentialDesign) -> list[float]:
    """The fixed-sample critical |t| at every look: repeated testing without spending (to show it fails)."""
    return [float(stats.t.isf(design.alpha_each / 2, df=n - 1)) for n in design.looks]


def simulate(
    design: SequentialDesign,
    effect: float,
    sd: float,
    studies: int,
    rng: np.random.Generator,
    criticals: Sequence[float] | None = None,
) -> Operating:
    """Simulate ``studies`` studies of ``design.comparisons`` comparisons each (independent ones).

    ``criticals`` replaces the design's critical |t| per look (``naive_criticals``).
    Comparisons in a real study share their baseline, so they are positively
    correlated; independent ones stop later (the slowest of m decides the study), so
    the expected cost here is, if anything, pessimistic.
    """
    m, looks = design.comparisons, design.looks
    critical = list(criticals) if criticals is not None else [look.t for look in look_table(design)]
    d = rng.normal(effect, sd, size=(studies, m, looks[-1]))
    # Running sums give every look's mean and sd without copying prefixes.
    s1, s2 = np.cumsum(d, axis=2), np.cumsum(d * d, axis=2)
    word = np.full((studies, m), -1, dtype=np.int8)  # -1: not decided yet
    at = np.full((studies, m), len(looks) - 1, dtype=np.int64)  # the look (0-based) that decided
    for k, n in enumerate(looks):
        mean = s1[:, :, n - 1] / n
        var = np.maximum(s2[:, :, n - 1] - n * mean * mean, 0.0) / (n - 1)
        final = k == len(looks) - 1
        codes = decide(mean, np.sqrt(var), n, critical[k], design.margin, final)
        new = (word < 0) & (np.isin(codes, _DECIDED) | final)
        word[new], at[new] = codes[new], k
    stop = at.max(axis=1)  # the study stops when its slowest comparison is decided
    rate = {w: float(np.mean(word == DECISIONS.index(w))) for w in ("better", "worse", "equivalent", "undecided")}
    rejected = np.isin(word, _DECIDED[:2]).any(axis=1)
    return Operating(
        studies=studies,
        effect=effect,
        sd=sd,
        better=rate["better"],
        worse=rate["worse"],
        equivalent=rate["equivalent"],
        undecided=rate["undecided"],
        any_rejected=float(rejected.mean()),
        expected_seeds=float(np.mean(np.asarray(looks)[stop])),
        stopped_at=tuple(float(np.mean(stop == k)) for k in range(len(looks))),
    )
