"""The Ray nodes a run used, for its provenance record (``sweep.provenance``).

Ray's node table (``ray.nodes()``) lists every node that joined the cluster in this
session, also those lost since (``Alive`` false): a trial can only have run on one of
them, and a lost node may well have run some. The table is read at the end of a run,
so nodes that joined while it ran are in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["describe_nodes", "ray_nodes"]


def describe_nodes(table: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ray's node table as plain records: host, address, node id, alive, CPUs and GPUs."""
    out = []
    for node in table:
        resources = node.get("Resources") or {}
        out.append(
            {
                "host": node.get("NodeManagerHostname"),
                "address": node.get("NodeManagerAddress"),
                "node_id": node.get("NodeID"),
                "alive": bool(node.get("Alive")),
                "cpus": float(resources.get("CPU", 0)),
                "gpus": float(resources.get("GPU", 0)),
            }
        )
    return sorted(out, key=lambda n: (str(n["host"]), str(n["address"]), str(n["node_id"])))


def ray_nodes() -> list[dict[str, Any]]:
    """The connected cluster's nodes (``describe_nodes``); empty when Ray is not connected or does not answer."""
    import ray

    if not ray.is_initialized():
        return []
    try:
        return describe_nodes(ray.nodes())
    except Exception:  # noqa: BLE001 -- a cluster lost at the very end: the record says no nodes, the run stands
        return []
