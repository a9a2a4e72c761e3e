"""Which configurations are *feasible*: the constraints Optuna's samplers and the front honour.

A configuration is infeasible when its discriminator stayed at chance (an adversarial
objective whose mean ``disc_acc`` over its seeds is below ``INERT_DISC_ACC``: the
adversarial term was noise, so it says nothing about the method) or when its means break
one of the space's ``constraints``. The searcher sets each rule's violation on the
Optuna trial with ``Trial.set_constraint`` before it tells it (Optuna's convention: a
value <= 0 is satisfied). TPE, NSGA-II and GP read them from the trials and steer away
from infeasible ones, and ``Study.best_trials`` leaves them out, so the live study,
optuna-dashboard and ``pareto.csv`` show the same front.

Pure; no Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sweep.spaces.replication import INERT_DISC_ACC, Constraint
from trainable.config import TrialConfig

__all__ = ["INERT_KEY", "Feasibility", "feasible", "objective_of"]

INERT_KEY = "adversary_learned"  # the inert-adversary rule's name among a trial's constraints


@dataclass(frozen=True)
class Feasibility:
    """The built-in inert-adversary rule plus the space's own constraints."""

    constraints: tuple[Constraint, ...] = ()

    @property
    def watched(self) -> list[str]:
        """The metrics the rules read (kept per replicate by the searcher)."""
        return list(dict.fromkeys(["disc_acc", *(c.metric for c in self.constraints)]))

    def violations(self, mean_of: Callable[[str], float | None], objective: str) -> dict[str, float]:
        """Each rule's name and violation (<= 0 satisfied) for a configuration with these means."""
        if objective == "independent":
            inert = -1.0  # no discriminator: nothing to be inert
        else:
            disc = mean_of("disc_acc")
            inert = 1.0 if disc is None else INERT_DISC_ACC - disc
        return {INERT_KEY: inert, **{c.text(): c.violation(mean_of(c.metric)) for c in self.constraints}}


def feasible(violations: Mapping[str, float]) -> bool:
    return all(v <= 0 for v in violations.values())


def objective_of(params: Mapping[str, Any], fixed: Mapping[str, Any]) -> str:
    """The training objective of a configuration: searched, else fixed, else TrialConfig's default."""
    return str(params.get("objective", fixed.get("objective", TrialConfig.objective)))
