"""The sweep plan: command line + space, validated into one typed object.

``build_plan`` checks everything a user can get wrong *before* anything is
written: the space, the dataset, ``key=value`` settings, the early-stop metric, the
storage path, the results folder's name. ``resolve_resources`` fills in the
per-trial resources once the cluster is known.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.spaces import SearchSpace, load_space

__all__ = [
    "SweepPlan", "PLAN_FILE", "SPACE_COPY", "TUNE_DIR", "build_plan", "load_plan",
    "resolve_resources", "default_max_concurrent", "check_wandb",
]

PLAN_FILE = "sweep.json"
SPACE_COPY = "space.yaml"
TUNE_DIR = "tune"
DEFAULT_GPU_FRACTION = 0.25  # four trials share one GPU unless told otherwise
_NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    @property
    def tune_path(self) -> str:
        return f"{self.tune_storage.rstrip('/')}/{TUNE_DIR}"

    def save(self) -> None:
        folder = Path(self.results_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / PLAN_FILE).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        copy = folder / SPACE_COPY
        if not copy.exists():
            shutil.copyfile(self.space_file, copy)


def load_plan(results_dir: str | Path) -> tuple[SweepPlan, SearchSpace]:
    folder = Path(results_dir)
    plan_path = folder / PLAN_FILE
    if not plan_path.is_file():
        raise UserError(f"{folder}: not a netsep results folder (no {PLAN_FILE} in it); "
                        "pass the folder a sweep printed when it started, e.g. experiments/<name>")
    plan = SweepPlan(**json.loads(plan_path.read_text()))
    # The copy travels with the results, so this works after the original moved.
    space = load_space(str(folder / SPACE_COPY))
    return plan, space


def _is_uri(path: str) -> bool:
    return "://" in path


def _check_writable(storage: str) -> None:
    """The nearest existing ancestor of ``storage`` must be a writable folder."""
    probe = Path(storage).resolve()
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"--storage: {storage!r} must be a folder, but {str(probe)!r} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"--storage: cannot write under {storage!r} ({str(probe)!r} is not writable)")


def build_plan(args: argparse.Namespace, smoke: dict[str, Any] | None = None) -> tuple[SweepPlan, SearchSpace]:
    """Validate the command line and the space into a plan; writes nothing."""
    from sweep.cli import parse_overrides
    from trainable.config import ConfigError, TrialConfig
    from trainable.metric_names import OBJECTIVE_METRICS

    space_name = args.space or (smoke["space"] if smoke else None)
    if not space_name:
        raise UserError("launch.py: say which search space to run: --space NAME (e.g. --space loss_weights), "
                        "or --smoke-test for a short demo")
    space = load_space(space_name)

    fixed: dict[str, Any] = dict(space.fixed)
    fixed.setdefault("dataset", space.dataset)
    trials = space.trials
    if smoke:
        fixed.update(dataset=smoke["data"], epochs=smoke["epochs"], **smoke["fixed"])
        trials = smoke["trials"]
    if args.data:
        fixed["dataset"] = args.data
    if args.data_dir:
        fixed["data_dir"] = str(Path(args.data_dir).resolve())
    if args.epochs:
        fixed["epochs"] = args.epochs
    if args.trials:
        trials = args.trials
    overrides = parse_overrides(args.overrides)
    clash = sorted(set(overrides) & set(space.params))
    if clash:
        raise UserError(f"command line: {clash[0]}={overrides[clash[0]]!r}: {clash[0]!r} is searched by "
                        f"{space.source}; a searched parameter cannot also be fixed")
    fixed.update(overrides)
    try:
        TrialConfig.from_dict({k: v for k, v in fixed.items() if k != "arm"})
    except ConfigError as err:
        raise UserError(f"command line / {space.source} fixed settings: " + "; ".join(err.problems)) from None
    _check_dataset(fixed)

    if args.early_stop is not None and args.early_stop not in OBJECTIVE_METRICS:
        raise UserError(f"--early-stop: unknown metric {args.early_stop!r}; choose one of "
                        f"{', '.join(OBJECTIVE_METRICS)}")
    if args.max_failures < 0:
        raise UserError(f"--max-failures: must be >= 0, got {args.max_failures}")

    name = args.name or f"{space.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not _NAME_RULE.match(name):
        raise UserError(f"--name: {name!r} must start with a letter or digit and hold only letters, digits, '.', '_', '-'")
    storage = args.storage
    if _is_uri(storage):
        results_dir = (Path("experiments") / name).resolve()
        tune_storage = f"{storage.rstrip('/')}/{name}"
    else:
        _check_writable(storage)
        results_dir = (Path(storage) / name).resolve()
        tune_storage = str(results_dir)
    if results_dir.exists():
        raise UserError(f"--name: results folder {str(results_dir)!r} already exists; "
                        f"continue it with --resume {results_dir} or choose another --name")
    plan = SweepPlan(
        space_file=str(space.source.resolve()), name=name, results_dir=str(results_dir),
        tune_storage=tune_storage, trials=trials, fixed=fixed,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
        max_concurrent=args.max_concurrent, early_stop=args.early_stop, wandb_project=args.wandb,
        max_failures=args.max_failures, baseline=space.baseline, address=args.address,
    )
    return plan, space


def _check_dataset(fixed: dict[str, Any]) -> None:
    """Unknown dataset names, and a dataset that is not on this machine, are user errors."""
    from trainable.data import DatasetMissingError, dataset_names, load_dataset

    name = fixed.get("dataset", "digits")
    if name not in dataset_names():
        raise UserError(f"dataset: unknown dataset {name!r}; known: {', '.join(dataset_names())}")
    try:
        # Loads (and caches) it once here, so the trials find it ready; no download.
        load_dataset(name, fixed.get("data_dir"), fixed.get("train_size"), download=False)
    except DatasetMissingError as err:
        raise UserError(f"dataset {name!r}: {err}") from None


def default_max_concurrent(cpus: float, gpus: float, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials fit at once on the cluster's resources (at least one)."""
    fits = []
    if cpus_per_trial > 0:
        fits.append(math.floor(cpus / cpus_per_trial + 1e-9))
    if gpus_per_trial > 0:
        fits.append(math.floor(gpus / gpus_per_trial + 1e-9))
    return max(1, min(fits) if fits else 1)


