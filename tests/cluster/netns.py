"""Lab machines on one host for the multi-host tests: Ray nodes in network namespaces.

The machinery lives in ``bench.lab_network`` (``LabNetwork``: namespaces on a private
bridge, ``10.213.X.0/24``, nothing leaves the machine) and ``bench.lab_ray``
(``RayLab``: Ray started on them with cluster.yaml's own ``ray start`` commands), which
the soak benchmark shares; this module re-exports them for the tests and adds what
only the tests look at (the sockets a node listens on).

Every process is stopped by pid (``ip netns pids``). Never ``ray stop``, which stops
every Ray process it can see on the machine, and never a kill by name.
"""

from __future__ import annotations

from bench.lab_network import LabNetwork, missing_requirements
from bench.lab_ray import (
    CLUSTER_YAML,
    PORT_ENV,
    PORT_FLAGS,
    REPO,
    RayLab,
    StartCommand,
    load_cluster_yaml,
    pinned_ports,
    start_commands,
)
from tests.processes import Listener, listening_sockets

__all__ = [
    "CLUSTER_YAML",
    "PORT_ENV",
    "PORT_FLAGS",
    "REPO",
    "LabNetwork",
    "RayLab",
    "StartCommand",
    "load_cluster_yaml",
    "missing_requirements",
    "node_sockets",
    "pinned_ports",
    "start_commands",
]


def node_sockets(net: LabNetwork, node: int) -> list[Listener]:
    """Every listening TCP socket in node ``node``'s namespace."""
    return listening_sockets(net.exec_argv(node, []))
