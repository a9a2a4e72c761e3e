"""Search spaces: YAML files in ``search_spaces/``, validated into typed, frozen config.

A space names the sweep, its objectives, the trial settings held constant
(``fixed``) and the ones Optuna searches (``params``). Each param maps one-to-one
onto an Optuna distribution (float / int with ``low``, ``high``, ``log``, ``step``;
categorical with ``choices``; bounds inclusive). ``when`` makes a param conditional
on an earlier categorical one, so the space is define-by-run::

    params:
      disc_arch: {type: categorical, choices: [mlp, siamese_pool]}
      disc_depth: {type: int, low: 1, high: 4, when: {disc_arch: [siamese_pool]}}

``load_space`` reports every problem in the file at once, one per line, each naming
the file, the key path, the rule and the bad value, as a ``UserError``. Besides the
file's own structure it checks that the settings exist in ``TrialConfig``, that
names are known to the dataset / classifier / discriminator registries, and that
the fixed settings combined with the corners of the space (each choice, each bound)
give valid trial configs, so a sweep does not fail one trial at a time at run time.

YAML is read with ``yaml.safe_load`` only (DESIGN 7b).
"""
from __future__ import annotations

import difflib
import itertools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping, Union, get_args, get_origin, get_type_hints

import optuna
import yaml

from sweep.errors import UserError
from sweep.samplers import SAMPLER_NAMES
from trainable.config import ConfigError, TrialConfig
from trainable.metric_names import METRICS, OBJECTIVE_METRICS, Direction, direction_of, optuna_direction

__all__ = [
    "SPACES_DIR",
    "Choice",
    "FloatParam",
    "IntParam",
    "CategoricalParam",
    "Param",
    "Objective",
    "SearchSpace",
    "available_spaces",
    "resolve_space_path",
    "load_space",
]

SPACES_DIR: Path = Path(__file__).resolve().parent.parent / "search_spaces"

# What Optuna accepts as a categorical choice.
Choice = Union[None, bool, int, float, str]


