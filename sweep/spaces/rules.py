"""The rules that tie a space to TrialConfig: known settings, registry names, ``when``.

pydantic checks each part of a space on its own (``sweep.spaces.model``); these
rules need two parts at once or know about the trial: a fixed setting or a param
must be a ``TrialConfig`` key (not ``dataset``, which has its own top-level key),
a param's type must fit the key's type, dataset / classifier / discriminator names
must be in their registries, and a ``when`` must name an earlier categorical param
and some of its choices.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sweep.spaces.model import CategoricalParam, FloatParam, IntParam, Param, condition_holds
from sweep.spaces.report import Report
from trainable.config import TrialConfig
from trainable.problems import describe, did_you_mean, problem_lines

__all__ = [
    "RESERVED_SETTINGS",
    "SEARCH_RESERVED",
    "check_start_with",
    "reserved_rule",
    "DATASET_KEY_RULE",
    "Registries",
    "check_fixed",
    "check_name",
    "check_param_key",
    "check_param_type",
    "check_when",
    "registries",
]

DATASET_KEY_RULE = (
    "the dataset is set by the top-level `dataset` key (which the command line's --data overrides), not here"
)

# TrialConfig key -> (what it names, the names its registry knows)
Registries = dict[str, tuple[str, list[str]]]


def registries() -> Registries:
    """The registries' names, for the keys that name a dataset, classifier or discriminator.

    Imported here, not at module level: the registries live next to the torch
    models, and only validation needs them.
    """
    from trainable.data import dataset_names
    from trainable.models import classifier_names, discriminator_names

    return {
        "dataset": ("dataset", dataset_names()),
        "classifier": ("classifier", classifier_names()),
        "disc_arch": ("discriminator", discriminator_names()),
    }


def check_name(key: str, value: Any, path: str, known: Registries, report: Report) -> None:
    """A name that its registry does not know; non-strings are left to TrialConfig's types."""
    if key in known and isinstance(value, str):
        kind, names = known[key]
        if value not in names:
            report.add(path, f"unknown {kind} {value!r}{did_you_mean(value, names)} (known: {', '.join(names)})")


def _unknown_setting(key: Any) -> str:
    keys = TrialConfig.field_names()
    return f"unknown trial setting {describe(key)}{did_you_mean(key, keys)} (TrialConfig keys: {', '.join(keys)})"


# Trial settings netsep sets on every trial itself: the labels of baselines, compare arms and
# replicated configurations, and `final_test`, which a sweep must never take (it selects on
# validation; only compare and studies evaluate the test split, docs/protocol.md section 1).
RESERVED_SETTINGS: dict[str, str] = {
    "arm": "it labels baseline and compare runs",
    "config_id": "it numbers a sweep's configurations",
    "replicate": "it numbers a configuration's seeds",
    "final_test": "a sweep selects on the validation split and never evaluates the test split "
    "(only compare and studies do, once, at the end)",
}
# `seed` may be fixed (the first replicate's seed) but not searched: replicate r runs with seed + r.
SEARCH_RESERVED: dict[str, str] = {
    **RESERVED_SETTINGS,
    "seed": "replicate r of every configuration runs with seed + r (fix `seed` to move them all)",
}


def reserved_rule(key: str, reserved: dict[str, str] = RESERVED_SETTINGS) -> str:
    return f"{key!r} is set by netsep itself ({reserved[key]}), not a trial setting a sweep may take"


def check_fixed(raw: dict[Any, Any], known: Registries, report: Report) -> dict[str, Any]:
    """The fixed settings that are TrialConfig keys; their values are checked with the corners."""
    fixed: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"fixed.{key}"
        if key not in TrialConfig.model_fields:
            report.add(path, _unknown_setting(key))
        elif key in RESERVED_SETTINGS:
            report.add(path, reserved_rule(key))
        elif key == "dataset":
            report.add(path, f"{DATASET_KEY_RULE}, got {describe(value)}")
        else:
            check_name(key, value, path, known, report)
            fixed[key] = value
    return fixed


def check_param_key(name: Any, spec: Any, fixed: dict[str, Any], report: Report) -> bool:
    """Is ``params.<name>`` a searchable TrialConfig key with no `name:` of its own?"""
    path = f"params.{name}"
    if name not in TrialConfig.model_fields:
        report.add(path, _unknown_setting(name))
    elif name in SEARCH_RESERVED:
        report.add(path, reserved_rule(name, SEARCH_RESERVED))
    elif name == "dataset":
        report.add(path, f"{DATASET_KEY_RULE}; a sweep searches one dataset")
    elif name in fixed:
        report.add(path, f"{name!r} is both fixed (value {describe(fixed[name])}) and a param; keep it in one place")
    elif isinstance(spec, dict) and "name" in spec:
        report.add(f"{path}.name", "unknown key 'name' (a param's name is its key under `params:`)")
    else:
        return True
    return False


def _setting_type(key: str) -> tuple[str, str]:
    """(int / float / other, how to say what ``key`` takes) from TrialConfig's annotation."""
    annotation = TrialConfig.model_fields[key].annotation
    if get_origin(annotation) in (Union, types.UnionType):  # X | None -> X
        annotation = next(a for a in get_args(annotation) if a is not type(None))
    if get_origin(annotation) is Literal:
        return "other", "one of " + ", ".join(repr(v) for v in get_args(annotation))
    text = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    return {int: "int", float: "float"}.get(annotation, "other"), text.get(annotation, str(annotation))


