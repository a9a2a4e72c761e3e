"""A group-sequential test of a mean paired difference: boundaries by alpha spending, and the t rule.

Pure functions on numbers; seeds are the unit of replication and the differences are
paired (arm - baseline, seed by seed), as everywhere in ``sweep.stats``.

* ``alpha_spent``: Lan and DeMets' spending functions, the two-sided alpha spent by
  information fraction t (seeds so far / the study's maximum). ``obrien-fleming``: each
  side spends 2 - 2 Phi(z_{1 - alpha/4} / sqrt(t)) of its alpha / 2 (the convention of
  gsDesign's sfLDOF, rpact's asOF and ldbounds: two looks at t = 0.5, 1 give 2.963, 1.969);
  ``pocock``: each side spends (alpha / 2) ln(1 + (e - 1) t).
* ``z_boundaries``: the two-sided critical |z| at each look, so that under H0 the
  probability of first crossing at look k is alpha_spent(t_k) - alpha_spent(t_{k-1}).
  Computed by the recursive numerical integration of Armitage, McPherson and Rowe (1969;
  Jennison and Turnbull 2000, ch. 19): the density of Z_k on the continuation region, on
  a Simpson grid, carried from look to look through the independent increments
  (Z_k | Z_{k-1} = z is normal, mean z sqrt(t_{k-1} / t_k), variance 1 - t_{k-1} / t_k).
* ``look_table``: each look's nominal two-sided level 2 (1 - Phi(z_k)) turned into a paired
  t critical value with n_k - 1 degrees of freedom (the "significance level" small-sample
  rule, Jennison and Turnbull section 3.8): with 8 seeds the z boundary alone would be
  anti-conservative. The same critical value gives the repeated confidence interval
  mean +- t_k sd / sqrt(n_k), which covers the true difference at every look at once
  with probability >= 1 - alpha.
* ``decide``: one look's word for many comparisons at once (vectorised, so that the
  simulations of ``sweep.stats.sequential_simulation`` use the very rule a study uses).
* ``sequential_test`` walks one comparison's differences through the looks;
  ``study_decision`` says at which look a study of several comparisons stops: the first
  at which every comparison is decided.

Several comparisons (a study's arms, each against its baseline) split alpha by
Bonferroni: each runs its own sequential test at alpha / m, so the family-wise error
over the arms and the looks stays <= alpha whatever the correlation through a shared
baseline (Holm's step-down has no simple sequential form).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

__all__ = [
    "SPENDING",
    "DECISIONS",
    "SequentialDesign",
    "Look",
    "LookDecision",
    "StudyDecision",
    "alpha_spent",
    "z_boundaries",
    "look_table",
    "decide",
    "sequential_test",
    "study_decision",
]

SPENDING = ("obrien-fleming", "pocock")
# A look's word: better / worse (the boundary was crossed), equivalent (the repeated CI lies
# inside +-margin), continue (none, more seeds to come), undecided (none at the last look).
DECISIONS = ("better", "worse", "equivalent", "continue", "undecided")
_CONTINUE, _UNDECIDED = 3, 4
_GRID = 801  # Simpson points over a continuation region: boundaries to ~1e-6 (tests compare with scipy's MVN CDF)


@dataclass(frozen=True)
class SequentialDesign:
    """A registered group-sequential design for ``comparisons`` paired comparisons."""

    looks: tuple[int, ...]  # cumulative paired seeds at each look, increasing; the last is the maximum
    margin: float  # the equivalence margin: the registered smallest effect worth detecting (> 0)
    alpha: float = 0.05  # two-sided, family-wise over the comparisons and the looks
    spending: str = "obrien-fleming"
    comparisons: int = 1  # Bonferroni: each comparison's test runs at alpha / comparisons

    def __post_init__(self) -> None:
        looks = list(self.looks)
        if len(looks) < 1 or looks[0] < 2 or any(b <= a for a, b in zip(looks, looks[1:])):
            raise ValueError(f"looks must be increasing seed counts, the first >= 2, got {looks}")
        if self.spending not in SPENDING:
            raise ValueError(f"spending must be one of {', '.join(SPENDING)}, got {self.spending!r}")
        if not (0 < self.alpha < 1 and self.margin > 0 and self.comparisons >= 1):
            raise ValueError(f"need 0 < alpha < 1, margin > 0, comparisons >= 1: {self}")

    @property
    def alpha_each(self) -> float:
        """Each comparison's two-sided alpha (Bonferroni over the comparisons)."""
        return self.alpha / self.comparisons

    @property
    def max_seeds(self) -> int:
        return self.looks[-1]


@dataclass(frozen=True)
class Look:
    """One look's boundary for one comparison."""

    seeds: int  # paired seeds with a difference at this look
    fraction: float  # information fraction: seeds / the design's maximum (1 at the last look)
    alpha_spent: float  # cumulative two-sided alpha spent by this look (one comparison's)
    nominal: float  # the look's own two-sided level: 2 (1 - Phi(z))
    z: float  # critical |z|
    t: float  # critical |t| with seeds - 1 degrees of freedom at the nominal level