# --------------------------------------------------------------------------- typed config
@dataclass(frozen=True)
class FloatParam:
    """``trial.suggest_float(name, low, high, log=log, step=step)``; bounds inclusive."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None
    when: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)

    def suggest(self, trial: optuna.trial.BaseTrial) -> float:
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)

    def distribution(self) -> optuna.distributions.FloatDistribution:
        """The distribution ``suggest`` samples from (to rebuild a study from finished trials)."""
        return optuna.distributions.FloatDistribution(self.low, self.high, log=self.log, step=self.step)


@dataclass(frozen=True)
class IntParam:
    """``trial.suggest_int(name, low, high, step=step, log=log)``; bounds inclusive."""

    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1
    when: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)

    def suggest(self, trial: optuna.trial.BaseTrial) -> int:
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)

    def distribution(self) -> optuna.distributions.IntDistribution:
        """The distribution ``suggest`` samples from (to rebuild a study from finished trials)."""
        return optuna.distributions.IntDistribution(self.low, self.high, log=self.log, step=self.step)


@dataclass(frozen=True)
class CategoricalParam:
    """``trial.suggest_categorical(name, choices)``."""

    name: str
    choices: tuple[Choice, ...]
    when: Mapping[str, tuple[Choice, ...]] = field(default_factory=dict)

    def suggest(self, trial: optuna.trial.BaseTrial) -> Choice:
        return trial.suggest_categorical(self.name, self.choices)

    def distribution(self) -> optuna.distributions.CategoricalDistribution:
        """The distribution ``suggest`` samples from (to rebuild a study from finished trials)."""
        return optuna.distributions.CategoricalDistribution(self.choices)


Param = Union[FloatParam, IntParam, CategoricalParam]


@dataclass(frozen=True)
class Objective:
    """One metric the sweep optimizes; ``direction`` is the one metric_names defines."""

    metric: str
    direction: Direction

    @property
    def optuna_direction(self) -> str:
        return optuna_direction(self.metric)


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space. Build it with ``load_space``."""

    name: str
    description: str
    source: Path
    dataset: str  # the default dataset; the command line may override it
    trials: int
    sampler: str
    seed: int  # the sampler's seed (a trial's own seed is the TrialConfig key ``seed``)
    baseline: bool  # also run the `independent` baseline with the same fixed settings
    objectives: tuple[Objective, ...]
    fixed: dict[str, Any]
    params: dict[str, Param]

    def sample(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """Suggest every param whose ``when`` holds, in declaration order; params only.

        A ``when`` always names an earlier param, so its value is known by the time
        the conditional param comes up; a param whose condition does not hold is not
        suggested at all (it keeps TrialConfig's default), which keeps it out of the
        sampler's model for that trial.
        """
        values: dict[str, Any] = {}
        for name, param in self.params.items():
            if _condition_holds(param, values):
                values[name] = param.suggest(trial)
        return values

    def base_config(self, dataset: str | None = None) -> dict[str, Any]:
        """The settings every trial shares: the dataset (or ``dataset``) plus ``fixed``."""
        return {"dataset": self.dataset if dataset is None else dataset, **self.fixed}

    @property
    def is_conditional(self) -> bool:
        """True when some param has a ``when`` (a dynamic, define-by-run space)."""
        return any(p.when for p in self.params.values())

    def metric_names(self) -> list[str]:
        return [o.metric for o in self.objectives]

    def optuna_directions(self) -> list[str]:
        return [o.optuna_direction for o in self.objectives]

    def tune_modes(self) -> list[str]:
        return [o.direction for o in self.objectives]


def _condition_holds(param: Param, values: Mapping[str, Any]) -> bool:
    return all(name in values and values[name] in allowed for name, allowed in param.when.items())


# ------------------------------------------------------------------------------ loading
def available_spaces(spaces_dir: Path = SPACES_DIR) -> list[str]:
    """The bare names of the spaces shipped in ``spaces_dir``, sorted."""
    return sorted(p.stem for p in Path(spaces_dir).glob("*.yaml"))


def resolve_space_path(name_or_path: str, spaces_dir: Path = SPACES_DIR) -> Path:
    """``loss_weights`` -> ``<spaces_dir>/loss_weights.yaml``; a path stays a path.

    Anything with a path separator or a ``.yaml`` / ``.yml`` suffix is a path.
    """
    spaces_dir = Path(spaces_dir)
    available = ", ".join(available_spaces(spaces_dir)) or "(none)"
    if not name_or_path:
        raise UserError(f"a search space name or path is required; available: {available}")
    is_path = "/" in name_or_path or os.sep in name_or_path or name_or_path.endswith((".yaml", ".yml"))
    if is_path:
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise UserError(f"{name_or_path}: no such search space file (the shipped spaces in {spaces_dir}: {available})")
        return path
    path = spaces_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UserError(f"unknown search space {name_or_path!r}; available: {available} (in {spaces_dir}), or give a path to a .yaml file")
    return path


def load_space(name_or_path: str, spaces_dir: Path = SPACES_DIR) -> SearchSpace:
    """Read, validate and type a search space; ``UserError`` lists every problem."""
    path = resolve_space_path(name_or_path, spaces_dir)
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{shown}: cannot read the file: {error}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserError(f"{shown}: {_yaml_problem(error)}") from None
    report = _Report(shown)
    space = _parse_space(raw, path, report)
    report.raise_if_any()
    if space is None:  # cannot happen: _parse_space returns None only after reporting
        raise RuntimeError(f"{shown}: search space parsing failed without a reported problem")
    return space


def _display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        context = f" ({error.context})" if error.context else ""
        return f"invalid YAML at {where}: {error.problem}{context}"
    return f"invalid YAML: {error}"


class _Report:
    """Collects ``file: key.path: problem`` lines; raises them all at once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        line = f"{self.file}: {path}: {message}" if path else f"{self.file}: {message}"
        if line not in self.lines:
            self.lines.append(line)

    def raise_if_any(self) -> None:
        if self.lines:
            raise UserError("\n".join(self.lines))


# ------------------------------------------------------------------------ value checks
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _describe(value: Any) -> str:
    """``repr`` plus a hint for the YAML 1.1 trap: ``1e-5`` is read as a string."""
    if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
        return f"{value!r} (a string: YAML 1.1 reads a number like 1e-5 as text, write 1.0e-5)"
    if value is None:
        return "null"
    return repr(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expect(value: Any, ok: Callable[[Any], bool], what: str, path: str, report: _Report) -> bool:
    if ok(value):
        return True
    report.add(path, f"expected {what}, got {_describe(value)}")
    return False


def _check_keys(
    raw: Mapping[Any, Any], path: str, allowed: tuple[str, ...], required: tuple[str, ...], report: _Report
) -> None:
    """Unknown keys (with a did-you-mean) and missing required keys under ``path``."""
    for key in raw:
        if key not in allowed:
            report.add(_join(path, key), f"unknown key {key!r}{_suggest(key, allowed)} (known keys: {', '.join(allowed)})")
    for key in required:
        if key not in raw:
            report.add(_join(path, key), "missing (required)")


def _join(path: str, key: Any) -> str:
    key = key if isinstance(key, str) else repr(key)
    return f"{path}.{key}" if path else key


def _suggest(key: Any, known: Any) -> str:
    if not isinstance(key, str):
        return ""
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _index_of(choices: tuple[Choice, ...], value: Any) -> int | None:
    # Optuna finds a choice by equality, so 1, 1.0 and True are one choice to it.
    for i, choice in enumerate(choices):
        if choice == value:
            return i
    return None


# ------------------------------------------------------------------ TrialConfig's keys
def _field_kinds() -> dict[str, tuple[str, tuple[Any, ...]]]:
    """TrialConfig key -> (kind, literal values): kind is int / float / bool / str / literal."""
    kinds: dict[str, tuple[str, tuple[Any, ...]]] = {}
    hints = get_type_hints(TrialConfig)
    for name in TrialConfig.field_names():
        tp = hints[name]
        args = [a for a in get_args(tp) if a is not type(None)]
        if args and len(args) < len(get_args(tp)):
            tp = args[0]  # Optional[X] (also spelled X | None) -> X
        if get_origin(tp) is Literal:
            kinds[name] = ("literal", get_args(tp))
        else:
            kinds[name] = (getattr(tp, "__name__", str(tp)), ())
    return kinds


def _kind_text(kind: str, literals: tuple[Any, ...]) -> str:
    return {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "str": "a string",
        "literal": "one of " + ", ".join(repr(v) for v in literals),
    }.get(kind, kind)


def _registry_checks() -> dict[str, tuple[str, list[str]]]:
    """TrialConfig key -> (what it names, the names its registry knows).

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


def _check_name(key: str, value: Any, path: str, registries: dict[str, tuple[str, list[str]]], report: _Report) -> None:
    """A registry name that no registry knows; non-strings are left to the type checks."""
    if key in registries and isinstance(value, str):
        kind, known = registries[key]
        if value not in known:
            report.add(path, f"unknown {kind} {value!r}{_suggest(value, known)} (known: {', '.join(known)})")


# ------------------------------------------------------------------------------ parsing
_TOP_KEYS = ("name", "description", "dataset", "trials", "sampler", "seed", "baseline", "objectives", "fixed", "params")
_TOP_REQUIRED = ("name", "trials", "objectives", "params")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # it becomes the folder experiments/<name>/
_DATASET_KEY_RULE = "the dataset is set by the top-level `dataset` key (which the command line's --data overrides), not here"
_PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "float": ("type", "low", "high", "log", "step", "when"),
    "int": ("type", "low", "high", "log", "step", "when"),
    "categorical": ("type", "choices", "when"),
}


