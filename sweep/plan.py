"""The sweep plan: a ``SweepRequest`` plus its space, validated into one typed object.

``build_plan`` checks everything a user can get wrong *before* anything is
written: the space, the dataset, ``key=value`` settings, the early-stop metric, the
storage path, the results folder's name. ``resolve_resources`` fills in the
per-trial resources once the cluster is known. ``load_plan`` reads a results
folder's plan back, pointing it at the folder it was given (a copied or moved
folder resumes in place, never into the original).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sweep.baselines import baseline_configs
from sweep.errors import UserError
from sweep.folders import read_json_file, results_location, write_text_atomically
from sweep.paths import is_uri
from sweep.requests import SMOKE_TEST, SweepRequest
from sweep.resources import resolve_trial_resources
from sweep.spaces import SearchSpace, load_space
from sweep.spaces.replication import MAX_REPLICATES, Replicates, replicates_from
from sweep.spaces.rules import RESERVED_SETTINGS, check_start_with, reserved_rule
from sweep.spaces.yaml_reader import read_yaml

__all__ = [
    "PLAN_FILE",
    "SPACE_COPY",
    "TUNE_DIR",
    "SweepPlan",
    "build_plan",
    "check_dataset",
    "check_wandb",
    "load_plan",
    "replicates_of",
    "start_with_of",
    "planned_baselines",
    "resolve_resources",
    "resolve_settings",
]

PLAN_FILE = "sweep.json"
SPACE_COPY = "space.yaml"
TUNE_DIR = "tune"


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep needs, validated; saved as ``sweep.json``."""

    space_file: str  # absolute path of the space as it was loaded
    name: str
    results_dir: str  # absolute local path of <storage>/<name>
    tune_storage: str  # where Tune keeps its experiment (local path or URI)
    trials: int
    fixed: dict[str, Any]  # space.fixed plus command-line settings, a valid TrialConfig subset
    cpus_per_trial: float | None = None  # None until resolve_resources
    gpus_per_trial: float | None = None
    max_concurrent: int | None = None
    early_stop: str | None = None
    wandb_project: str | None = None
    max_failures: int = 2
    baseline: bool = True
    address: str | None = None
    # Seeds per configuration [min, max] from --replicates (None: the space's `replicates`).
    replicates: list[int] | None = None
    enqueue: list[dict[str, Any]] = field(default_factory=list)  # --enqueue's configurations, checked
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def tune_path(self) -> str:
        return f"{self.tune_storage.rstrip('/')}/{TUNE_DIR}"

    def save(self) -> None:
        """``sweep.json`` (replaced atomically: a full disk leaves the previous one) and the space copy."""
        folder = Path(self.results_dir)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomically(folder / PLAN_FILE, json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        copy = folder / SPACE_COPY
        if not copy.is_file() or copy.is_symlink():
            write_text_atomically(copy, Path(self.space_file).read_text(encoding="utf-8"))


# ------------------------------------------------------------------ reading back
def load_plan(results_dir: str | Path) -> tuple[SweepPlan, SearchSpace]:
    """The plan and space of a results folder, located at ``results_dir`` (wherever it is now)."""
    folder = Path(results_dir)
    plan_path = folder / PLAN_FILE
    if not plan_path.is_file():
        raise UserError(
            f"{folder}: not a netsep results folder (no {PLAN_FILE} in it); "
            "pass the folder a sweep printed when it started, e.g. experiments/<name>"
        )
    plan = _read_plan(plan_path)
    # The copy travels with the results, so this works after the original moved.
    space = load_space(str(folder / SPACE_COPY))
    here = str(folder.resolve())
    tune_storage = plan.tune_storage if is_uri(plan.tune_storage) else here
    return replace(plan, results_dir=here, tune_storage=tune_storage), space


def _read_plan(path: Path) -> SweepPlan:
    """``sweep.json`` -> SweepPlan; a damaged file is a UserError naming it, not a traceback."""
    raw = read_json_file(path, "a sweep plan")
    known = {f.name for f in fields(SweepPlan)}
    if not isinstance(raw, dict) or set(raw) - known or not {"space_file", "name", "results_dir"} <= set(raw):
        raise UserError(
            f"{path}: cannot be read as a sweep plan (expected a JSON object with the keys {', '.join(sorted(known))})"
        )
    try:
        return SweepPlan(**raw)
    except TypeError as error:
        raise UserError(f"{path}: cannot be read as a sweep plan ({error})") from None


# -------------------------------------------------------------------- building
def build_plan(request: SweepRequest) -> tuple[SweepPlan, SearchSpace]:
    """Validate a sweep request and its space into a plan; writes nothing."""
    smoke = SMOKE_TEST if request.smoke_test else None
    space_name = request.space or (smoke["space"] if smoke else None)
    if not space_name:
        raise UserError(
            "launch.py: say which search space to run: --space NAME (e.g. --space loss_weights), "
            "or --smoke-test for a short demo"
        )
    space = load_space(space_name)
    fixed = resolve_settings(
        space,
        request.overrides,
        data=request.data,
        data_dir=request.data_dir,
        epochs=request.epochs,
        smoke=smoke is not None,
    )
    trials = request.trials or (smoke["trials"] if smoke else space.trials)
    _check_flags(request)
    replicates = _replicates(request, space, smoke)
    enqueued = _enqueued(request.enqueue, space)
    name = request.name or f"{space.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    results_dir, tune_storage = results_location(name, request.storage)
    plan = SweepPlan(
        space_file=str(space.source.resolve()),
        name=name,
        results_dir=results_dir,
        tune_storage=tune_storage,
        trials=trials,
        fixed=fixed,
        cpus_per_trial=request.cluster.cpus_per_trial,
        gpus_per_trial=request.cluster.gpus_per_trial,
        max_concurrent=request.cluster.max_concurrent,
        early_stop=request.early_stop,
        wandb_project=request.wandb,
        max_failures=request.max_failures,
        baseline=space.baseline,
        address=request.cluster.address,
        replicates=None if replicates is None else [replicates.min, replicates.max],
        enqueue=enqueued,
    )
    return plan, space


def _replicates(request: SweepRequest, space: SearchSpace, smoke: Mapping[str, Any] | None) -> Replicates | None:
    """--replicates (or the smoke test's 1), checked; None leaves the space's."""
    if request.replicates is None:
        return replicates_from(smoke["replicates"]) if smoke else None
    text = request.replicates.strip()
    if text.isdigit() and not 1 <= int(text) <= MAX_REPLICATES:
        raise UserError(f"--replicates: K must be a whole number from 1 to {MAX_REPLICATES}, got {text!r}")
    try:
        return replicates_from(int(text) if text.isdigit() else text)
    except ValidationError as error:
        rule = "; ".join(
            f"{'.'.join(map(str, e['loc']))} {e['msg'].removeprefix('Value error, ')}" for e in error.errors()
        )
    except ValueError:
        rule = f"must be K or MIN:MAX with whole numbers from 1 to {MAX_REPLICATES}"
    raise UserError(f"--replicates: {rule.strip()}; got {text!r}")


def _enqueued(path: str | None, space: SearchSpace) -> list[dict[str, Any]]:
    """--enqueue FILE.yaml: a list of configurations, each checked against the space like its start_with."""
    if path is None:
        return []
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"--enqueue: {path}: no such file (a YAML list of configurations to run first)")
    raw = read_yaml(file, str(path))
    if not isinstance(raw, list) or not raw:
        raise UserError(f"--enqueue: {path}: must be a non-empty YAML list of mappings of searched params to values")
    valid, problems = check_start_with(raw, space.params, "")
    if problems:
        where, rule = problems[0]
        raise UserError(f"--enqueue: {path}: entry {where}: {rule}")
    return valid


