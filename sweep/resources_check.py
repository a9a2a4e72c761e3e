"""Does one trial fit on one node? Checked before a sweep starts, not discovered by a hang.

Ray places each trial on a single node, so a trial asking for more GPUs (or CPUs)
than the largest node has would wait forever as infeasible, even when the cluster
as a whole has enough. ``check_trial_fits`` turns that into a user error (exit 2)
naming the flag, what was asked and what the largest node has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sweep.errors import UserError

__all__ = ["check_trial_fits", "node_resources"]

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


def node_resources() -> list[dict[str, float]]:
    """Total resources of each alive node of the connected Ray cluster."""
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