def _parse_space(raw: Any, source: Path, report: _Report) -> SearchSpace | None:
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"{type(raw).__name__} {_describe(raw)}"
        report.add("", f"the top level must be a mapping of keys ({', '.join(_TOP_KEYS)}), got {got}")
        return None
    _check_keys(raw, "", _TOP_KEYS, _TOP_REQUIRED, report)
    registries = _registry_checks()
    kinds = _field_kinds()

    name = raw.get("name")
    if "name" in raw and _expect(name, lambda v: isinstance(v, str), "a string", "name", report):
        if not _NAME.match(name):
            report.add("name", f"must be a folder-safe name (letters, digits, '_', '-', '.'; not starting with '.' or '-'), got {name!r}")
    description = raw.get("description", "")
    _expect(description, lambda v: isinstance(v, str), "a string", "description", report)

    dataset = raw.get("dataset", TrialConfig.dataset)
    if _expect(dataset, lambda v: isinstance(v, str), "a dataset name (a string)", "dataset", report):
        _check_name("dataset", dataset, "dataset", registries, report)

    trials = raw.get("trials")
    if "trials" in raw and _expect(trials, _is_int, "an integer", "trials", report) and trials < 1:
        report.add("trials", f"`trials >= 1` must hold, but got (trials={trials})")

    sampler = raw.get("sampler", "tpe")
    if _expect(sampler, lambda v: isinstance(v, str), "a string", "sampler", report) and sampler not in SAMPLER_NAMES:
        report.add("sampler", f"unknown sampler {sampler!r}{_suggest(sampler, SAMPLER_NAMES)} (known: {', '.join(SAMPLER_NAMES)})")

    seed = raw.get("seed", 0)
    if _expect(seed, _is_int, "an integer", "seed", report) and not 0 <= seed < 2**32:
        report.add("seed", f"`0 <= seed < 2**32` must hold (numpy's seed range), but got (seed={seed})")

    baseline = raw.get("baseline", True)
    _expect(baseline, lambda v: isinstance(v, bool), "true or false", "baseline", report)

    objectives = _parse_objectives(raw.get("objectives"), report) if "objectives" in raw else ()
    fixed = _parse_fixed(raw.get("fixed", {}), kinds, registries, report)
    params = _parse_params(raw.get("params"), fixed, kinds, registries, report) if "params" in raw else {}

    base = {"dataset": dataset} if isinstance(dataset, str) else {}
    _check_trial_configs({**base, **fixed}, params, report)

    if report.lines:
        return None
    return SearchSpace(
        name=name,
        description=description,
        source=source,
        dataset=dataset,
        trials=trials,
        sampler=sampler,
        seed=seed,
        baseline=baseline,
        objectives=objectives,
        fixed=fixed,
        params=params,
    )


