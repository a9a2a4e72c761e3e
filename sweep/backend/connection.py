"""Starting a local Ray, or joining a cluster, with safe defaults.

Anyone who reaches Ray's ports with its token can run code on it (Ray's own threat
model). A local Ray started here therefore

* binds the dashboard to 127.0.0.1;
* uses token authentication (Ray's default for a local ``ray.init`` since 2.52) with a
  token file only you can read: Ray writes ``~/.ray/auth_token`` with the process
  umask (0644, readable by every user of the machine), so netsep makes the file itself
  (0600, 256 random bits in hex, as Ray would) or tightens an existing one to 0600;
* turns off the dashboard agent's Prometheus export, which listens on every
  interface and answers without the token. Two more metrics servers, the
  autoscaler's (port 44217) and the dashboard's (44227), cannot be moved to loopback:
  Ray binds them to 127.0.0.1 only when the node's address is loopback, and
  ``ray.init`` turns 127.0.0.1 into the machine's address
  (``ray._private.services.resolve_ip_for_localhost``). They serve read-only metrics.

Joining a cluster uses whatever that cluster was started with (``cluster.yaml`` keeps
its dashboard on loopback and pins every port).
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from sweep.errors import UserError
from sweep.resources import check_trial_fits

__all__ = ["RayInfo", "cluster_resources", "connect", "node_resources", "private_token"]


@dataclass(frozen=True)
class RayInfo:
    address: str
    dashboard_url: str | None
    started_locally: bool
    cpus: float
    gpus: float
    notes: tuple[str, ...] = ()  # what netsep changed on this machine to start Ray safely
    nodes: tuple[dict[str, float], ...] = field(default=(), compare=False)  # each alive node's total resources

    def check_fits(self, cpus_per_trial: float, gpus_per_trial: float) -> None:
        """``UserError`` (exit 2) unless a trial can run: one node holds it (``sweep.resources``),
        and with GPUs, torch sees CUDA on every GPU node (``sweep.backend.gpu_check``)."""
        check_trial_fits(cpus_per_trial, gpus_per_trial, self.nodes)
        if gpus_per_trial > 0:
            from sweep.backend.gpu_check import check_gpu_nodes

            check_gpu_nodes()


def connect(address: str | None, *, dashboard: bool = True, num_cpus: int | None = None) -> RayInfo:
    """``ray.init`` for a sweep; an unreachable ``address`` is a ``UserError``."""
    import ray

    # Tune's own per-trial logs stay in the results folder; keep Ray quiet otherwise.
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    notes: tuple[str, ...] = ()
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
        note = private_token()
        notes = (note,) if note else ()
        # The agent's metrics port listens on 0.0.0.0 without the token; nobody scrapes a local Ray.
        os.environ.setdefault("RAY_enable_metrics_collection", "0")
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
        notes=notes,
        nodes=tuple(node_resources()),
    )


def private_token(home: Path | None = None) -> str | None:
    """Make the token file a local Ray will read private (0600); a note for the user, or None.

    Only the default ``~/.ray/auth_token``, and only when token authentication is on
    (``RAY_AUTH_MODE`` unset or ``token``): a token named by ``RAY_AUTH_TOKEN`` or
    ``RAY_AUTH_TOKEN_PATH`` is the user's own business.
    """
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None and mode.lower() != "token":
        return None
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return None
    path = (home or Path.home()) / ".ray" / "auth_token"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        info = path.stat()
        if info.st_uid != os.getuid() or not info.st_mode & 0o077:
            return None
        os.chmod(path, 0o600)
        return f"Ray's token {path} could be read by other users; it is now readable by you only (0600)"
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))  # what `ray get-auth-token --generate` writes: 256 random bits
    return f"made Ray's token {path} (readable by you only)"


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


def node_resources() -> list[dict[str, float]]:
    """Total resources of each alive node of the connected Ray cluster."""
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]


def cluster_resources() -> tuple[float, float]:
    """(CPUs, GPUs) of the connected cluster."""
    import ray

    r = ray.cluster_resources()
    return float(r.get("CPU", 0)), float(r.get("GPU", 0))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
