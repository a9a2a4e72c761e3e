"""Which configurations are *feasible*: the constraints Optuna's samplers and the front honour.

A configuration is infeasible when its discriminator stayed at chance (an adversarial
objective whose mean ``disc_acc`` over its seeds is below ``INERT_DISC_ACC``: the
adversarial term was noise, so it says nothing about the method) or when its means break
one of the space's ``constraints``. The searcher stores the violations as the Optuna
trial's user attribute ``constraints`` before it tells the trial (Optuna's convention:
a value <= 0 is satisfied); ``read_constraints`` is the samplers' ``constraints_func``
(TPE, NSGA-II and GP steer away from infeasible trials), and Optuna records them on the
trial, so the live study, optuna-dashboard and ``pareto.csv`` show the same front.

Pure; no Ray.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from sweep.spaces.replication import INERT_DISC_ACC, Constraint
from trainable.config import TrialConfig

__all__ = ["CONSTRAINTS_ATTR", "Feasibility", "feasible", "objective_of", "read_constraints"]

CONSTRAINTS_ATTR = "constraints"  # the user attribute the searcher sets and constraints_func reads


def read_constraints(trial: optuna.trial.FrozenTrial) -> Sequence[float]:
    """``constraints_func`` of every sampler: what the searcher stored (a trial without it is feasible)."""
    return list(trial.user_attrs.get(CONSTRAINTS_ATTR, [0.0]))


@dataclass(frozen=True)
class Feasibility:
    """The built-in inert-adversary rule plus the space's own constraints."""

    constraints: tuple[Constraint, ...] = ()

    @property
    def watched(self) -> list[str]:
        """The metrics the rules read (kept per replicate by the searcher)."""
        return list(dict.fromkeys(["disc_acc", *(c.metric for c in self.constraints)]))

    def names(self) -> list[str]:
        """One label per violation value, in order (for reports)."""
        return [f"disc_acc >= {INERT_DISC_ACC:g} (an adversary that learned)", *(c.text() for c in self.constraints)]

    def violations(self, mean_of: Callable[[str], float | None], objective: str) -> list[float]:
        """Each rule's violation (<= 0 satisfied) for a configuration with these means."""
        if objective == "independent":
            inert = -1.0  # no discriminator: nothing to be inert
        else:
            disc = mean_of("disc_acc")
            inert = 1.0 if disc is None else INERT_DISC_ACC - disc
        return [inert, *(c.violation(mean_of(c.metric)) for c in self.constraints)]


def feasible(violations: Sequence[float]) -> bool:
    return all(v <= 0 for v in violations)


def objective_of(params: Mapping[str, Any], fixed: Mapping[str, Any]) -> str:
    """The training objective of a configuration: searched, else fixed, else TrialConfig's default."""
    return str(params.get("objective", fixed.get("objective", TrialConfig.objective)))
