"""Find a space file, read it, validate every part, and build the typed ``SearchSpace``.

Validation runs part by part, so that one bad part does not hide the problems of
the others: the top-level keys (a pydantic model), each objective, the fixed
settings, each param (pydantic, ``sweep.spaces.model``), then the rules that tie
them to TrialConfig (``sweep.spaces.rules``) and the corner check
(``sweep.spaces.corners``) on the parts that are valid. Every problem becomes one
``file: key.path: rule, bad value`` line of a single ``UserError``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sweep.errors import UserError
from sweep.paths import check_folder_name
from sweep.spaces.corners import check_corners
from sweep.spaces.model import (
    PARAM,
    SAMPLER_NAMES,
    CategoricalParam,
    FloatParam,
    IntParam,
    Objective,
    Param,
    SearchSpace,
)
from sweep.spaces.replication import CONSTRAINT_METRICS, Constraint, Replicates, replicates_from
from sweep.spaces.report import Report
from sweep.spaces.rules import (
    Registries,
    check_fixed,
    check_name,
    check_param_key,
    check_param_type,
    check_start_with,
    check_top,
    check_when,
    registries,
)
from sweep.spaces.yaml_reader import read_yaml_mapping
from trainable.config import TrialConfig
from trainable.metric_names import OBJECTIVE_METRICS
from trainable.problems import did_you_mean, problem_lines

__all__ = ["MAX_TRIALS", "SPACES_DIR", "available_spaces", "load_space", "resolve_space_path"]

SPACES_DIR: Path = Path(__file__).resolve().parents[2] / "search_spaces"

# Trials per sweep. TPE's cost per proposal grows with the trials so far, and Tune
# keeps every trial in memory; a sweep of this many is months of GPU time anyway.
MAX_TRIALS = 100_000
MAX_START_WITH = 1_000  # configurations to start with: more is a table to sweep, not a start
# The name becomes the folder experiments/<name>-<timestamp>/: letters, digits, '_', '-', '.',
# not starting with '.' or '-', and short enough for any file system (255 bytes a name).
_NAME_MAX = 100


class _TopLevel(BaseModel):
    """The top-level keys; the three sections are validated on their own afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(max_length=_NAME_MAX)
    description: str = ""
    dataset: str = TrialConfig.dataset  # a dataset name; the command line's --data overrides it
    trials: int = Field(ge=1, le=MAX_TRIALS)
    sampler: str = "tpe"
    seed: int = Field(0, ge=0, lt=2**32)  # the sampler's seed: numpy's seed range
    baseline: bool = True  # also run the `independent` baseline with the same fixed settings
    # Each objective metric at most once, so there cannot be more than there are metrics.
    objectives: list[Any] = Field(min_length=1, max_length=len(OBJECTIVE_METRICS))
    fixed: dict[Any, Any] = Field(default_factory=dict)
    # Each param is a distinct TrialConfig key (a space with nothing to search is a single run).
    params: dict[Any, Any] = Field(min_length=1, max_length=len(TrialConfig.model_fields))
    # Seeds per configuration: K, or {min, max} to race (sweep.spaces.replication).
    replicates: Any = 1
    constraints: list[Any] = Field(default_factory=list, max_length=len(CONSTRAINT_METRICS) * 2)
    start_with: list[Any] = Field(default_factory=list, max_length=MAX_START_WITH)

    @field_validator("name")
    @classmethod
    def _folder_safe(cls, name: str) -> str:
        return check_folder_name(name)

    @field_validator("sampler")
    @classmethod
    def _known_sampler(cls, sampler: str) -> str:
        if sampler not in SAMPLER_NAMES:
            raise ValueError(
                f"unknown sampler {sampler!r}{did_you_mean(sampler, SAMPLER_NAMES)} (known: {', '.join(SAMPLER_NAMES)})"
            )
        return sampler


_TOP_KEYS = list(_TopLevel.model_fields)
# type -> the keys a param of that type takes, in the order the docs list them
_PARAM_KEYS = {
    cls.model_fields["type"].default: [
        "type",
        *(k for k in cls.model_fields if k not in ("type", "name", "when")),
        "when",
    ]
    for cls in (FloatParam, IntParam, CategoricalParam)
}


# ------------------------------------------------------------------------ finding files
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
            raise UserError(
                f"{name_or_path}: no such search space file (the shipped spaces in {spaces_dir}: {available})"
            )
        return path
    path = spaces_dir / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UserError(
            f"unknown search space {name_or_path!r}; available: {available} (in {spaces_dir}), "
            "or give a path to a .yaml file"
        )
    return path


