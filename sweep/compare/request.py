"""What a user asks of compare mode, typed: the command line builds one, ``run_compare_request`` runs it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CompareRequest"]


@dataclass(frozen=True)
class CompareRequest:
    sweep_dir: str  # a finished sweep's results folder
    seeds: int = 3  # seeds per arm (>= 2 for intervals)
    top: int = 2  # Pareto configurations to retrain
    first_seed: int = 1000  # seeds are first_seed .. first_seed + seeds - 1, away from the sweep's own seed
    address: str | None = None  # a Ray cluster to join; None starts a local Ray
    cpus_per_trial: float | None = None  # None: 1
    gpus_per_trial: float | None = None  # None: a fraction of a GPU where the cluster has GPUs, else 0
    max_concurrent: int | None = None  # None: as many runs as the resources fit
    resume: bool = False  # continue the interrupted compare run in <sweep_dir>/compare
    report_only: bool = False  # rebuild the compare report from <sweep_dir>/compare alone
    dashboard: bool = True  # start the local Ray with its dashboard
    effect: float = 0.005  # the smallest ensemble-accuracy difference worth detecting (fraction: 0.005 = 0.5 pp)
