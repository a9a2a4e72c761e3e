"""Do the fixed settings, with any value the space can sample, give valid trial configs?

A sweep should not find a bad combination one failed trial at a time, so the space
check builds trial configs from the fixed settings and the *corners* of the space:
each choice of a categorical, each bound of a range (and an int's second value, so
a parity rule sees an odd and an even one). Trying every combination of corners
grows as the product of the params' sizes (two params with 3,000 choices each: 9
million configs, minutes of validation for one file), so the check is bounded instead:

1. each param at each of its corners, the other params at their first one (linear
   in the number of choices), which finds every single-key problem;
2. for each of TrialConfig's cross-key rules (``TrialConfig.rule_key_groups``), the
   combinations of the values that passed step 1 for the params that rule reads
   (and, for a conditional one, its absence), at most ``MAX_COMBOS_PER_RULE``.

A rule reads only its own keys, so step 2 finds what the full product would. Each
problem is shown with the smallest set of sampled values that still causes it
(a dropped param keeps TrialConfig's default): a bad fixed value reads as
``fixed.key``, a bad choice as ``params.key.choices[i]``.
"""

from __future__ import annotations

import itertools
from typing import Any

from sweep.spaces.model import (
    CategoricalParam,
    Choice,
    IntParam,
    Param,
    condition_holds,
)
from sweep.spaces.report import Report
from trainable.config import ConfigError, TrialConfig

__all__ = ["MAX_COMBOS_PER_RULE", "check_corners", "corner_values"]

# Combinations tried per cross-key rule. The rules read keys with few valid values
# (objective, pairing: 3 each) and at most one wide one (batch_size), so a real space
# stays far below this; it bounds a hostile one to about a second.
MAX_COMBOS_PER_RULE = 20_000


def corner_values(param: Param) -> list[Choice]:
    """The values that TrialConfig's rules can tell apart: each choice, each bound."""
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    if isinstance(param, IntParam):
        second = [param.low + param.step] if not param.log and param.low + param.step < param.high else []
        return [param.low, *second, param.high]
    return [param.low, param.high]


def check_corners(base: dict[str, Any], params: dict[str, Param], report: Report) -> None:
    """Report each TrialConfig problem that ``base`` plus some corner of ``params`` hits.

    Every config tried is one a trial could get: each param holds one of its corner
    values (the first, unless it is the one varied), and a param whose ``when`` does
    not hold is left out, as ``SearchSpace.sample`` leaves it out.
    """
    checker = _Checker(base, params, report)
    first = {name: corner_values(param)[0] for name, param in params.items()}
    reference = checker.check(first)  # problems every combo shares are not a value's fault
    passed: dict[str, list[Choice]] = {}
    for name, param in params.items():
        activate = _activation(params, name)
        passed[name] = [
            v for v in corner_values(param) if not checker.check({**first, **activate, name: v}) - reference
        ]
        if report.full:
            return
    for keys in TrialConfig.rule_key_groups():
        names = [name for name in params if name in keys]
        if len(names) < 2:  # one param against fixed settings and defaults: step 1 tried it
            continue
        # A conditional param may also be left out (keeping its default) while the others vary.
        options = [passed[n] + ([_OFF] if _deactivation(params, n) is not None else []) for n in names]
        for values in itertools.islice(itertools.product(*options), MAX_COMBOS_PER_RULE):
            combo = dict(first)
            for name, value in zip(names, values):
                combo.update((_deactivation(params, name) or {}) if value is _OFF else _activation(params, name))
            combo.update((name, value) for name, value in zip(names, values) if value is not _OFF)
            checker.check(combo)
            if report.full:
                return


_OFF = object()  # a conditional param whose condition does not hold


def _activation(params: dict[str, Param], name: str) -> dict[str, Any]:
    """Values of earlier params that make ``name``'s ``when`` hold (each condition's first value)."""
    values: dict[str, Any] = {}
    for other, allowed in params[name].when.items():
        values.update(_activation(params, other))
        values[other] = allowed[0]
    return values


def _deactivation(params: dict[str, Param], name: str) -> dict[str, Any] | None:
    """A value of a condition param that switches ``name`` off; None when none does."""
    for other, allowed in params[name].when.items():
        target = params[other]
        for choice in target.choices if isinstance(target, CategoricalParam) else ():
            if not any(choice == a for a in allowed):
                return {other: choice}
    return None


class _Checker:
    """Validates combos (each once) and reports new problems with their smallest witness."""

    def __init__(self, base: dict[str, Any], params: dict[str, Param], report: Report) -> None:
        self.base, self.params, self.report = base, params, report
        self.cache: dict[tuple[tuple[str, str, Any], ...], frozenset[str]] = {}
        self.reported: set[str] = set()

    def problems(self, combo: dict[str, Any]) -> frozenset[str]:
        key = tuple((k, type(v).__name__, v) for k, v in combo.items())
        if key not in self.cache:
            try:
                TrialConfig.from_dict({**self.base, **combo})
                self.cache[key] = frozenset()
            except ConfigError as error:
                self.cache[key] = frozenset(error.problems)
        return self.cache[key]

    def check(self, combo: dict[str, Any]) -> frozenset[str]:
        """The problems of ``combo`` (params whose ``when`` fails left out); reports new ones."""
        kept: dict[str, Any] = {}
        for name, param in self.params.items():  # the params a trial would sample
            if name in combo and condition_holds(param, kept):
                kept[name] = combo[name]
        found = self.problems(kept)
        for problem in sorted(found - self.reported):
            self.reported.add(problem)
            self._report(problem, self._witness(problem, kept))
        return found

    def _witness(self, problem: str, combo: dict[str, Any]) -> dict[str, Any]:
        witness = dict(combo)
        for name in reversed(list(combo)):
            smaller = {k: v for k, v in witness.items() if k != name}
            if problem in self.problems(smaller):
                witness = smaller
        return witness

    def _report(self, problem: str, witness: dict[str, Any]) -> None:
        key, _, rule = problem.partition(": ")
        report, base, params = self.report, self.base, self.params
        if not witness:  # the fixed settings alone break it (the dataset is not under `fixed:`)
            in_fixed = key in base and key != "dataset"
            report.add(f"fixed.{key}" if in_fixed else "fixed", rule if in_fixed else problem)
        elif list(witness) == [key]:
            param, value = params[key], witness[key]
            if isinstance(param, CategoricalParam):
                index = next(i for i, choice in enumerate(param.choices) if choice == value)
                report.add(f"params.{key}.choices[{index}]", rule)
            else:
                bound = "low" if value == param.low else "high" if value == param.high else None
                where = f"params.{key}.{bound}" if bound else f"params.{key}"
                report.add(where, rule if bound else f"{rule} (a value the range includes)")
        else:
            sampled = ", ".join(f"{k}={v!r}" for k, v in witness.items())
            if key in params:
                report.add(f"params.{key}", f"{rule} (when sampled with {sampled})")
            elif key in base:
                report.add(f"fixed.{key}", f"{rule} (when sampled with {sampled})")
            else:
                report.add(f"params.{next(iter(witness))}", f"{problem} (when sampled with {sampled})")
