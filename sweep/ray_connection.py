"""Starting a local Ray, or joining a cluster, with safe defaults.

The local default binds the dashboard to 127.0.0.1 (anyone who reaches Ray's ports
can run code on it: Ray's own threat model). Joining a cluster uses whatever that
cluster was started with (``cluster.yaml`` keeps its dashboard on loopback too).
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from sweep.errors import UserError

__all__ = ["RayInfo", "connect", "cluster_resources"]


@dataclass(frozen=True)
class RayInfo:
    address: str
    dashboard_url: str | None
    started_locally: bool
    cpus: float
    gpus: float


def connect(address: str | None, *, dashboard: bool = True, num_cpus: int | None = None) -> RayInfo:
    """``ray.init`` for a sweep; an unreachable ``address`` is a ``UserError``."""
    import ray

    # Tune's own per-trial logs stay in the results folder; keep Ray quiet otherwise.
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    if ray.is_initialized():
        ctx = None
    elif address:
        _check_reachable(address)
        try:
            ctx = ray.init(address=address, logging_level="ERROR", log_to_driver=True)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise UserError(
                f"--address: cannot connect to a Ray cluster at {address!r} ({_first_line(exc)}); "
                "start one with `ray start --head` or `ray up cluster.yaml`, or leave --address out "
                "to start a local Ray; if the cluster uses token authentication (cluster.yaml does), "
                "set RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH (docs/cluster.md)"
            ) from None
    else:
        kwargs: dict = {"include_dashboard": dashboard, "logging_level": "ERROR"}
        if dashboard:
            kwargs["dashboard_host"] = "127.0.0.1"
        if num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
        ctx = ray.init(**kwargs)
    resources = ray.cluster_resources()
    url = None
    if ctx is not None and getattr(ctx, "dashboard_url", None):
        url = ctx.dashboard_url if "://" in ctx.dashboard_url else f"http://{ctx.dashboard_url}"
    return RayInfo(
        address=address or (ctx.address_info.get("address", "local") if ctx is not None else "local"),
        dashboard_url=url,
        started_locally=not address,
        cpus=float(resources.get("CPU", 0)),
        gpus=float(resources.get("GPU", 0)),
    )


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a HOST:PORT nobody answers at (ray.init would retry for minutes)."""
    if address in ("auto", "local") or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f"--address: {address!r} must be HOST:PORT (e.g. 10.0.0.5:6379) or auto")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise UserError(
            f"--address: nothing answers at {address!r} ({exc.strerror or exc}); start the head node "
            "with `ray start --head` or `ray up cluster.yaml`, or leave --address out for a local Ray"
        ) from None


def cluster_resources() -> tuple[float, float]:
    """(CPUs, GPUs) of the connected cluster."""
    import ray

    r = ray.cluster_resources()
    return float(r.get("CPU", 0)), float(r.get("GPU", 0))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
