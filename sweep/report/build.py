"""What a results folder says: configurations, the front, the baselines, the noise floor. Reads; writes nothing.

``build_report(results_dir)`` is the pure read path that ``write_report`` and the
compare planner share. The unit of the front is the *configuration* (its mean over
seeds, ``sweep.report.configs``): only a complete, feasible configuration with finite
objectives can be on it. Each front member is compared with the baseline that saw the
data the same way, paired by seed; ``beats_baseline`` is decided over the front with
Holm's adjustment. The noise floor is the baseline's seed sd of every objective.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sweep.plan import SweepPlan, replicates_of
from sweep.report.configs import (
    BaselineGroup,
    ConfigRecord,
    claims,
    group_baselines,
    group_configs,
    pair_with_baselines,
)
from sweep.report.pareto import pareto_front
from sweep.report.reading import read_trials
from sweep.report.records import TrialRecord
from sweep.report.status import STATUSES, Status
from sweep.spaces import SearchSpace
from sweep.spaces.replication import Replicates

__all__ = ["Report", "build_report", "directions", "rankable"]


@dataclass
class Report:
    """What a results folder holds and what ``write_report`` wrote from it."""

    results_dir: Path
    plan: SweepPlan
    space: SearchSpace
    trials: list[TrialRecord]  # every Tune trial, in the order Tune created them
    configs: list[ConfigRecord]  # the search trials as configurations, in the order Optuna proposed them
    pareto: list[ConfigRecord]  # the front, best first on the first objective, with the claims decided
    baselines: list[TrialRecord]  # every baseline trial (one per pairing and seed)
    baseline_groups: list[BaselineGroup]
    counts: dict[Status, int]  # configurations by status (every status, zeros included)
    files: dict[str, Path] = field(default_factory=dict)  # file name -> path written
    notes: list[str] = field(default_factory=list)  # what the folder lacked, said in summary.md

    @property
    def objectives(self) -> list[str]:
        return self.space.metric_names()

    @property
    def directions(self) -> list[str]:
        return directions(self.space)

    @property
    def replicates(self) -> Replicates:
        return replicates_of(self.plan, self.space)

    @property
    def search_trials(self) -> list[TrialRecord]:
        return [t for t in self.trials if not t.is_baseline]

    def baseline_for(self, config: ConfigRecord) -> BaselineGroup | None:
        return next((g for g in self.baseline_groups if g.label == config.baseline), None)

    def noise_floor(self) -> dict[str, float]:
        """Each objective's seed sd from the baselines' replicates (the largest over baselines; NaN with one seed)."""
        out = {}
        for m in self.objectives:
            sds = [g.sd(m) for g in self.baseline_groups if math.isfinite(g.sd(m))]
            out[m] = max(sds) if sds else math.nan
        return out


def directions(space: SearchSpace) -> list[str]:
    """``"max"``/``"min"`` per objective, in the space's order."""
    return [o.direction for o in space.objectives]


def rankable(config: ConfigRecord, objectives: Sequence[str]) -> bool:
    """A complete, feasible configuration (its adversary learned, its constraints kept) with finite means."""
    return config.status == "complete" and config.feasible and config.objective_values(objectives) is not None


def _nan_reason(config: ConfigRecord, objectives: Sequence[str]) -> str:
    bad = [m for m in objectives if not math.isfinite(config.value(m))]
    return f"objective {', '.join(bad)} is not a finite number on every seed (mean over seeds undefined)"


def build_report(results_dir: str | Path) -> Report:
    """Read a results folder into a Report (``files`` empty): nothing is written."""
    results_dir = Path(results_dir)
    plan, space, trials, notes = read_trials(results_dir)
    objectives, dirs = space.metric_names(), directions(space)
    search = [t for t in trials if not t.is_baseline]
    baselines = [t for t in trials if t.is_baseline]
    groups = group_baselines(baselines)
    configs = pair_with_baselines(group_configs(search, space.constraints), groups, objectives)
    configs = [
        replace(c, reason=_nan_reason(c, objectives))
        if c.status == "complete" and c.objective_values(objectives) is None and not c.reason
        else c
        for c in configs
    ]
    candidates = [c for c in configs if rankable(c, objectives)]
    points = [c.objective_values(objectives) or [] for c in candidates]  # all finite: they are rankable
    front_idx = pareto_front(points, dirs) if candidates else []
    primary = 1.0 if dirs[0] == "max" else -1.0
    front = sorted((candidates[i] for i in front_idx), key=lambda c: -primary * c.value(objectives[0]))
    front = claims(front, objectives, dirs)
    decided = {c.config_id: c for c in front}
    configs = [decided.get(c.config_id, c) for c in configs]
    counts: dict[Status, int] = {s: sum(c.status == s for c in configs) for s in STATUSES}
    return Report(
        results_dir=results_dir,
        plan=plan,
        space=space,
        trials=trials,
        configs=configs,
        pareto=front,
        baselines=baselines,
        baseline_groups=groups,
        counts=counts,
        notes=notes,
    )