def _parse_objectives(raw: Any, report: _Report) -> tuple[Objective, ...]:
    if not _expect(raw, lambda v: isinstance(v, list), "a list of {metric, direction}", "objectives", report):
        return ()
    if not raw:
        report.add("objectives", f"at least one objective is required, but got [] (objective metrics: {', '.join(OBJECTIVE_METRICS)})")
    objectives: list[Objective] = []
    first_index: dict[str, int] = {}
    for i, item in enumerate(raw):
        path = f"objectives[{i}]"
        if not _expect(item, lambda v: isinstance(v, dict), "a mapping {metric: ..., direction: ...}", path, report):
            continue
        _check_keys(item, path, ("metric", "direction"), ("metric", "direction"), report)
        metric, direction = item.get("metric"), item.get("direction")
        defined: str | None = None
        if "metric" in item and _expect(metric, lambda v: isinstance(v, str), "a metric name", f"{path}.metric", report):
            if metric not in METRICS:
                report.add(f"{path}.metric", f"unknown metric {metric!r}{_suggest(metric, OBJECTIVE_METRICS)} "
                                             f"(known objective metrics: {', '.join(OBJECTIVE_METRICS)})")
            elif metric not in OBJECTIVE_METRICS:
                report.add(f"{path}.metric", f"metric {metric!r} is a diagnostic and cannot be an objective "
                                             f"(objective metrics: {', '.join(OBJECTIVE_METRICS)})")
            elif metric in first_index:
                report.add(f"{path}.metric", f"duplicate objective {metric!r} (already objectives[{first_index[metric]}])")
            else:
                first_index[metric] = i
                defined = direction_of(metric)
        if "direction" in item:
            if direction not in ("max", "min"):
                report.add(f"{path}.direction", f"must be 'max' or 'min', got {_describe(direction)}")
            elif defined is not None and direction != defined:
                # Directions are defined once (trainable/metric_names.py); a space
                # cannot flip one, so a mismatch is a misunderstanding worth stopping on.
                report.add(f"{path}.direction", f"`direction` must be the one defined for {metric!r} "
                                                f"(trainable/metric_names.py), {defined!r}, but got {direction!r}")
            elif defined is not None:
                objectives.append(Objective(metric=metric, direction=direction))
    return tuple(objectives)


def _parse_fixed(
    raw: Any, kinds: dict[str, tuple[str, tuple[Any, ...]]], registries: dict[str, tuple[str, list[str]]], report: _Report
) -> dict[str, Any]:
    """The known, type-plausible fixed settings; their values are checked with the params."""
    if not _expect(raw, lambda v: isinstance(v, dict), "a mapping of TrialConfig key -> value", "fixed", report):
        return {}
    fixed: dict[str, Any] = {}
    for key, value in raw.items():
        path = _join("fixed", key)
        if key not in kinds:
            report.add(path, f"unknown trial setting {key!r}{_suggest(key, kinds)} (TrialConfig keys: {', '.join(kinds)})")
        elif key == "dataset":
            report.add(path, f"{_DATASET_KEY_RULE}, got {value!r}")
        else:
            _check_name(key, value, path, registries, report)
            fixed[key] = value
    return fixed