def check_param_type(param: Param, report: Report) -> bool:
    """A float param sets only a float key, an int param an int or float key."""
    if isinstance(param, CategoricalParam):
        return True
    kind, takes = _setting_type(param.name)
    if param.type == "float" and kind == "float" or param.type == "int" and kind in ("int", "float"):
        return True
    use = "type: int or categorical" if kind == "int" else "type: categorical"
    report.add(f"params.{param.name}", f"type {param.type!r} cannot set {param.name!r}, which takes {takes}; use {use}")
    return False


def check_when(
    param: Param, declared: list[Any], params: dict[str, Param], fixed: dict[str, Any], report: Report
) -> bool:
    """Each ``when`` names an earlier categorical param and only values among its choices."""
    path = f"params.{param.name}.when"
    earlier = declared[: declared.index(param.name)]
    ok = True
    for other, allowed in param.when.items():
        if other not in earlier:
            report.add(f"{path}.{other}", _when_target_rule(other, param.name, declared, earlier, fixed))
            ok = False
            continue
        target = params.get(other)
        if target is None:  # declared earlier but invalid: its own problem is reported already
            ok = False
        elif not isinstance(target, CategoricalParam):
            kind = "an int" if isinstance(target, IntParam) else "a float"
            report.add(f"{path}.{other}", f"`when` needs a categorical param, but {other!r} is {kind} param")
            ok = False
        else:
            for i, value in enumerate(allowed):
                if not any(value == choice for choice in target.choices):
                    choices = ", ".join(map(repr, target.choices))
                    report.add(f"{path}.{other}[{i}]", f"{value!r} is not one of {other!r}'s choices ({choices})")
                    ok = False
    return ok


def _when_target_rule(other: str, name: str, declared: list[Any], earlier: list[Any], fixed: dict[str, Any]) -> str:
    if other == name:
        return "a param cannot be conditional on itself"
    if other in declared:
        return f"must refer to an earlier param, but {other!r} comes later (params are sampled in order)"
    if other in fixed:
        return f"must refer to a param, but {other!r} is fixed (value {describe(fixed[other])})"
    names = [str(e) for e in earlier]
    listed = ", ".join(names) or "none"
    return f"refers to an unknown param {other!r}{did_you_mean(other, names)} (earlier params: {listed})"


M = TypeVar("M", bound=BaseModel)


def check_top(model: type[M], raw: dict[Any, Any], keys: Sequence[str], report: Report) -> tuple[M | None, set[str]]:
    """A file's top level validated as ``model``: (the typed object or None, the keys that had a problem).

    Every problem goes into ``report``; a section whose own shape is wrong (not a list,
    empty, too long) is in the returned set, so the caller does not look into it.
    """
    try:
        return model.model_validate(raw), set()
    except ValidationError as error:
        report.add_all(problem_lines(error, known_keys=keys))
        return None, {str(e["loc"][0]) for e in error.errors() if e["loc"]}


def _value_problem(param: Param, value: Any) -> str | None:
    """Why ``value`` is not one ``param`` could propose; None when it is."""
    if isinstance(param, CategoricalParam):
        return None if value in param.choices else f"must be one of {list(param.choices)}, got {describe(value)}"
    is_int = isinstance(param, IntParam)
    numeric = isinstance(value, int) if is_int else isinstance(value, (int, float))
    if isinstance(value, bool) or not numeric or not math.isfinite(float(value)):
        return f"must be {'a whole number' if is_int else 'a number'}, got {describe(value)}"
    if not param.low <= value <= param.high:
        return f"must lie in [{param.low:g}, {param.high:g}] (the param's range), got {value!r}"
    step = param.step if isinstance(param, FloatParam) or "step" in param.model_fields_set else None
    if step is not None and abs((value - param.low) / step - round((value - param.low) / step)) > 1e-9:
        return f"must be low + a whole number of steps of {step:g}, got {value!r}"
    return None


def check_start_with(
    entries: Sequence[Any], params: Mapping[str, Param], where: str
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The valid configurations of ``entries`` and a (path, rule) per problem (path ``where[i].key``).

    Each entry maps searched params to values the space could propose: known names, values
    in range, and a conditional param only where its ``when`` holds. Params left out are
    sampled as usual.
    """
    valid: list[dict[str, Any]] = []
    problems: list[tuple[str, str]] = []
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping) or not entry:
            problems.append((at, f"must be a mapping of searched params to values, got {describe(entry)}"))
            continue
        before = len(problems)
        for key, value in entry.items():
            if key not in params:
                problems.append(
                    (
                        f"{at}.{key}",
                        f"not a searched param of this space{did_you_mean(str(key), list(params))} "
                        f"(searched: {', '.join(params)})",
                    )
                )
            elif (problem := _value_problem(params[key], value)) is not None:
                problems.append((f"{at}.{key}", problem))
        known = {k: v for k, v in entry.items() if k in params}
        for key in known:
            if not condition_holds(params[key], {k: v for k, v in known.items() if k != key}):
                when = "; ".join(f"{k} in {list(v)}" for k, v in params[key].when.items())
                problems.append((f"{at}.{key}", f"the space searches it only when {when}"))
        if len(problems) == before:
            valid.append(dict(entry))
    return valid, problems
