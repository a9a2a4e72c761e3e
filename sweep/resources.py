"""Per-trial resources: the one place that turns flags plus a cluster's size into them.

Used by a sweep (``sweep.plan.resolve_resources``) and by compare runs, so both
reserve the same CPUs and GPU fractions and refuse the same impossible requests.
Pure: numbers in, numbers out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweep.errors import UserError

__all__ = [
    "DEFAULT_CPUS_PER_TRIAL",
    "DEFAULT_GPU_FRACTION",
    "TrialResources",
    "default_max_concurrent",
    "resolve_trial_resources",
]

DEFAULT_CPUS_PER_TRIAL = 1.0  # CPUs reserved by one trial (its data loading is on-device)
DEFAULT_GPU_FRACTION = 0.25  # four trials share one GPU unless told otherwise


@dataclass(frozen=True)
class TrialResources:
    cpus_per_trial: float  # CPUs Ray reserves per trial
    gpus_per_trial: float  # GPUs per trial; a fraction packs several trials on one GPU
    max_concurrent: int  # trials running at once


def default_max_concurrent(cpus: float, gpus: float, cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials fit at once on the cluster's resources (at least one)."""
    fits = []
    # 1e-9: 3 CPUs / 0.3 per trial is 9.999999999999998 in floating point, and 10 fit.
    if cpus_per_trial > 0:
        fits.append(math.floor(cpus / cpus_per_trial + 1e-9))
    if gpus_per_trial > 0:
        fits.append(math.floor(gpus / gpus_per_trial + 1e-9))
    return max(1, min(fits) if fits else 1)


def resolve_trial_resources(
    cpus_per_trial: float | None,
    gpus_per_trial: float | None,
    max_concurrent: int | None,
    cluster_cpus: float,
    cluster_gpus: float,
    *,
    device: str | None = None,
) -> TrialResources:
    """Fill what the user left out (``None``) from the cluster; refuse what cannot run.

    ``device`` is the trials' ``device`` setting: ``cpu`` with GPUs reserved would hold
    GPUs that no trial uses.
    """
    if gpus_per_trial is None:
        gpus_per_trial = DEFAULT_GPU_FRACTION if cluster_gpus > 0 else 0.0
    if gpus_per_trial > 0 and cluster_gpus == 0:
        raise UserError(f"--gpus-per-trial: {gpus_per_trial:g} asked for, but the Ray cluster has no GPU")
    if cpus_per_trial is None:
        cpus_per_trial = DEFAULT_CPUS_PER_TRIAL
    if cpus_per_trial > cluster_cpus:
        raise UserError(
            f"--cpus-per-trial: {cpus_per_trial:g} asked for, but the Ray cluster has {cluster_cpus:g} CPUs"
        )
    if gpus_per_trial > 0 and device == "cpu":
        raise UserError("device=cpu with --gpus-per-trial > 0 would reserve GPUs that the trials never use")
    concurrent = max_concurrent or default_max_concurrent(cluster_cpus, cluster_gpus, cpus_per_trial, gpus_per_trial)
    return TrialResources(cpus_per_trial, gpus_per_trial, concurrent)
