"""A study file: a pre-registered comparison of named arms over paired seeds.

A study (``studies/<name>.yaml``, beside ``search_spaces/``) names its arms (each a
set of trial settings over the shared ``fixed`` ones), the seeds, the primary
metric and the smallest effect worth detecting. netsep adds the matched
``independent`` baseline(s) and the deep-ensemble baseline itself, as compare does.
Commit the file before running it: the git history is the pre-registration.

An optional ``sequential`` block registers interim looks (a group-sequential design,
``sweep.stats.sequential``): ``looks`` (cumulative paired seeds at each look, the last
equal to ``seeds``), ``spending`` (``obrien-fleming`` or ``pocock``) and ``planning_sd``
(the sd of paired differences the design assumes, for the dry run's expected cost
only). Its alpha is the family-wise 0.05 every study decision uses and its equivalence
margin is ``effect``: neither is written twice.

The file is read like a search space (bounded safe YAML, ``sweep.spaces.yaml_reader``)
and every problem is reported at once as ``file: key.path: rule, bad value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sweep.baselines import BASELINE_ARM
from sweep.errors import UserError
from sweep.paths import check_folder_name
from sweep.spaces.report import Report
from sweep.spaces.rules import check_name, check_top, registries
from sweep.spaces.yaml_reader import read_yaml_mapping
from trainable.config import ConfigError, TrialConfig
from trainable.problems import describe, did_you_mean, problem_lines

__all__ = [
    "MAX_ARMS",
    "MAX_LOOKS",
    "MAX_SEEDS",
    "STUDIES_DIR",
    "PRIMARY_METRICS",
    "Sequential",
    "Study",
    "load_study",
    "resolve_study_path",
]

STUDIES_DIR: Path = Path(__file__).resolve().parents[2] / "studies"
MAX_ARMS = 64  # arms x seeds runs; 64 arms of 8 seeds is already weeks of CPU time
MAX_SEEDS = 1000
# Compare's statistics (paired t, Holm, power) are built on the ensemble's accuracy.
PRIMARY_METRICS = ("ensemble_acc",)
# An arm's name becomes a label in every table and a Tune parameter: short and plain.
_ARM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}")
_RESERVED_ARMS = (BASELINE_ARM, f"{BASELINE_ARM}-split", f"{BASELINE_ARM}-shared", "deep-ensemble")
_SET_BY_NETSEP = ("seed", "arm", "final_test")  # every run sets these itself
MAX_LOOKS = 10  # interim looks plus the last: beyond a handful each look spends too little to stop


class _SequentialBlock(BaseModel):
    """``sequential:``; the looks' relation to ``seeds`` is checked afterwards (``_check_looks``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    looks: list[int] = Field(min_length=2, max_length=MAX_LOOKS)  # cumulative paired seeds at each look
    spending: Literal["obrien-fleming", "pocock"] = "obrien-fleming"
    planning_sd: float | None = Field(None, gt=0.0, lt=1.0)  # assumed sd of paired differences (0.003 = 0.3 pp)


class _StudyFile(BaseModel):
    """The top-level keys; ``fixed`` and each arm are checked against TrialConfig afterwards."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    description: str = ""
    dataset: str = TrialConfig.dataset
    seeds: int = Field(ge=2, le=MAX_SEEDS)  # paired seeds per arm; >= 2 for an interval
    first_seed: int = Field(1000, ge=0, lt=2**31)  # seeds first_seed .. first_seed + seeds - 1
    primary: str = "ensemble_acc"
    effect: float = Field(0.005, gt=0.0, lt=1.0)  # smallest difference worth detecting (0.005 = 0.5 pp)
    deep_ensemble: bool = True  # also run the deep-ensemble reference arm
    sequential: dict[Any, Any] | None = None  # registered interim looks (_SequentialBlock); None: one look at the end
    fixed: dict[Any, Any] = Field(default_factory=dict)
    arms: dict[Any, Any] = Field(min_length=1, max_length=MAX_ARMS)

    @field_validator("name")
    @classmethod
    def _folder_safe(cls, name: str) -> str:
        return check_folder_name(name, max_length=100)  # the results folder's name

    @field_validator("primary")
    @classmethod
    def _known_primary(cls, primary: str) -> str:
        if primary not in PRIMARY_METRICS:
            raise ValueError(f"must be one of {', '.join(PRIMARY_METRICS)} (the paired tests use it), got {primary!r}")
        return primary


_TOP_KEYS = list(_StudyFile.model_fields)


@dataclass(frozen=True)
class Sequential:
    """A study's registered looks (``sweep.stats.sequential``); alpha and the margin are the study's."""

    looks: tuple[int, ...]  # cumulative paired seeds per arm at each look; the last is the study's seeds
    spending: str  # obrien-fleming | pocock
    planning_sd: float | None  # assumed sd of paired differences (fraction); None: not registered


@dataclass(frozen=True)
class Study:
    """A validated study: every arm's full settings (``fixed`` under its own) without seed."""

    name: str
    description: str
    source: Path
    text: str  # the file as read: saved with the results, compared on --resume
    seeds: list[int]
    primary: str
    effect: float
    deep_ensemble: bool
    fixed: dict[str, Any]  # dataset included
    arms: dict[str, dict[str, Any]]  # name -> fixed | the arm's own settings
    sequential: Sequential | None = None  # registered interim looks; None: the study runs every seed


