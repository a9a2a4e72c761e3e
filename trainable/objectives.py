"""The training objectives: one table that the config, the step and the evaluation read.

A name that is not a row here is refused where settings are validated
(``trainable.config``), and the step and the discriminator's evaluation dispatch on
the row explicitly: a new objective without its code raises instead of training as
another one. docs/design.md, "One training step", describes each objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["OBJECTIVES", "Objective", "ObjectiveSpec", "objective_spec"]

# The static type of an objective's name; the table below must list exactly these
# (tests/trainable/test_objectives.py checks that both agree).
Objective = Literal["independent", "seed", "dice"]


@dataclass(frozen=True)
class ObjectiveSpec:
    """What an objective needs from the rest of the trial."""

    name: str
    pairing: str  # how the two members see each batch unless `pairing` says otherwise: split or shared
    pairings: tuple[str, ...]  # the pairings it can train with
    needs_discriminator: bool  # trains a discriminator D and adds w_adv * A to the loss
    why_pairing: str  # why it needs its pairings, for the error that refuses another one

    def pairings_text(self) -> str:
        """The pairings it can train with, for an error message: 'split' or 'shared'."""
        return " or ".join(repr(p) for p in self.pairings)


_TABLE = (
    # Two classifiers and no D: the baseline, with any pairing (separate: a deep ensemble).
    ObjectiveSpec("independent", "shared", ("split", "shared", "separate"), False, ""),
    # D tells same-class from different-class pairs of two different images: across the
    # two halves of a split batch (the thesis's way, the default), or inside one shared
    # batch that both members see whole (no half-batch handicap against the baseline).
    ObjectiveSpec("seed", "split", ("split", "shared"), True, "draws its pairs from one batch"),
    # D tells (z_1(x), z_2(x)) from (z_1(x), z_2(x')) with x' of the same class.
    ObjectiveSpec("dice", "shared", ("shared",), True, "shows both classifiers the whole batch"),
)
_BY_NAME = {spec.name: spec for spec in _TABLE}
OBJECTIVES: tuple[str, ...] = tuple(_BY_NAME)

if OBJECTIVES != get_args(Objective):  # import-time guard: the Literal and the table are one list
    raise RuntimeError(
        f"trainable.objectives: table {OBJECTIVES} differs from the Objective type {get_args(Objective)}"
    )


def objective_spec(name: str) -> ObjectiveSpec:
    """The row of ``name``; ValueError naming the known ones for anything else."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}") from None
