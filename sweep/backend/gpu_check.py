"""Before the first trial: can torch use the GPUs each GPU node declares?

A node that declares GPUs to Ray but whose torch sees no CUDA (a CPU-only torch wheel
on a GPU machine, a wrong driver, ``ray start --num-gpus`` on a machine without one)
would take every trial of a ``--gpus-per-trial`` run, fail it with a device error,
retry it and print a Ray traceback each time. ``check_gpu_nodes`` asks each such node
once, with a small Ray task pinned to it that holds a sliver of one GPU (so Ray sets
``CUDA_VISIBLE_DEVICES`` as it does for a trial) and asks torch, and turns the first
node that cannot into one user error (exit 2) naming it.
"""

from __future__ import annotations

from typing import Any

from sweep.errors import UserError

__all__ = ["GPU_PROBE_TIMEOUT_S", "check_gpu_nodes", "torch_sees_cuda"]

GPU_PROBE_TIMEOUT_S = 180.0  # a cold node imports torch (seconds) and may first start a worker
_PROBE_GPUS = 0.01  # enough for Ray to hand the task a GPU, little enough to fit beside anything


def torch_sees_cuda() -> tuple[bool, str]:
    """(usable, what torch says) on this process's machine: runs inside the probe task."""
    try:
        import torch
    except ImportError as error:
        return False, f"torch cannot be imported ({error})"
    if not torch.cuda.is_available():
        build = f"torch {torch.__version__}, CUDA build {torch.version.cuda or 'none (a CPU-only wheel)'}"
        return False, f"torch sees no CUDA device ({build})"
    return True, f"{torch.cuda.device_count()} CUDA device(s): {torch.cuda.get_device_name(0)}"


def check_gpu_nodes(timeout_s: float = GPU_PROBE_TIMEOUT_S) -> list[str]:
    """``UserError`` unless torch sees CUDA on every alive node that declares GPUs; what each said."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [n for n in ray.nodes() if n.get("Alive") and float(n.get("Resources", {}).get("GPU", 0)) > 0]
    if not nodes:
        return []
    probe = ray.remote(num_cpus=0, num_gpus=_PROBE_GPUS, max_retries=0)(torch_sees_cuda)
    pending: dict[Any, dict[str, Any]] = {
        probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(): n
        for n in nodes
    }
    said: list[str] = []
    ready, late = ray.wait(list(pending), num_returns=len(pending), timeout=timeout_s)
    for ref in late:
        ray.cancel(ref, force=True)
    for ref in ready:
        node = pending[ref]
        try:
            usable, what = ray.get(ref)
        except Exception as error:  # noqa: BLE001 -- the node could not even run the probe: say why
            usable, what = False, f"the probe failed ({type(error).__name__}: {str(error).strip().splitlines()[-1:]})"
        if not usable:
            raise UserError(_refusal(node, what))
        said.append(f"{_name(node)}: {what}")
    if late:
        raise UserError(
            _refusal(pending[late[0]], f"it did not answer within {timeout_s:g} s (busy, or no worker could start)")
        )
    return said


def _name(node: dict[str, Any]) -> str:
    return f"{node.get('NodeManagerHostname', '?')} ({node.get('NodeManagerAddress', '?')})"


def _refusal(node: dict[str, Any], what: str) -> str:
    gpus = float(node.get("Resources", {}).get("GPU", 0))
    return (
        f"--gpus-per-trial: node {_name(node)} declares {gpus:g} GPU(s) to Ray, but {what}; every trial "
        "placed there would fail. Install a CUDA build of torch on it (or start its Ray without --num-gpus), "
        "or run with --gpus-per-trial 0"
    )
