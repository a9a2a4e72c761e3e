"""A sweep's trials as configurations: each over its seeds, each against its matched baseline by seed.

A configuration is one Optuna trial run as replicates (``config_id`` and ``replicate`` in
each trial's config; seed r = ``seed_0 + r``, the baseline's seed r too). A folder of an
older netsep (one trial, one seed) reads as configurations of one replicate each.

* ``ConfigRecord``: a configuration's replicates, its status (complete only when every
  replicate is: a failed seed is named, never averaged away), its mean and sd over seeds
  of every metric, the constraints it breaks (an inert adversary, the space's own), and
  per objective the **paired difference** from its matched baseline over the seeds both
  ran, with a 95 % t interval and p-value;
* ``claims``: for the configurations compared (the front), Holm's adjustment per
  objective; a configuration *beats the baseline* only where, for every objective, the
  adjusted test rejects and the difference lies on the better side. With one seed there
  is no interval, so nothing is ever claimed.

Pure: records in, records out.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sweep.baselines import BASELINE_ARM, pairing_of
from sweep.report.records import TrialRecord
from sweep.report.status import Status
from sweep.spaces.replication import INERT_DISC_ACC, Constraint
from sweep.stats.paired import MeanStd, mean_std, paired_ci
from sweep.stats.power import holm, paired_t_p
from trainable.config import TrialConfig
from trainable.metric_names import METRICS

__all__ = [
    "ALPHA",
    "config_label",
    "config_number",
    "BaselineGroup",
    "ConfigRecord",
    "PairedDiff",
    "claims",
    "group_baselines",
    "group_configs",
    "pair_with_baselines",
]

ALPHA = 0.05  # family-wise error rate of the claims, per objective (Holm over the configurations compared)
_LABELS = ("seed", "config_id", "replicate", "arm")  # what differs between replicates of one configuration


def _seed(trial: TrialRecord) -> int:
    return int(trial.config.get("seed", TrialConfig.seed))


def _over_seeds(values: Sequence[float]) -> MeanStd:
    """Mean and sd over seeds; NaN when a seed's value is missing (a mean of fewer seeds would hide it)."""
    if not values or not all(math.isfinite(v) for v in values):
        return MeanStd(math.nan, math.nan, len(values))
    return mean_std(values)


def _worst_status(statuses: Sequence[Status]) -> Status:
    for status in ("error", "interrupted", "stopped_early"):
        if status in statuses:
            return status  # type: ignore[return-value]
    return "complete"


@dataclass(frozen=True)
class PairedDiff:
    """One objective of a configuration minus its baseline, paired by seed."""

    mean: float  # over the seeds both ran (NaN with none)
    low: float  # 95 % t interval; NaN with fewer than 2 seeds or differences that do not vary
    high: float
    p: float  # two-sided paired t p-value; NaN when not estimable
    n: int  # seeds paired
    p_holm: float = math.nan  # Holm-adjusted over the configurations compared (the front)


@dataclass(frozen=True)
class BaselineGroup:
    """One matched baseline over its seeds."""

    label: str  # "baseline", or "baseline-split" / "baseline-shared" when a sweep has both
    pairing: str
    replicates: tuple[TrialRecord, ...]

    def values(self, metric: str) -> dict[int, float]:
        """Seed -> the metric of each complete replicate."""
        return {_seed(t): t.value(metric) for t in self.replicates if t.status == "complete"}

    def value(self, metric: str) -> float:
        """The mean over its complete seeds (NaN when none, or when one seed's value is not a number)."""
        return _over_seeds(list(self.values(metric).values())).mean

    @property
    def status(self) -> Status:
        return _worst_status([t.status for t in self.replicates])

    @property
    def trial_id(self) -> str:
        return self.label

    def sd(self, metric: str) -> float:
        """The sample sd over seeds: the noise floor of ``metric`` (NaN with one seed)."""
        return mean_std(list(self.values(metric).values())).std

    @property
    def trial_ids(self) -> list[str]:
        return [t.trial_id for t in self.replicates]