@dataclass(frozen=True)
class LookDecision:
    """One comparison at one look: the paired statistics and the word."""

    look: int  # 1-based index into the design's looks
    seeds: int  # paired seeds with a finite difference
    mean: float  # mean difference (fraction)
    low: float  # the repeated confidence interval: mean -+ critical * sd / sqrt(seeds); NaN without one
    high: float
    t: float  # mean / (sd / sqrt(seeds)); NaN without spread
    critical: float  # the look's critical |t| (Look.t)
    decision: str  # one of DECISIONS


@dataclass(frozen=True)
class StudyDecision:
    """Where a study of several comparisons stands after the looks it has reached."""

    looks_reached: int  # how many of the design's looks had all their runs ended
    stopped_at: int | None  # the 1-based look at which every comparison was decided (or the last); None: go on
    comparisons: list[list[LookDecision]]  # per comparison, its decisions look by look, up to its deciding one

    @property
    def final(self) -> list[str]:
        """Each comparison's word: its deciding look's, else its last look's (continue / undecided)."""
        return [c[-1].decision if c else "continue" for c in self.comparisons]


def alpha_spent(t: float, alpha: float, spending: str) -> float:
    """Two-sided alpha spent by information fraction ``t`` in [0, 1] (both sides together)."""
    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    if spending == "obrien-fleming":
        per_side = 2.0 * float(stats.norm.sf(stats.norm.isf(alpha / 4) / math.sqrt(t)))
    elif spending == "pocock":
        per_side = (alpha / 2) * math.log(1 + (math.e - 1) * t)
    else:
        raise ValueError(f"spending must be one of {', '.join(SPENDING)}, got {spending!r}")
    return 2.0 * per_side


def _simpson(c: float) -> tuple[np.ndarray, np.ndarray]:
    """Points and Simpson weights over [-c, c] (an odd number of points)."""
    z = np.linspace(-c, c, _GRID)
    w = np.ones(_GRID)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return z, w * (z[1] - z[0]) / 3.0


def _exit_probability(c: float, density: np.ndarray, z: np.ndarray, r: float, s: float) -> float:
    """P(continue to the last look, then |Z_k| >= c), from the weighted density of Z_{k-1} on grid ``z``."""
    return float(density @ (stats.norm.cdf((-c - r * z) / s) + stats.norm.sf((c - r * z) / s)))


def _next_boundary(target: float, density: np.ndarray, z: np.ndarray, r: float, s: float) -> float:
    """The |z| whose exit probability is ``target`` (the alpha this look spends)."""
    if target <= 0:
        return math.inf
    if _exit_probability(0.0, density, z, r, s) <= target:
        return 0.0
    return float(optimize.brentq(lambda c: _exit_probability(c, density, z, r, s) - target, 0.0, 40.0, xtol=1e-10))


@lru_cache(maxsize=256)
def _boundaries(fractions: tuple[float, ...], alpha: float, spending: str) -> tuple[float, ...]:
    spent = [alpha_spent(t, alpha, spending) for t in fractions]
    first = spent[0]
    out = [float(stats.norm.isf(first / 2)) if first > 0 else math.inf]
    z, w = _simpson(min(out[0], 40.0))
    density = stats.norm.pdf(z) * w  # the weighted density of Z_1 on its continuation region
    for k in range(1, len(fractions)):
        r = math.sqrt(fractions[k - 1] / fractions[k])  # E[Z_k | Z_{k-1} = z] = r z
        s = math.sqrt(1.0 - r * r)  # its sd
        c = _next_boundary(spent[k] - spent[k - 1], density, z, r, s)
        out.append(c)
        if k + 1 < len(fractions):
            new_z, new_w = _simpson(min(c, 40.0))
            kernel = stats.norm.pdf((new_z[:, None] - r * z[None, :]) / s) / s
            density = (kernel @ density) * new_w
            z = new_z
    return tuple(out)


def z_boundaries(fractions: Sequence[float], alpha: float, spending: str = "obrien-fleming") -> list[float]:
    """Two-sided critical |z| per look at information ``fractions`` (increasing, the last <= 1)."""
    t = tuple(float(f) for f in fractions)
    if not t or t[0] <= 0 or any(b <= a for a, b in zip(t, t[1:])) or t[-1] > 1:
        raise ValueError(f"information fractions must increase within (0, 1], got {list(t)}")
    return list(_boundaries(t, float(alpha), spending))


def _fractions(seeds: Sequence[int], maximum: int, final: bool) -> list[float]:
    """seeds / maximum; the final registered look spends all that is left (fraction 1)."""
    out = [min(1.0, n / maximum) for n in seeds]
    if final:
        out[-1] = 1.0
    return out