def resolve_resources(plan: SweepPlan, cpus: float, gpus: float) -> SweepPlan:
    """Fill per-trial resources from the cluster: fractional GPUs where GPUs exist."""
    gpus_per_trial = plan.gpus_per_trial
    if gpus_per_trial is None:
        gpus_per_trial = DEFAULT_GPU_FRACTION if gpus > 0 else 0.0
    if gpus_per_trial > 0 and gpus == 0:
        raise UserError(f"--gpus-per-trial: {gpus_per_trial:g} asked for, but the Ray cluster has no GPU")
    cpus_per_trial = plan.cpus_per_trial if plan.cpus_per_trial is not None else 1.0
    if cpus_per_trial > cpus:
        raise UserError(f"--cpus-per-trial: {cpus_per_trial:g} asked for, but the Ray cluster has {cpus:g} CPUs")
    concurrent = plan.max_concurrent or default_max_concurrent(cpus, gpus, cpus_per_trial, gpus_per_trial)
    if gpus_per_trial > 0 and plan.fixed.get("device") == "cpu":
        raise UserError("device=cpu with --gpus-per-trial > 0 would reserve GPUs that the trials never use")
    return replace(plan, cpus_per_trial=cpus_per_trial, gpus_per_trial=gpus_per_trial, max_concurrent=concurrent)


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
    raise UserError("--wandb: no Weights & Biases API key found (WANDB_API_KEY or `wandb login`); "
                    "set one, or run offline with WANDB_MODE=offline")