@dataclass(frozen=True)
class ConfigRecord:
    """One configuration of the sweep over its seeds; see the module doc."""

    config_id: str  # "c<N>" for Optuna trial N; an older netsep's trial id for a one-seed trial
    number: int | None  # the Optuna trial number, when known
    params: dict[str, Any]
    config: dict[str, Any]  # its settings, without what differs between replicates
    replicates: tuple[TrialRecord, ...]  # by replicate (seed)
    status: Status
    reason: str
    means: dict[str, float]  # over complete replicates, every METRICS name
    sds: dict[str, float]
    n: int  # complete replicates
    broken: tuple[str, ...] = ()  # the constraints it breaks (named), inert adversary first
    baseline: str | None = None  # the label of its matched baseline
    paired: dict[str, PairedDiff] = field(default_factory=dict)  # objective -> difference from the baseline
    beats_baseline: bool | None = None  # None: not compared (off the front, or no baseline)

    @property
    def trial_id(self) -> str:
        """The configuration's id where a trial's would stand (tables, compare's source)."""
        return self.config_id

    @property
    def inert_adversary(self) -> bool:
        return any(b.startswith("disc_acc") for b in self.broken)

    @property
    def feasible(self) -> bool:
        return not self.broken

    @property
    def effective_pairing(self) -> str:
        return pairing_of(self.config)

    @property
    def seeds(self) -> list[int]:
        return [_seed(t) for t in self.replicates]

    @property
    def epochs(self) -> int:
        return min((t.epochs for t in self.replicates), default=0)

    @property
    def checkpoint(self) -> str:
        return self.replicates[0].checkpoint if self.replicates else ""

    def value(self, metric: str) -> float:
        return self.means.get(metric, math.nan)

    def objective_values(self, metrics: Sequence[str]) -> list[float] | None:
        values = [self.value(m) for m in metrics]
        return values if all(math.isfinite(v) for v in values) else None


def _broken(
    config: Mapping[str, Any], means: Mapping[str, float], constraints: Sequence[Constraint]
) -> tuple[str, ...]:
    out = []
    if config.get("objective", TrialConfig.objective) != "independent":
        disc = means.get("disc_acc", math.nan)
        if not math.isfinite(disc) or disc < INERT_DISC_ACC:
            out.append(f"disc_acc >= {INERT_DISC_ACC:g} (mean {disc:.3f}: an inert adversary)")
    for c in constraints:
        if c.violation(means.get(c.metric)) > 0:
            out.append(f"{c.text()} (mean {means.get(c.metric, math.nan):.4g})")
    return tuple(out)


def config_label(number: Any) -> str | None:
    """How files name a configuration: ``c<N>`` for Optuna trial N (None for a baseline)."""
    return f"c{number}" if isinstance(number, int) and not isinstance(number, bool) else None


def config_number(label: str) -> int | None:
    """The Optuna trial number in a ``c<N>`` label (also a bare N); None for anything else."""
    match = re.fullmatch(r"c?(\d+)", label.strip())
    return int(match.group(1)) if match else None


def _grouped(search: Sequence[TrialRecord]) -> tuple[dict[str, list[TrialRecord]], set[str]]:
    """Trials by configuration label; the labels of orphans (see below) are their trial ids.

    Two sets of params under one number: a trial a killed driver started after its last
    saved state, whose number the resumed search then gave to another configuration. The
    configuration with more complete seeds (the later one on a tie: the reissue) keeps the
    number; the leftover is a row of its own, not a replicate of it. "Later" is by start
    time, not by position: the trials Tune's saved state does not list (the leftovers)
    come last in the folder's order, so on a tie the position picked the leftover.
    """
    by_label: dict[str, list[TrialRecord]] = defaultdict(list)
    for trial in search:
        by_label[config_label(trial.config.get("config_id")) or trial.trial_id].append(trial)
    groups: dict[str, list[TrialRecord]] = {}
    orphans: set[str] = set()
    for label, trials in by_label.items():
        variants: dict[str, list[TrialRecord]] = defaultdict(list)
        for trial in trials:
            variants[repr(sorted(trial.params.items()))].append(trial)
        if len(variants) == 1:
            groups[label] = trials
            continue
        ranked = sorted(
            enumerate(variants.values()), key=lambda iv: (_complete_count(iv[1]), _latest_start(iv[1]), iv[0])
        )
        groups[label] = ranked[-1][1]
        for _, leftover in ranked[:-1]:
            for trial in leftover:
                groups[trial.trial_id] = [trial]
                orphans.add(trial.trial_id)
    return groups, orphans


def _complete_count(trials: Sequence[TrialRecord]) -> int:
    return sum(t.status == "complete" for t in trials)


def _latest_start(trials: Sequence[TrialRecord]) -> float:
    """When the last of ``trials`` started (Unix time); -inf when none is known to have started."""
    return max((t.started for t in trials if t.started is not None), default=-math.inf)


