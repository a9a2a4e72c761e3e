"""The rules that tie a space to TrialConfig: known settings, registry names, ``when``.

pydantic checks each part of a space on its own (``sweep.spaces.model``); these
rules need two parts at once or know about the trial: a fixed setting or a param
must be a ``TrialConfig`` key (not ``dataset``, which has its own top-level key),
a param's type must fit the key's type, dataset / classifier / discriminator names
must be in their registries, and a ``when`` must name an earlier categorical param
and some of its choices.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sweep.spaces.model import CategoricalParam, IntParam, Param
from sweep.spaces.report import Report
from trainable.config import TrialConfig
from trainable.problems import describe, did_you_mean, problem_lines

__all__ = [
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


def check_fixed(raw: dict[Any, Any], known: Registries, report: Report) -> dict[str, Any]:
    """The fixed settings that are TrialConfig keys; their values are checked with the corners."""
    fixed: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"fixed.{key}"
        if key not in TrialConfig.model_fields:
            report.add(path, _unknown_setting(key))
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