def _parse_params(
    raw: Any,
    fixed: dict[str, Any],
    kinds: dict[str, tuple[str, tuple[Any, ...]]],
    registries: dict[str, tuple[str, list[str]]],
    report: _Report,
) -> dict[str, Param]:
    if not _expect(raw, lambda v: isinstance(v, dict), "a mapping of TrialConfig key -> distribution", "params", report):
        return {}
    if not raw:
        report.add("params", "at least one param is required (a space with nothing to search is a single run), but got {}")
    params: dict[str, Param] = {}
    declared: list[Any] = list(raw)
    for position, (name, spec) in enumerate(raw.items()):
        path = _join("params", name)
        if name not in kinds:
            report.add(path, f"unknown trial setting {name!r}{_suggest(name, kinds)} (TrialConfig keys: {', '.join(kinds)})")
            continue
        if name == "dataset":
            report.add(path, f"{_DATASET_KEY_RULE}; a sweep searches one dataset")
            continue
        if name in fixed:
            report.add(path, f"{name!r} is both fixed (value {fixed[name]!r}) and a param; keep it in one place")
            continue
        if not _expect(spec, lambda v: isinstance(v, dict), "a mapping {type: float|int|categorical, ...}", path, report):
            continue
        kind = spec.get("type")
        if kind not in _PARAM_KEYS:
            what = "missing (required)" if "type" not in spec else f"must be one of float, int, categorical, got {_describe(kind)}"
            report.add(f"{path}.type", what)
            continue
        _check_keys(spec, path, _PARAM_KEYS[kind], ("choices",) if kind == "categorical" else ("low", "high"), report)
        when = _parse_when(spec.get("when"), path, name, declared, position, params, fixed, report) if "when" in spec else {}
        field_kind, literals = kinds[name]
        if kind == "float" and field_kind != "float" or kind == "int" and field_kind not in ("int", "float"):
            use = "type: int or categorical" if field_kind == "int" else "type: categorical"
            report.add(path, f"type {kind!r} cannot set {name!r}, which takes {_kind_text(field_kind, literals)}; use {use}")
            continue
        param: Param | None
        if kind == "categorical":
            param = _parse_categorical(name, spec, path, registries, report)
        else:
            param = _parse_numeric(name, kind, spec, path, report)
        if param is not None and when is not None:
            params[name] = _with_when(param, when)
    return params


def _with_when(param: Param, when: dict[str, tuple[Choice, ...]]) -> Param:
    if isinstance(param, CategoricalParam):
        return CategoricalParam(param.name, param.choices, when)
    if isinstance(param, IntParam):
        return IntParam(param.name, param.low, param.high, param.log, param.step, when)
    return FloatParam(param.name, param.low, param.high, param.log, param.step, when)


def _parse_when(
    raw: Any,
    path: str,
    name: str,
    declared: list[Any],
    position: int,
    params: dict[str, Param],
    fixed: dict[str, Any],
    report: _Report,
) -> dict[str, tuple[Choice, ...]] | None:
    """``{earlier_param: [allowed values]}``; None when it has a problem."""
    path = f"{path}.when"
    earlier = declared[:position]
    if not _expect(raw, lambda v: isinstance(v, dict) and bool(v), "a non-empty mapping {earlier_param: [values]}", path, report):
        return None
    when: dict[str, tuple[Choice, ...]] = {}
    ok = True
    for other, allowed in raw.items():
        key_path = _join(path, other)
        if other not in earlier:
            if other == name:
                rule = "a param cannot be conditional on itself"
            elif other in declared:
                rule = f"must refer to an earlier param, but {other!r} comes later (params are sampled in order)"
            elif other in fixed:
                rule = f"must refer to a param, but {other!r} is fixed (value {fixed[other]!r})"
            else:
                names = [str(e) for e in earlier]
                rule = f"refers to an unknown param {other!r}{_suggest(other, names)} (earlier params: {', '.join(names) or 'none'})"
            report.add(key_path, rule)
            ok = False
            continue
        target = params.get(other)
        if target is None:  # declared earlier but invalid: its own problem is reported already
            ok = False
            continue
        if not isinstance(target, CategoricalParam):
            kind = "an int" if isinstance(target, IntParam) else "a float"
            report.add(key_path, f"`when` needs a categorical param, but {other!r} is {kind} param")
            ok = False
            continue
        if not isinstance(allowed, list) or not allowed:
            report.add(key_path, f"expected a non-empty list of {other!r}'s choices, got {_describe(allowed)}")
            ok = False
            continue
        for i, value in enumerate(allowed):
            if _index_of(target.choices, value) is None:
                report.add(f"{key_path}[{i}]", f"{value!r} is not one of {other!r}'s choices ({', '.join(map(repr, target.choices))})")
                ok = False
        when[other] = tuple(allowed)
    return when if ok else None