def group_configs(search: Sequence[TrialRecord], constraints: Sequence[Constraint] = ()) -> list[ConfigRecord]:
    """The search trials grouped by ``config_id`` (a trial without one is a configuration of its own), in order."""
    groups, orphans = _grouped(search)
    out = []
    for position, (config_id, trials) in enumerate(groups.items()):
        trials = sorted(trials, key=lambda t: (t.config.get("replicate", 0) or 0, _seed(t)))
        complete = [t for t in trials if t.status == "complete"]
        # A configuration stopped early has no complete seed: its means are those of its
        # partial training (where it was stopped), for the plot; the status keeps it off the front.
        measured = complete or [t for t in trials if t.status == "stopped_early"]
        stats = {m: _over_seeds([t.value(m) for t in measured]) for m in METRICS}
        means = {m: s.mean for m, s in stats.items()}
        status = _worst_status([t.status for t in trials])
        reasons = [f"seed {_seed(t)}: {t.reason}" for t in trials if t.status != "complete" and t.reason]
        config = {k: v for k, v in trials[0].config.items() if k not in _LABELS}
        number = trials[0].config.get("config_id")
        out.append(
            ConfigRecord(
                config_id=config_id,
                # An older netsep's one-seed trial: its position, which is its Optuna trial number.
                number=None if config_id in orphans else number if isinstance(number, int) else position,
                params=dict(trials[0].params),
                config=config,
                replicates=tuple(trials),
                status=status,
                reason="; ".join(reasons),
                means=means,
                sds={m: s.std for m, s in stats.items()},
                n=len(complete),
                broken=_broken(config, means, constraints) if status == "complete" else (),
            )
        )
    return out


def group_baselines(baselines: Sequence[TrialRecord]) -> list[BaselineGroup]:
    """The baseline trials grouped by how they share batches (one group per pairing)."""
    by_pairing: dict[str, list[TrialRecord]] = defaultdict(list)
    for trial in baselines:
        by_pairing[trial.effective_pairing].append(trial)
    several = len(by_pairing) > 1
    return [
        BaselineGroup(f"{BASELINE_ARM}-{p}" if several else BASELINE_ARM, p, tuple(sorted(ts, key=_seed)))
        for p, ts in by_pairing.items()
    ]


def _matched(config: ConfigRecord, groups: Sequence[BaselineGroup]) -> BaselineGroup | None:
    same = [g for g in groups if g.pairing == config.effective_pairing]
    if same:
        return same[0]
    return groups[0] if len(groups) == 1 else None  # one baseline: everyone's yardstick


def pair_with_baselines(
    configs: Sequence[ConfigRecord], groups: Sequence[BaselineGroup], objectives: Sequence[str]
) -> list[ConfigRecord]:
    """Each complete configuration's paired differences from its matched baseline, by seed."""
    out = []
    for config in configs:
        base = _matched(config, groups)
        if base is None or config.status != "complete":
            out.append(config)
            continue
        paired = {}
        for m in objectives:
            theirs = base.values(m)
            mine = {_seed(t): t.value(m) for t in config.replicates if t.status == "complete"}
            seeds = sorted(set(mine) & set(theirs))
            if not seeds:
                continue  # no seed both ran to the end: nothing to pair on this objective
            ci = paired_ci([mine[s] for s in seeds], [theirs[s] for s in seeds])
            p = paired_t_p([mine[s] - theirs[s] for s in seeds])
            paired[m] = PairedDiff(ci.mean, ci.low, ci.high, p, ci.n)
        if len(paired) < len(objectives):
            # A baseline with no complete seed in common (failed, interrupted): not compared,
            # rather than compared over nothing and called "within noise".
            out.append(replace(config, baseline=base.label))
            continue
        out.append(replace(config, baseline=base.label, paired=paired))
    return out


def claims(
    compared: Sequence[ConfigRecord], objectives: Sequence[str], directions: Sequence[str]
) -> list[ConfigRecord]:
    """``compared`` with Holm-adjusted p-values (per objective, over them) and ``beats_baseline`` decided."""
    adjusted: dict[str, list[float]] = {
        m: holm([c.paired[m].p if m in c.paired else math.nan for c in compared]) for m in objectives
    }
    out = []
    for i, config in enumerate(compared):
        if not config.paired:
            out.append(replace(config, beats_baseline=None))
            continue
        paired = {m: replace(d, p_holm=adjusted[m][i]) for m, d in config.paired.items()}
        wins = [
            math.isfinite(paired[m].p_holm)
            and paired[m].p_holm < ALPHA
            and (paired[m].mean > 0 if d == "max" else paired[m].mean < 0)
            for m, d in zip(objectives, directions)
        ]
        out.append(replace(config, paired=paired, beats_baseline=all(wins)))
    return out
