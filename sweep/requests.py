"""Typed requests: what a user asked for, before it is checked against anything.

The command line (``sweep.cli``) turns argv into one of these frozen objects; the
layers below (``sweep.plan``, the modes, the report) take the object and never see
argparse. A request holds the user's words, typed: ``None`` means "not given, use
the default", so the plan can tell an explicit choice from a default.

Every mode that runs trials (sweep, compare, study) takes the same ``ClusterOptions``:
where the runs go and what each reserves, declared once here and once in the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from sweep.errors import UserError

__all__ = [
    "DEFAULT_FIRST_SEED",
    "DEFAULT_MAX_FAILURES",
    "DEFAULT_STORAGE",
    "SMOKE_TEST",
    "ClusterOptions",
    "CompareRequest",
    "CompareStudiesRequest",
    "DashboardRequest",
    "ReportRequest",
    "ResumeRequest",
    "StudyRequest",
    "SweepRequest",
    "ValidateRequest",
    "parse_overrides",
]

DEFAULT_STORAGE = "experiments"  # where results folders live unless --storage says otherwise
DEFAULT_MAX_FAILURES = 2  # retries of a trial that raises
DEFAULT_FIRST_SEED = 1000  # compare's first seed: away from a sweep's own seeds (the winner's curse)

# --smoke-test: the Ray examples' convention, a real sweep that is done in ~2 minutes
# on 2 CPU cores. Explicit flags (--data, --trials, --epochs, key=value) still win.
SMOKE_TEST: Mapping[str, Any] = {
    "space": "loss_weights",
    "data": "digits",
    "trials": 4,
    "epochs": 2,
    "fixed": {"batch_size": 64},
    "replicates": 1,  # one seed per configuration: a demo (its summary says what more seeds would cost)
}


@dataclass(frozen=True)
class ClusterOptions:
    """Where a mode's runs go and what each one reserves (``--address``, ``--cpus-per-trial``, ...)."""

    address: str | None = None  # a Ray cluster to join; None starts a local Ray
    cpus_per_trial: float | None = None  # None: 1 (sweep.resources)
    gpus_per_trial: float | None = None  # None: a quarter GPU where the cluster has GPUs, else 0
    max_concurrent: int | None = None  # None: as many runs as the resources fit
    dashboard: bool = True  # a local Ray's dashboard (on 127.0.0.1)


@dataclass(frozen=True)
class SweepRequest:
    """``launch.py [run] ...``: start a new sweep."""

    space: str | None = None  # a name in search_spaces/ or a YAML path
    smoke_test: bool = False
    data: str | None = None  # dataset name, overriding the space's
    data_dir: str | None = None
    trials: int | None = None  # Optuna trials (>= 1)
    epochs: int | None = None  # epochs per trial (>= 1)
    name: str | None = None  # results folder name under storage
    storage: str = DEFAULT_STORAGE  # local path or URI
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    early_stop: str | None = None  # ASHA on this metric
    wandb: str | None = None  # Weights & Biases project
    max_failures: int = DEFAULT_MAX_FAILURES
    replicates: str | None = None  # "K" or "MIN:MAX", overriding the space's `replicates`
    enqueue: str | None = None  # a YAML file of configurations to run first (beside the space's start_with)
    overrides: Mapping[str, Any] = field(default_factory=dict)  # key=value trial settings, typed


@dataclass(frozen=True)
class ResumeRequest:
    """``launch.py --resume DIR``: continue the sweep in that results folder."""

    results_dir: str
    address: str | None = None  # None: the address the sweep was started with
    dashboard: bool = True


@dataclass(frozen=True)
class ReportRequest:
    """``launch.py report DIR``: rebuild a results folder's report from the folder alone."""

    results_dir: str


@dataclass(frozen=True)
class ValidateRequest:
    """``launch.py validate SPACE [key=value ...]``: check a space and settings, run nothing."""

    space: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareRequest:
    """``launch.py compare DIR``: retrain a sweep's front and its baselines over paired seeds."""

    sweep_dir: str  # a finished sweep's results folder
    seeds: int = 3  # seeds per arm (>= 2 for intervals)
    top: int = 2  # Pareto configurations to retrain
    first_seed: int = DEFAULT_FIRST_SEED  # seeds are first_seed .. first_seed + seeds - 1
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    resume: bool = False  # continue the interrupted compare run in <sweep_dir>/compare
    report_only: bool = False  # rebuild the compare report from <sweep_dir>/compare alone
    effect: float = 0.005  # the smallest ensemble-accuracy difference worth detecting (fraction: 0.005 = 0.5 pp)


@dataclass(frozen=True)
class StudyRequest:
    """``launch.py study NAME``: run, resume, estimate or report a pre-registered study."""

    study: str  # a study in studies/ by name, or a path to its YAML file
    storage: str = DEFAULT_STORAGE  # the results folder is <storage>/<study name>/
    cluster: ClusterOptions = field(default_factory=ClusterOptions)
    resume: bool = False  # continue the study's runs in <storage>/<name>/
    report_only: bool = False  # rebuild the report from <storage>/<name>/ alone
    dry_run: bool = False  # print the plan, the estimated wall time and the expected MDE; run nothing
    unregistered: bool = False  # run a study file git has not committed unchanged (its reports say so)


@dataclass(frozen=True)
class CompareStudiesRequest:
    """``launch.py compare-studies A B``: B minus A, arm by arm, paired by seed (two finished studies)."""

    a: str  # a finished study's (or compare's) results folder: read only
    b: str  # the other one: read only
    out: str | None = None  # a folder for compare_studies.csv; None: stdout only


@dataclass(frozen=True)
class DashboardRequest:
    """``launch.py dashboard DIR``: optuna-dashboard on a results folder's study."""

    results_dir: str
    port: int = 8080  # on 127.0.0.1


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` strings -> dict; values are read as YAML scalars (1e-3, true, null).

    A key given twice is a mistake (which one was meant?), not "the last wins".
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"command line: {item!r}: settings must look like key=value")
        if key in out:
            raise UserError(f"command line: {key!r} is given twice ({key}={out[key]!r} and {item!r}); give it once")
        out[key] = _scalar(text)
    return out


def _scalar(text: str) -> Any:
    """int, then float (YAML 1.1 reads `1e6` as a string), then a YAML scalar."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text