def _parse_categorical(
    name: str, spec: dict[str, Any], path: str, registries: dict[str, tuple[str, list[str]]], report: _Report
) -> CategoricalParam | None:
    if "choices" not in spec:
        return None
    raw = spec["choices"]
    if not _expect(raw, lambda v: isinstance(v, list), "a list of choices", f"{path}.choices", report):
        return None
    if not raw:
        report.add(f"{path}.choices", "`len(choices) >= 1` must hold, but got an empty list")
        return None
    ok = True
    for i, choice in enumerate(raw):
        choice_path = f"{path}.choices[{i}]"
        if not (choice is None or isinstance(choice, (bool, int, float, str))):
            report.add(choice_path, f"expected a string, number, boolean or null, got {_describe(choice)}")
            ok = False
            continue
        same = _index_of(tuple(raw[:i]), choice)
        if same is not None:
            report.add(choice_path, f"duplicate choice {choice!r} (equal to choices[{same}] = {raw[same]!r})")
            ok = False
        _check_name(name, choice, choice_path, registries, report)
    return CategoricalParam(name, tuple(raw)) if ok else None


def _parse_numeric(name: str, kind: str, spec: dict[str, Any], path: str, report: _Report) -> Param | None:
    is_int = kind == "int"
    ok_value = _is_int if is_int else _is_number
    what = "an integer" if is_int else "a number"
    ok = "low" in spec and "high" in spec
    bounds: dict[str, Any] = {}
    for key in ("low", "high"):
        if key in spec:
            value = spec[key]
            if not _expect(value, ok_value, what, f"{path}.{key}", report):
                ok = False
            elif not math.isfinite(value):
                report.add(f"{path}.{key}", f"must be finite, got {value!r}")
                ok = False
            else:
                bounds[key] = value
    log = spec.get("log", False)
    if not _expect(log, lambda v: isinstance(v, bool), "true or false", f"{path}.log", report):
        ok, log = False, False
    step = spec.get("step")
    if step is not None:
        if not _expect(step, ok_value, what, f"{path}.step", report):
            ok, step = False, None
        elif not (step > 0 and math.isfinite(step)):
            report.add(f"{path}.step", f"`step > 0` must hold, but got (step={step!r})")
            ok, step = False, None
        elif log:
            # Optuna's rule: a log-scaled distribution has no step.
            report.add(path, f"`step` and `log` cannot be used together, but got (step={step!r}, log=True)")
            ok = False
    if "low" in bounds and "high" in bounds:
        low, high = bounds["low"], bounds["high"]
        if not low < high:
            report.add(path, f"`low < high` must hold, but got (low={low!r}, high={high!r})")
            ok = False
        elif log and is_int and low < 1:
            report.add(path, f"`low >= 1` must hold for a log-scaled int, but got (low={low!r})")
            ok = False
        elif log and low <= 0:
            report.add(path, f"`low > 0` must hold for a log-scaled float, but got (low={low!r})")
            ok = False
        elif step is not None and not _divides(step, high - low):
            # Optuna would silently move `high` to the last reachable value; say so instead.
            report.add(path, f"`high - low` must be a multiple of `step`, but got (low={low!r}, high={high!r}, step={step!r})")
            ok = False
    if not ok:
        return None
    if is_int:
        return IntParam(name, bounds["low"], bounds["high"], log, 1 if step is None else step)
    return FloatParam(name, float(bounds["low"]), float(bounds["high"]), log, None if step is None else float(step))