def look_table(design: SequentialDesign, seeds: Sequence[int] | None = None, *, final: bool = True) -> list[Look]:
    """Each look's boundary for one comparison, at ``seeds`` (default: the registered looks).

    ``seeds`` are the paired seeds a comparison has at its looks so far (fewer than
    registered when runs failed); ``final``: the last of them is the design's last look.
    """
    counts = list(design.looks if seeds is None else seeds)
    fractions = _fractions(counts, design.max_seeds, final)
    zs = z_boundaries(fractions, design.alpha_each, design.spending)
    out = []
    for n, t, z in zip(counts, fractions, zs):
        nominal = 2.0 * float(stats.norm.sf(z))
        critical = float(stats.t.isf(nominal / 2, df=n - 1)) if nominal > 0 else math.inf
        out.append(Look(n, t, alpha_spent(t, design.alpha_each, design.spending), nominal, z, critical))
    return out


def decide(mean: np.ndarray, sd: np.ndarray, n: int, critical: float, margin: float, final: bool) -> np.ndarray:
    """Index into DECISIONS for each comparison at one look (arrays of means and sds of n seeds).

    Better / worse when |mean| / (sd / sqrt(n)) >= critical; else equivalent when the
    repeated CI mean -+ critical * sd / sqrt(n) lies strictly inside (-margin, +margin);
    else continue (undecided at the final look). A zero or NaN sd decides nothing.
    """
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    usable = np.isfinite(mean) & np.isfinite(sd) & (sd > 0) & (n >= 2)
    half = np.where(usable, critical * sd / math.sqrt(max(n, 1)), np.inf)
    crossed = usable & (np.abs(mean) >= half)  # |t| >= critical, without dividing by a zero sd
    inside = usable & ~crossed & (mean - half > -margin) & (mean + half < margin)
    out = np.full(mean.shape, _UNDECIDED if final else _CONTINUE, dtype=np.int8)
    out[inside] = DECISIONS.index("equivalent")
    out[crossed & (mean > 0)] = DECISIONS.index("better")
    out[crossed & (mean < 0)] = DECISIONS.index("worse")
    return out


def _one_look(d: np.ndarray, index: int, critical: float, margin: float, final: bool) -> LookDecision:
    n = int(d.size)
    mean = float(d.mean()) if n else math.nan
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    word = DECISIONS[int(decide(np.array([mean]), np.array([sd]), n, critical, margin, final)[0])]
    if n > 1 and sd > 0 and math.isfinite(critical):
        se = sd / math.sqrt(n)
        return LookDecision(index + 1, n, mean, mean - critical * se, mean + critical * se, mean / se, critical, word)
    return LookDecision(index + 1, n, mean, math.nan, math.nan, math.nan, critical, word)


def sequential_test(differences: Sequence[float], design: SequentialDesign) -> list[LookDecision]:
    """One comparison through the looks its ``differences`` reach; stops at its first decided look.

    ``differences``: per seed in seed order (NaN where a run failed); look k is reached
    when there are at least design.looks[k] of them. A look that adds no finite
    difference spends nothing and says continue (undecided at the last look).
    """
    d = np.asarray(differences, dtype=float)
    out: list[LookDecision] = []
    counts: list[int] = []  # finite seeds at each informative look so far
    for k, planned in enumerate(design.looks):
        if d.size < planned:
            break
        final = k == len(design.looks) - 1
        here = d[:planned][np.isfinite(d[:planned])]
        if here.size < 2 or (counts and here.size <= counts[-1]):
            out.append(_one_look(here, k, math.nan, design.margin, final))
            continue  # no new information: nothing to spend
        counts.append(int(here.size))
        critical = look_table(design, counts, final=final)[-1].t
        out.append(_one_look(here, k, critical, design.margin, final))
        if out[-1].decision not in ("continue", "undecided"):
            break
    return out


def study_decision(differences: Sequence[Sequence[float]], design: SequentialDesign) -> StudyDecision:
    """Every comparison's sequential test; the study stops at the first look where all are decided.

    ``differences``: per comparison, per seed of the looks reached (the caller counts a
    look as reached only when all its runs have ended). The last registered look ends
    the study whatever it says.
    """
    tests = [sequential_test(d, design) for d in differences]
    reached = min((sum(d_len >= n for n in design.looks) for d_len in map(len, differences)), default=0)
    stopped = None
    for k in range(1, reached + 1):
        decided = all(t and t[-1].look <= k and t[-1].decision not in ("continue", "undecided") for t in tests)
        if decided or k == len(design.looks):
            stopped = k
            break
    if stopped is not None:  # a comparison's record ends at the look the study stopped at
        tests = [[d for d in t if d.look <= stopped] for t in tests]
    return StudyDecision(reached, stopped, tests)