def replicates_of(plan: SweepPlan, space: SearchSpace) -> Replicates:
    """The seeds per configuration this sweep runs: --replicates, else the space's."""
    return space.replicates if plan.replicates is None else Replicates(min=plan.replicates[0], max=plan.replicates[1])


def start_with_of(plan: SweepPlan, space: SearchSpace) -> list[dict[str, Any]]:
    """The configurations that run first: the space's start_with, then --enqueue's."""
    return [*space.start_with, *plan.enqueue]


def resolve_settings(
    space: SearchSpace,
    overrides: Mapping[str, Any],
    *,
    data: str | None = None,
    data_dir: str | None = None,
    epochs: int | None = None,
    smoke: bool = False,
) -> dict[str, Any]:
    """The fixed trial settings: the space's, then the smoke preset, then flags and ``key=value``.

    Validated as trial settings (TrialConfig) and against the dataset on this machine.
    """
    from trainable.config import ConfigError, TrialConfig

    fixed: dict[str, Any] = dict(space.fixed)
    fixed.setdefault("dataset", space.dataset)
    if smoke:
        fixed.update(dataset=SMOKE_TEST["data"], epochs=SMOKE_TEST["epochs"], **SMOKE_TEST["fixed"])
    if data:
        fixed["dataset"] = data
    if data_dir:
        fixed["data_dir"] = data_dir
    if epochs:
        fixed["epochs"] = epochs
    _check_overrides(space, overrides)
    fixed.update(overrides)
    if isinstance(fixed.get("data_dir"), str) and fixed["data_dir"]:
        # Trials run in Ray's own working folders: a relative path must mean the user's.
        fixed["data_dir"] = str(Path(fixed["data_dir"]).expanduser().resolve())
    try:
        TrialConfig.from_dict(fixed)
    except ConfigError as err:
        raise UserError(f"command line / {space.source} fixed settings: " + "; ".join(err.problems)) from None
    _check_names(fixed, space)
    check_dataset(fixed)
    return fixed


