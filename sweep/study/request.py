"""What a user asks of ``launch.py study``, typed: the command line builds one, ``run_study_request`` runs it."""

from __future__ import annotations

from dataclasses import dataclass

from sweep.requests import DEFAULT_STORAGE

__all__ = ["StudyRequest"]


@dataclass(frozen=True)
class StudyRequest:
    study: str  # a study in studies/ by name, or a path to its YAML file
    storage: str = DEFAULT_STORAGE  # the results folder is <storage>/<study name>/
    address: str | None = None  # a Ray cluster to join; None starts a local Ray
    cpus_per_trial: float | None = None  # None: 1
    gpus_per_trial: float | None = None  # None: a fraction of a GPU where the cluster has GPUs, else 0
    max_concurrent: int | None = None  # None: as many runs as the resources fit
    resume: bool = False  # continue the study's runs in <storage>/<name>/
    report_only: bool = False  # rebuild the report from <storage>/<name>/ alone
    dry_run: bool = False  # print the plan, the estimated wall time and the expected MDE; run nothing
    dashboard: bool = True  # start the local Ray with its dashboard
