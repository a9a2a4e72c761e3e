"""What a results folder says: the trials, the front, the baselines. Reads; writes nothing.

``build_report(results_dir)`` is the pure read path that ``write_report`` and the
compare planner share. Only complete search trials with finite objective values
can be on the front; each is compared with the complete baseline that saw the
data the same way (``sweep.baselines.pairing_of``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sweep.plan import SweepPlan
from sweep.report.pareto import better, pareto_front
from sweep.report.reading import read_trials
from sweep.report.records import TrialRecord
from sweep.report.status import STATUSES, Status
from sweep.spaces import SearchSpace

__all__ = ["Report", "build_report", "directions", "rankable", "beats"]


@dataclass
class Report:
    """What a results folder holds and what ``write_report`` wrote from it."""

    results_dir: Path
    plan: SweepPlan
    space: SearchSpace
    trials: list[TrialRecord]  # every Tune trial, in the order Tune created them
    pareto: list[TrialRecord]  # the front, best first on the first objective
    baselines: list[TrialRecord]
    counts: dict[Status, int]  # search trials by status (every status, zeros included)
    baseline_of: dict[str, str]  # rankable search trial's id -> the baseline trial it is compared with
    files: dict[str, Path] = field(default_factory=dict)  # file name -> path written
    notes: list[str] = field(default_factory=list)  # what the folder lacked, said in summary.md

    @property
    def objectives(self) -> list[str]:
        return self.space.metric_names()

    @property
    def directions(self) -> list[str]:
        return directions(self.space)

    @property
    def search_trials(self) -> list[TrialRecord]:
        return [t for t in self.trials if not t.is_baseline]

    def baseline_for(self, trial: TrialRecord) -> TrialRecord | None:
        wanted = self.baseline_of.get(trial.trial_id)
        return next((b for b in self.baselines if b.trial_id == wanted), None)


def directions(space: SearchSpace) -> list[str]:
    """``"max"``/``"min"`` per objective, in the space's order."""
    return [o.direction for o in space.objectives]


def rankable(trial: TrialRecord, objectives: Sequence[str]) -> bool:
    """A complete search trial with finite objectives whose adversary was shown to work."""
    return (
        not trial.is_baseline
        and trial.status == "complete"
        and not trial.inert_adversary
        and trial.objective_values(objectives) is not None
    )


def beats(trial: TrialRecord, baseline: TrialRecord, objectives: Sequence[str], directions: Sequence[str]) -> bool:
    """Strictly better than the baseline on every objective."""
    mine, theirs = trial.objective_values(objectives), baseline.objective_values(objectives)
    if mine is None or theirs is None:
        return False
    return all(better(a, b, d) for a, b, d in zip(mine, theirs, directions))


def _nan_reason(trial: TrialRecord, objectives: Sequence[str]) -> str:
    bad = [m for m in objectives if not math.isfinite(trial.value(m))]
    missing = [m for m in bad if trial.metrics.get(m) is None]
    if missing:
        return f"objective {', '.join(missing)} was never reported"
    return f"objective {', '.join(bad)} is not a finite number ({', '.join(str(trial.metrics[m]) for m in bad)})"


def _with_nan_reasons(trials: list[TrialRecord], objectives: Sequence[str]) -> list[TrialRecord]:
    """Complete search trials whose objectives are not finite say why they are not ranked."""
    out = []
    for t in trials:
        if not t.is_baseline and t.status == "complete" and t.objective_values(objectives) is None and not t.reason:
            t = replace(t, reason=_nan_reason(t, objectives))
        out.append(t)
    return out


def _match_baselines(
    trials: list[TrialRecord], baselines: list[TrialRecord], objectives: Sequence[str]
) -> dict[str, str]:
    """Each trial's baseline: the complete one whose batches were shared the same way.

    With one baseline it is everyone's (also if a trial's pairing differs); a
    stopped-early or failed baseline is no yardstick.
    """
    usable = [b for b in baselines if b.status == "complete" and b.objective_values(objectives) is not None]
    matched: dict[str, str] = {}
    for trial in trials:
        same = [b for b in usable if b.effective_pairing == trial.effective_pairing]
        if same:
            matched[trial.trial_id] = same[0].trial_id
        elif len(usable) == 1 and len(baselines) == 1:
            matched[trial.trial_id] = usable[0].trial_id
    return matched


def build_report(results_dir: str | Path) -> Report:
    """Read a results folder into a Report (``files`` empty): nothing is written."""
    results_dir = Path(results_dir)
    plan, space, trials, notes = read_trials(results_dir)
    objectives, dirs = space.metric_names(), directions(space)
    trials = _with_nan_reasons(trials, objectives)
    search = [t for t in trials if not t.is_baseline]
    baselines = [t for t in trials if t.is_baseline]
    candidates = [t for t in search if rankable(t, objectives)]
    points = [t.objective_values(objectives) or [] for t in candidates]  # all finite: they are rankable
    front_idx = pareto_front(points, dirs) if candidates else []
    primary = 1.0 if dirs[0] == "max" else -1.0
    front = sorted((candidates[i] for i in front_idx), key=lambda t: -primary * t.value(objectives[0]))
    counts: dict[Status, int] = {s: sum(t.status == s for t in search) for s in STATUSES}
    return Report(
        results_dir=results_dir,
        plan=plan,
        space=space,
        trials=trials,
        pareto=front,
        baselines=baselines,
        counts=counts,
        baseline_of=_match_baselines(candidates, baselines, objectives),
        notes=notes,
    )