def _display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory if inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------ loading
def load_space(name_or_path: str, spaces_dir: Path = SPACES_DIR) -> SearchSpace:
    """Read, validate and type a search space; ``UserError`` lists every problem."""
    path = resolve_space_path(name_or_path, spaces_dir)
    shown = _display(path)
    raw = read_yaml_mapping(path, shown, _TOP_KEYS)
    report = Report(shown)
    space = _validate(raw, path, report)
    report.raise_if_any()
    if space is None:  # cannot happen: _validate returns None only after reporting
        raise RuntimeError(f"{shown}: search space validation failed without a reported problem")
    return space


def _validate(raw: dict[Any, Any], source: Path, report: Report) -> SearchSpace | None:
    top, bad = check_top(_TopLevel, raw, _TOP_KEYS, report)  # bad: top-level keys with a problem of their own
    # A section whose own shape is wrong (not a list, empty, too long) is not looked into.
    known = registries()
    dataset = raw.get("dataset", TrialConfig.dataset)
    check_name("dataset", dataset, "dataset", known, report)
    objectives = _objectives(raw["objectives"], report) if "objectives" in raw and "objectives" not in bad else ()
    fixed = check_fixed(raw.get("fixed", {}), known, report) if "fixed" not in bad else {}
    params = _params(raw["params"], fixed, known, report) if "params" in raw and "params" not in bad else {}
    base = {"dataset": dataset} if isinstance(dataset, str) else {}
    check_corners({**base, **fixed}, params, report)
    replicates = _replicates(raw.get("replicates", 1), report) if "replicates" not in bad else None
    constraints = _constraints(raw.get("constraints", []), report) if "constraints" not in bad else ()
    start_with, problems = check_start_with(
        raw.get("start_with", []) if "start_with" not in bad else [], params, "start_with"
    )
    report.add_all(problems)
    if report.lines or top is None or replicates is None:
        return None
    shared = top.model_dump(include={"name", "description", "dataset", "trials", "sampler", "seed", "baseline"})
    return SearchSpace(
        **shared,
        source=source,
        objectives=objectives,
        fixed=fixed,
        params=params,
        replicates=replicates,
        constraints=constraints,
        start_with=tuple(start_with),
    )


def _replicates(raw: Any, report: Report) -> Replicates | None:
    try:
        return replicates_from(raw)
    except ValidationError as error:
        report.add_all(problem_lines(error, "replicates", known_keys=["min", "max"]))
    except ValueError as error:
        report.add("replicates", str(error))
    return None


def _constraints(raw: list[Any], report: Report) -> tuple[Constraint, ...]:
    out: list[Constraint] = []
    for i, item in enumerate(raw):
        try:
            out.append(Constraint.model_validate(item))
        except ValidationError as error:
            report.add_all(problem_lines(error, f"constraints[{i}]", known_keys=["metric", "min", "max"]))
    return tuple(out)


def _objectives(raw: list[Any], report: Report) -> tuple[Objective, ...]:
    objectives: list[Objective] = []
    first: dict[str, int] = {}
    for i, item in enumerate(raw):
        try:
            objective = Objective.model_validate(item)
        except ValidationError as error:
            report.add_all(problem_lines(error, f"objectives[{i}]", known_keys=list(Objective.model_fields)))
            continue
        if objective.metric in first:
            report.add(
                f"objectives[{i}].metric",
                f"duplicate objective {objective.metric!r} (already objectives[{first[objective.metric]}])",
            )
            continue
        first[objective.metric] = i
        objectives.append(objective)
    return tuple(objectives)


def _params(raw: dict[Any, Any], fixed: dict[str, Any], known: Registries, report: Report) -> dict[str, Param]:
    """The params that are valid on their own and against TrialConfig, in declaration order."""
    declared = list(raw)
    params: dict[str, Param] = {}
    for name, spec in raw.items():
        if not check_param_key(name, spec, fixed, report):
            continue
        path = f"params.{name}"
        try:
            param = PARAM.validate_python({**spec, "name": name} if isinstance(spec, dict) else spec)
        except ValidationError as error:
            kind = spec.get("type") if isinstance(spec, dict) else None
            keys = _PARAM_KEYS.get(kind, []) if isinstance(kind, str) else []
            report.add_all(problem_lines(error, path, known_keys=keys, skip_tag=True))
            continue
        if not check_param_type(param, report):
            continue
        if isinstance(param, CategoricalParam):
            for i, choice in enumerate(param.choices):
                check_name(name, choice, f"{path}.choices[{i}]", known, report)
        if param.when and not check_when(param, declared, params, fixed, report):
            continue
        params[name] = param
    return params
