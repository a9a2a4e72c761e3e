"""Per-trial resources: the one place that turns flags plus a cluster's size into them.

Used by every mode that runs trials (sweep, compare, study), so all of them reserve
the same CPUs and GPU fractions and refuse the same impossible requests:

* ``resolve_trial_resources`` fills what the user left out from the cluster's totals;
* ``check_trial_fits`` refuses a trial that no single node can hold. Ray places each
  trial on one node, so a trial asking for more GPUs (or CPUs) than the largest node
  has would wait forever as infeasible, even when the cluster as a whole has enough.

Pure: numbers in, numbers out (``sweep.backend.connection`` reads the nodes from Ray).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sweep.errors import UserError

__all__ = [
    "DEFAULT_CPUS_PER_TRIAL",
    "DEFAULT_GPU_FRACTION",
    "TrialResources",
    "check_trial_fits",
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


_EPS = 1e-9  # Ray's resource amounts are fixed-point decimals; compare with a tolerance


def check_trial_fits(cpus_per_trial: float, gpus_per_trial: float, nodes: Sequence[Mapping[str, float]]) -> None:
    """Raise ``UserError`` unless some node has both the CPUs and the GPUs of one trial.

    ``nodes``: each alive node's total resources as Ray reports them (``{"CPU": 8,
    "GPU": 2, ...}``). Without any node (nothing to compare with) nothing is checked.
    """
    if not nodes:
        return
    max_gpus = max(float(n.get("GPU", 0.0)) for n in nodes)
    max_cpus = max(float(n.get("CPU", 0.0)) for n in nodes)
    if gpus_per_trial > max_gpus + _EPS:
        raise UserError(
            f"--gpus-per-trial: {gpus_per_trial:g} asked for, but a trial runs on one node and the "
            f"largest node of the Ray cluster has {max_gpus:g} GPUs; use --gpus-per-trial <= {max_gpus:g}"
        )
    if cpus_per_trial > max_cpus + _EPS:
        raise UserError(
            f"--cpus-per-trial: {cpus_per_trial:g} asked for, but a trial runs on one node and the "
            f"largest node of the Ray cluster has {max_cpus:g} CPUs; use --cpus-per-trial <= {max_cpus:g}"
        )
    fits = [
        n
        for n in nodes
        if float(n.get("GPU", 0.0)) + _EPS >= gpus_per_trial and float(n.get("CPU", 0.0)) + _EPS >= cpus_per_trial
    ]
    if not fits:
        raise UserError(
            f"--cpus-per-trial {cpus_per_trial:g} with --gpus-per-trial {gpus_per_trial:g}: no node of the "
            "Ray cluster has both at once (a trial runs on one node); lower one of them"
        )