def resolve_study_path(name_or_path: str, studies_dir: Path = STUDIES_DIR) -> Path:
    """A study by name (``studies/<name>.yaml``) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.parent != Path("."):
        if not path.is_file():
            raise UserError(f"study: no such file {name_or_path!r}")
        return path
    candidate = studies_dir / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in studies_dir.glob("*.yaml")) if studies_dir.is_dir() else []
    raise UserError(
        f"study: unknown study {name_or_path!r}{did_you_mean(name_or_path, known)} "
        f"(in {studies_dir}: {', '.join(known) or 'none'}; or give a path to a YAML file)"
    )


def load_study(name_or_path: str, studies_dir: Path = STUDIES_DIR) -> Study:
    """Read and validate a study file; ``UserError`` lists every problem."""
    path = resolve_study_path(name_or_path, studies_dir)
    shown = str(path)
    raw = read_yaml_mapping(path, shown, _TOP_KEYS)
    report = Report(shown)
    top, bad = check_top(_StudyFile, raw, _TOP_KEYS, report)
    known = registries()
    dataset = raw.get("dataset", TrialConfig.dataset)
    check_name("dataset", dataset, "dataset", known, report)
    fixed = _settings(raw.get("fixed", {}), "fixed", report) if "fixed" not in bad else {}
    if isinstance(dataset, str):
        fixed = {**fixed, "dataset": dataset}
    arms = _arms(raw["arms"], fixed, report) if "arms" in raw and "arms" not in bad else {}
    sequential = (
        _sequential(top.sequential, top.seeds, report) if top is not None and top.sequential is not None else None
    )
    report.raise_if_any()
    assert top is not None  # no problem reported means the top level validated
    return Study(
        name=top.name,
        description=top.description,
        source=path.resolve(),
        text=path.read_text(encoding="utf-8"),
        seeds=[top.first_seed + k for k in range(top.seeds)],
        primary=top.primary,
        effect=top.effect,
        deep_ensemble=top.deep_ensemble,
        fixed=fixed,
        arms=arms,
        sequential=sequential,
    )


def _sequential(raw: dict[Any, Any], seeds: int, report: Report) -> Sequential | None:
    """The ``sequential`` block, its own keys named on a mistake (alpha and the margin are not among them)."""
    keys = list(_SequentialBlock.model_fields)
    try:
        block = _SequentialBlock.model_validate(raw)
    except ValidationError as error:
        for where, rule in problem_lines(error, "sequential", known_keys=keys):
            if where in ("sequential.alpha", "sequential.margin", "sequential.smallest_effect"):
                rule += "; the design's alpha is the study's family-wise 0.05 and its margin is the top-level `effect`"
            report.add(where, rule)
        return None
    where = "sequential.looks"
    looks = block.looks
    if looks[0] < 2:
        report.add(where, f"the first look needs >= 2 seeds (a paired t interval), got {looks}")
    if any(b <= a for a, b in zip(looks, looks[1:])):
        report.add(where, f"must be strictly increasing seed counts, got {looks}")
    if looks[-1] != seeds:
        report.add(where, f"the last look must be the study's seeds ({seeds}), got {looks}")
    return Sequential(tuple(looks), block.spending, block.planning_sd)


def _settings(raw: dict[Any, Any], path: str, report: Report) -> dict[str, Any]:
    """The keys of ``raw`` that are trial settings a study may set; problems go to ``report``."""
    out: dict[str, Any] = {}
    known = registries()
    keys = TrialConfig.field_names()
    for key, value in raw.items():
        where = f"{path}.{key}"
        if key not in TrialConfig.model_fields:
            report.add(where, f"unknown trial setting {describe(key)}{did_you_mean(key, keys)}")
        elif key in _SET_BY_NETSEP or key == "dataset":
            report.add(
                where, f"{key!r} is set by netsep for each run (dataset: the top-level key), got {describe(value)}"
            )
        else:
            check_name(key, value, where, known, report)
            out[key] = value
    return out


def _arms(raw: dict[Any, Any], fixed: dict[str, Any], report: Report) -> dict[str, dict[str, Any]]:
    arms: dict[str, dict[str, Any]] = {}
    for name, settings in raw.items():
        where = f"arms.{name}"
        if not isinstance(name, str) or not _ARM_NAME.fullmatch(name):
            report.add(where, f"an arm name is 1-40 letters, digits, '_', '.', '+', '-', got {describe(name)}")
            continue
        if name in _RESERVED_ARMS:
            report.add(
                where, f"{name!r} is the name of an arm netsep adds itself (reserved: {', '.join(_RESERVED_ARMS)})"
            )
            continue
        if not isinstance(settings, dict):
            report.add(where, f"must be a mapping of trial settings, got {describe(settings)}")
            continue
        config = {**fixed, **_settings(settings, where, report)}
        try:
            TrialConfig.from_dict({**config, "seed": 0, "final_test": True})
        except ConfigError as error:
            for problem in error.problems:
                key, sep, rule = problem.partition(": ")
                # "w_adv: rule" -> "arms.x.w_adv: rule"; cross-key rules stay on the arm
                report.add(f"{where}.{key}", rule) if sep and key in TrialConfig.model_fields else report.add(
                    where, problem
                )
            continue
        arms[name] = config
    return arms
