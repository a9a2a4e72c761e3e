"""A sequential compare's looks: which runs make up each look, and what the runs so far decide.

A compare's runs are proposed seeds outermost (``ComparePlan.run_configs``), so look k
(``design.looks[k]`` paired seeds per arm) is the first ``arms x looks[k]`` runs. A look
is *reached* when every one of its runs has ended (complete or failed beyond its
retries); the decision is then ``sweep.stats.sequential.study_decision`` on each
registered comparison's per-seed differences in the primary metric.

Pure (no Ray): the runner's gate (``sweep.search.look_gate``) judges Tune's trials with
it while the study runs, and the report (``sweep.study.sequential``) judges the gathered
runs with it afterwards, so both reach the same decision from the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sweep.stats.sequential import SequentialDesign, StudyDecision, study_decision

__all__ = ["LookSchedule"]


@dataclass(frozen=True)
class LookSchedule:
    """The looks of one sequential compare or study."""

    design: SequentialDesign
    seeds: tuple[int, ...]  # the plan's seeds, in the order they run
    arms: tuple[str, ...]  # every arm that runs (the compared ones and the baselines)
    comparisons: tuple[tuple[str, str], ...]  # (arm, its matched baseline): the registered primary comparisons

    def __post_init__(self) -> None:
        if len(self.seeds) != self.design.max_seeds:
            raise ValueError(f"the last look ({self.design.max_seeds}) must be the plan's {len(self.seeds)} seeds")

    def runs_at(self, look: int) -> int:
        """Runs of looks 1..``look`` (1-based): every arm at each of their seeds."""
        return len(self.arms) * self.design.looks[look - 1]

    def reached(self, ended: Collection[tuple[str, int]]) -> int:
        """How many looks have every (arm, seed) run ended."""
        count = 0
        for n in self.design.looks:
            if not all((arm, seed) in ended for seed in self.seeds[:n] for arm in self.arms):
                break
            count += 1
        return count

    def decision(self, values: Mapping[tuple[str, int], float], ended: Collection[tuple[str, int]]) -> StudyDecision:
        """The study's decision from the primary metric of each complete run, ``values[(arm, seed)]``.

        ``ended``: the runs that will not run again (complete or failed); a failed run has
        no value, so its seed is missing from the comparisons it belongs to.
        """
        reached = self.reached(ended)
        seeds = self.seeds[: self.design.looks[reached - 1]] if reached else ()
        differences = [
            [values.get((arm, s), math.nan) - values.get((base, s), math.nan) for s in seeds]
            for arm, base in self.comparisons
        ]
        return study_decision(differences, self.design)

    def planned_runs(self, decision: StudyDecision) -> int:
        """The runs the study needs: up to the look it stopped at, else all of them."""
        return self.runs_at(decision.stopped_at or len(self.design.looks))