def _divides(step: float, span: float) -> bool:
    ratio = span / step
    return abs(ratio - round(ratio)) <= 1e-8 * max(1.0, abs(ratio))


# ------------------------------------------------------- fixed + params -> TrialConfig
_MAX_FULL_PRODUCT = 512  # corners tried exhaustively; beyond that, every pair of params


def _corner_values(param: Param) -> list[Choice]:
    """The values that TrialConfig's rules can tell apart: each choice, each bound.

    For ints also the second value (``low + step``), so a parity rule (an even batch
    size) sees an odd and an even value where the range has both.
    """
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    if isinstance(param, IntParam):
        second = [param.low + param.step] if not param.log and param.low + param.step < param.high else []
        return [param.low, *second, param.high]
    return [param.low, param.high]


def _apply_when(params: dict[str, Param], combo: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, param in params.items():
        if _condition_holds(param, kept):
            kept[name] = combo[name]
    return kept


def _combinations(params: dict[str, Param]) -> Iterator[dict[str, Any]]:
    """Every corner when there are few, else every value pair of every two params.

    TrialConfig's cross-key rules involve two keys at a time (objective with pairing,
    pairing with batch size, w_ce with w_adv), so pairs find what the full product finds.
    """
    names = list(params)
    values = [_corner_values(p) for p in params.values()]
    seen: set[tuple[tuple[str, Any], ...]] = set()
    if math.prod(len(v) for v in values) <= _MAX_FULL_PRODUCT or len(names) < 2:
        raw: Iterator[dict[str, Any]] = (dict(zip(names, combo)) for combo in itertools.product(*values))
    else:
        first = {n: v[0] for n, v in zip(names, values)}
        raw = (
            {**first, names[i]: a, names[j]: b}
            for i, j in itertools.combinations(range(len(names)), 2)
            for a in values[i]
            for b in values[j]
        )
    for combo in raw:
        kept = _apply_when(params, combo)
        key = tuple((k, type(v).__name__, v) for k, v in kept.items())
        if key not in seen:
            seen.add(key)
            yield kept


def _config_problems(base: dict[str, Any], combo: dict[str, Any]) -> list[str]:
    try:
        TrialConfig.from_dict({**base, **combo})
    except ConfigError as error:
        return list(error.problems)
    return []


def _check_trial_configs(base: dict[str, Any], params: dict[str, Param], report: _Report) -> None:
    """Report each TrialConfig problem that fixed settings plus some corner of the space hit.

    Each problem is shown with the smallest set of sampled values that still causes
    it (dropping a param means it keeps TrialConfig's default), so a bad fixed value
    reads as ``fixed.key`` and a bad choice as ``params.key.choices[i]``.
    """
    reported: set[str] = set()
    for combo in _combinations(params):
        for problem in _config_problems(base, combo):
            if problem in reported:
                continue
            reported.add(problem)
            witness = dict(combo)
            for name in reversed(list(combo)):
                smaller = {k: v for k, v in witness.items() if k != name}
                if problem in _config_problems(base, smaller):
                    witness = smaller
            _report_config_problem(problem, witness, base, params, report)


def _report_config_problem(
    problem: str, witness: dict[str, Any], base: dict[str, Any], params: dict[str, Param], report: _Report
) -> None:
    key, _, rest = problem.partition(": ")
    if not witness:
        if key in base and key != "dataset":
            report.add(f"fixed.{key}", rest)
        else:
            report.add("fixed", problem)
        return
    if list(witness) == [key]:
        param, value = params[key], witness[key]
        if isinstance(param, CategoricalParam):
            report.add(f"params.{key}.choices[{_index_of(param.choices, value)}]", rest)
        else:
            bound = "low" if value == param.low else "high" if value == param.high else None
            where = f"params.{key}.{bound}" if bound else f"params.{key}"
            report.add(where, f"{rest} (a value the range includes)" if bound is None else rest)
        return
    sampled = ", ".join(f"{k}={v!r}" for k, v in witness.items())
    if key in params:
        report.add(f"params.{key}", f"{rest} (when sampled with {sampled})")
    elif key in base:
        report.add(f"fixed.{key}", f"{rest} (when sampled with {sampled})")
    else:
        report.add(f"params.{next(iter(witness))}", f"{problem} (when sampled with {sampled})")