def _check_overrides(space: SearchSpace, overrides: Mapping[str, Any]) -> None:
    clash = sorted(set(overrides) & set(space.params))
    if clash:
        raise UserError(
            f"command line: {clash[0]}={overrides[clash[0]]!r}: {clash[0]!r} is searched by "
            f"{space.source}; a searched parameter cannot also be fixed"
        )
    reserved = sorted(set(overrides) & set(RESERVED_SETTINGS))
    if reserved:
        raise UserError(f"command line: {reserved[0]}={overrides[reserved[0]]!r}: {reserved_rule(reserved[0])}")


def _check_names(fixed: Mapping[str, Any], space: SearchSpace) -> None:
    """Classifier and discriminator names must be in their registries (as the space's own are)."""
    from trainable.models import classifier_names, discriminator_names

    for key, kind, names in (
        ("classifier", "classifier", classifier_names()),
        ("disc_arch", "discriminator", discriminator_names()),
    ):
        value = fixed.get(key)
        if value is not None and value not in names:
            raise UserError(
                f"command line / {space.source} fixed settings: {key}: unknown {kind} {value!r}; "
                f"known: {', '.join(names)}"
            )


def _check_flags(request: SweepRequest) -> None:
    from trainable.metric_names import OBJECTIVE_METRICS

    if request.early_stop is not None and request.early_stop not in OBJECTIVE_METRICS:
        raise UserError(
            f"--early-stop: unknown metric {request.early_stop!r}; choose one of {', '.join(OBJECTIVE_METRICS)}"
        )
    if request.max_failures < 0:
        raise UserError(f"--max-failures: must be >= 0, got {request.max_failures}")


def check_dataset(fixed: Mapping[str, Any]) -> None:
    """Unknown dataset names, and a dataset that is not on this machine, are user errors."""
    from trainable.data import DatasetMissingError, dataset_names, load_dataset

    name = fixed.get("dataset", "digits")
    if name not in dataset_names():
        raise UserError(f"dataset: unknown dataset {name!r}; known: {', '.join(dataset_names())}")
    try:
        # Loads (and caches) it once here, on the driver, which ships it to every trial
        # (sweep.backend.tuner): a missing torchvision dataset is downloaded here, once,
        # where the network allows (each network wait capped, DOWNLOAD_TIMEOUT_S), and
        # otherwise the error says which files to put where.
        # The training split as a trial sees it: without its validation images (val_size, None = 10 %).
        _, train, _ = load_dataset(
            name, fixed.get("data_dir"), fixed.get("train_size"), download=True, val_size=fixed.get("val_size")
        )
    except DatasetMissingError as err:
        raise UserError(f"dataset {name!r}: {err}") from None
    except ValueError as err:  # train_size or val_size larger than the training split
        key = "val_size" if "val_size" in str(err) else "train_size"
        raise UserError(f"{key}: dataset {name!r}: {err}") from None
    batch_size = int(fixed.get("batch_size", 0) or 0)
    examples = len(train.labels)
    if batch_size > examples:
        raise UserError(
            f"batch_size: {batch_size} is larger than the {examples} training examples of {name!r}"
            f"{' (train_size)' if fixed.get('train_size') else ''}; each step needs one full batch"
        )


# ------------------------------------------------------------------ derived values
def planned_baselines(plan: SweepPlan, space: SearchSpace) -> list[dict[str, Any]]:
    """The `independent` baseline configs this sweep runs (none when the space turns them off)."""
    if not plan.baseline:
        return []
    return baseline_configs(plan.fixed, space.searched_objectives(), space.searched_pairings())


def resolve_resources(plan: SweepPlan, cpus: float, gpus: float) -> SweepPlan:
    """Fill per-trial resources from the cluster: fractional GPUs where GPUs exist."""
    resources = resolve_trial_resources(
        plan.cpus_per_trial, plan.gpus_per_trial, plan.max_concurrent, cpus, gpus, device=plan.fixed.get("device")
    )
    return replace(
        plan,
        cpus_per_trial=resources.cpus_per_trial,
        gpus_per_trial=resources.gpus_per_trial,
        max_concurrent=resources.max_concurrent,
    )


def check_wandb() -> None:
    """--wandb needs an API key unless wandb runs offline; say so before the sweep."""
    mode = os.environ.get("WANDB_MODE", "").lower()
    if mode in ("offline", "disabled", "dryrun"):
        return
    if os.environ.get("WANDB_API_KEY"):
        return
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    if netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore"):
        return
    raise UserError(
        "--wandb: no Weights & Biases API key found (WANDB_API_KEY or `wandb login`); "
        "set one, or run offline with WANDB_MODE=offline"
    )
