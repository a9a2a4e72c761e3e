"""Lab machines on one host: Ray nodes, each in its own network namespace.

A ``LabNetwork`` is a Linux bridge in the root namespace and one network namespace
per "machine", joined to the bridge by a veth pair, with an address in a private /24
that the test creates (``10.213.X.0/24``). The namespaces have no default route and
the bridge has no uplink and no address in the root namespace, so processes in them
reach only each other and their own loopback: nothing leaves the machine.

A ``RayLab`` starts Ray on those namespaces with the *same* ``ray start`` commands
``cluster.yaml`` gives the cluster launcher (parsed from the file, so the tests and
the file cannot drift), plus what only a test on one host needs (``--num-cpus 1``,
the node's address, its own temp dir, a small object store) and minus what needs ssh
(``--autoscaling-config``).

Every process is stopped by pid: the processes in a namespace are exactly the ones
these helpers started there (``ip netns pids``). Never ``ray stop``, which stops every
Ray process it can see on the machine, and never a kill by name.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import REPO
from tests.processes import Listener, listening_sockets, ray_cli

__all__ = [
    "CLUSTER_YAML",
    "PORT_ENV",
    "PORT_FLAGS",
    "LabNetwork",
    "RayLab",
    "StartCommand",
    "load_cluster_yaml",
    "missing_requirements",
    "node_sockets",
    "pinned_ports",
    "start_commands",
]

CLUSTER_YAML = REPO / "cluster.yaml"

# The flags whose values are ports Ray listens on beyond loopback (a firewall opens these).
PORT_FLAGS = (
    "--port",
    "--ray-client-server-port",
    "--node-manager-port",
    "--object-manager-port",
    "--runtime-env-agent-port",
    "--dashboard-agent-grpc-port",
    "--dashboard-agent-listen-port",
    "--metrics-export-port",
)
# Ports only an environment variable sets (Ray's defaults: 44217 and 44227, on all interfaces).
PORT_ENV = ("AUTOSCALER_METRIC_PORT", "DASHBOARD_METRIC_PORT")
_HOME_VAR = re.compile(r"\$(HOME\b|\{HOME\})")


# ------------------------------------------------------------- cluster.yaml's commands
@dataclass(frozen=True)
class StartCommand:
    """One ``*_start_ray_commands`` entry: what it exports, and ``ray start``'s arguments."""

    env: dict[str, str]  # exported before `ray start`, as written (``$HOME`` unexpanded)
    args: tuple[str, ...]  # the arguments after ``ray start``, one ``--flag=value`` or ``--flag`` each

    def flag(self, name: str) -> str | None:
        """The value of ``--name=value``; "" for a bare ``--name``; None when absent."""
        for arg in self.args:
            key, sep, value = arg.partition("=")
            if key == name:
                return value if sep else ""
        return None

    def flags(self) -> dict[str, str]:
        return {a.partition("=")[0]: a.partition("=")[2] for a in self.args}


def load_cluster_yaml(path: Path = CLUSTER_YAML) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got {type(config).__name__}")
    return config


def _parse_start(commands: Sequence[str], where: str) -> StartCommand:
    """The one ``ray start`` of a command list, with the variables exported before it.

    Every shell segment must be one the tests understand (``ray stop``, ``export``,
    ``ulimit``, ``chmod 600``, ``ray start``): anything new in cluster.yaml fails here instead of being
    silently left out of the tests.
    """
    found: StartCommand | None = None
    for command in commands:
        env: dict[str, str] = {}
        for segment in (s.strip() for s in command.split(";")):
            if not segment:
                continue
            words = shlex.split(segment)
            if words[:2] == ["ray", "stop"] and len(words) == 2:
                continue
            if words[0] == "ulimit":
                continue  # a per-machine limit; the test host keeps its own
            if words[:2] == ["chmod", "600"]:
                continue  # the token file's mode (test_ray_up checks it); the namespaced labs make their own
            if words[0] == "export":
                for item in words[1:]:
                    key, sep, value = item.partition("=")
                    if not sep:
                        raise ValueError(f"cluster.yaml {where}: `export {item}` has no value")
                    env[key] = value
                continue
            if words[:2] == ["ray", "start"]:
                if found is not None:
                    raise ValueError(f"cluster.yaml {where}: more than one `ray start`")
                for arg in words[2:]:
                    if not arg.startswith("--"):
                        raise ValueError(
                            f"cluster.yaml {where}: write `ray start` arguments as --flag=value, got {arg!r}"
                        )
                found = StartCommand(env=env, args=tuple(words[2:]))
                continue
            raise ValueError(
                f"cluster.yaml {where}: the tests do not know the shell command {segment!r}; "
                "teach tests/cluster/netns.py about it"
            )
    if found is None:
        raise ValueError(f"cluster.yaml {where}: no `ray start` command")
    return found


def start_commands(config: dict[str, Any] | None = None) -> tuple[StartCommand, StartCommand]:
    """(head, worker) ``ray start`` commands of cluster.yaml."""
    config = load_cluster_yaml() if config is None else config
    return (
        _parse_start(config["head_start_ray_commands"], "head_start_ray_commands"),
        _parse_start(config["worker_start_ray_commands"], "worker_start_ray_commands"),
    )


def pinned_ports(command: StartCommand) -> set[int]:
    """Every port a node started with ``command`` may listen on beyond loopback."""
    ports = {int(v) for f in PORT_FLAGS if (v := command.flag(f))}
    ports |= {int(v) for k, v in command.env.items() if k in PORT_ENV}
    low, high = command.flag("--min-worker-port"), command.flag("--max-worker-port")
    if low and high:
        ports.update(range(int(low), int(high) + 1))
    return ports


# ------------------------------------------------------------------------ the host
def missing_requirements() -> str | None:
    """Why the namespace tests cannot run here, or None when they can."""
    if os.name != "posix" or not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    if shutil.which("ss") is None:
        return "`ss` (iproute2) is not installed"
    probe = f"nsprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is not permitted here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")


_counter = itertools.count()


class LabNetwork:
    """A bridge and ``size`` namespaces ``<prefix>-0 .. -N`` at 10.213.X.1 .. X.N.

    Names include the pid and a counter, so runs side by side never share one. Use it
    as a context manager: leaving it kills every process in its namespaces (by pid)
    and deletes them, also when the test failed.
    """

    def __init__(self, size: int) -> None:
        tag = f"{os.getpid()}{next(_counter)}"
        self.prefix = f"nsep{tag}"
        self.bridge = f"nsb{tag}"[:15]  # interface names: 15 characters at most
        # A per-run third octet keeps two runs' addresses apart in logs and in Ray's
        # process scans (Ray finds raylets by looking at the machine's process list).
        self.subnet = f"10.213.{os.getpid() % 250 + 1}"
        self.names = [f"{self.prefix}-{i}" for i in range(size)]
        self.ips = [f"{self.subnet}.{i + 1}" for i in range(size)]
        self._veths: list[str] = []
        self._made: list[str] = []

    def __enter__(self) -> LabNetwork:
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            self._made.append(self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i, (name, address) in enumerate(zip(self.names, self.ips)):
                _ip("netns", "add", name)
                self._made.append(name)
                host_end, ns_end = f"nsv{self.bridge[3:]}h{i}"[:15], f"nsv{self.bridge[3:]}n{i}"[:15]
                _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
                self._veths.append(host_end)
                _ip("link", "set", ns_end, "netns", name)
                _ip("link", "set", host_end, "master", self.bridge, "up")
                _ip("-n", name, "link", "set", "lo", "up")
                _ip("-n", name, "addr", "add", f"{address}/24", "dev", ns_end)
                _ip("-n", name, "link", "set", ns_end, "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exec_argv(self, node: int, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside node ``node``'s namespace (``ip netns exec`` execs it: same pid)."""
        return ["ip", "netns", "exec", self.names[node], *argv]

    def pids(self, node: int) -> list[int]:
        done = subprocess.run(["ip", "netns", "pids", self.names[node]], capture_output=True, text=True, check=False)
        return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []

    def kill_node(self, node: int, timeout_s: float = 20.0) -> list[int]:
        """SIGKILL every process in node ``node``'s namespace (a machine losing power)."""
        killed: list[int] = []
        deadline = time.monotonic() + timeout_s
        while pids := self.pids(node):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {pids} in {self.names[node]} survive SIGKILL")
            time.sleep(0.2)
        return killed

    def close(self) -> None:
        problems: list[str] = []
        for i, name in enumerate(self.names):
            if name not in self._made:
                continue
            try:
                self.kill_node(i)
            except RuntimeError as error:
                problems.append(str(error))
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            self._made.remove(name)
        for veth in self._veths:  # gone with their namespace already, normally
            subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)
        self._veths.clear()
        if self.bridge in self._made:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
            self._made.remove(self.bridge)
        if problems:
            raise RuntimeError("; ".join(problems))


# ----------------------------------------------------------------------- Ray on it
def _replace_flags(args: Iterable[str], drop: Iterable[str], add: dict[str, str]) -> list[str]:
    drop = set(drop) | set(add)
    out = [a for a in args if a.partition("=")[0] not in drop]
    out += [f"{k}={v}" if v != "" else k for k, v in add.items()]
    return out


@dataclass
class RayLab:
    """Ray on a ``LabNetwork``: node 0 the head, the rest workers, as cluster.yaml starts them."""

    net: LabNetwork
    workdir: Path  # logs of the `ray start` commands
    cpus_per_node: int = 1
    object_store_bytes: int = 150 * 1024**2
    head: StartCommand = field(init=False)
    worker: StartCommand = field(init=False)
    token_path: Path = field(init=False)
    env: dict[str, str] = field(init=False)  # what a client on the head runs with (the sweep's driver)
    _node_env: list[dict[str, str]] = field(init=False)
    _temp_root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.head, self.worker = start_commands()
        # A fresh token, in a fake home that plays the lab account's $HOME for the
        # token path cluster.yaml exports (its file_mounts put the token there).
        home = self.workdir / "home"
        head_env, worker_env = (self._expand(c.env, home) for c in (self.head, self.worker))
        for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH"):
            if head_env.get(key) != worker_env.get(key):
                raise ValueError(
                    f"cluster.yaml: head and workers must export the same {key}, got "
                    f"{head_env.get(key)!r} and {worker_env.get(key)!r}"
                )
        self.token_path = Path(head_env["RAY_AUTH_TOKEN_PATH"])
        self.token_path.parent.mkdir(parents=True, exist_ok=True)
        self.token_path.write_text(secrets.token_hex(32))  # 64 hex characters, as Ray's own tokens
        self.token_path.chmod(0o600)
        base = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        base["RAY_USAGE_STATS_ENABLED"] = "0"
        base["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {**base, **head_env}
        self._node_env = [{**base, **(head_env if i == 0 else worker_env)} for i in range(len(self.net.names))]
        # Unix socket paths must stay under ~108 bytes: short temp dirs, not pytest's.
        self._temp_root = Path(tempfile.mkdtemp(prefix="nsr", dir="/tmp"))

    @staticmethod
    def _expand(env: dict[str, str], home: Path) -> dict[str, str]:
        out = {k: _HOME_VAR.sub(str(home), v) for k, v in env.items()}
        for key, value in out.items():
            if "$" in value:
                raise ValueError(f"cluster.yaml exports {key}={value}: the tests expand only $HOME")
        return out

    @property
    def head_ip(self) -> str:
        return self.net.ips[0]

    @property
    def address(self) -> str:
        return f"{self.head_ip}:{self.head.flag('--port') or 6379}"

    @property
    def token(self) -> str:
        return self.token_path.read_text().strip()

    def temp_dir(self, node: int) -> Path:
        return self._temp_root / f"n{node}"

    def _start_args(self, node: int) -> list[str]:
        command = self.head if node == 0 else self.worker
        args = [a.replace("$RAY_HEAD_IP", self.head_ip) for a in command.args]
        if any("$" in a for a in args):
            raise ValueError(f"cluster.yaml: a `ray start` argument uses a variable the tests do not set: {args}")
        self.temp_dir(node).mkdir(parents=True, exist_ok=True)
        return _replace_flags(
            args,
            drop=["--autoscaling-config"],  # the autoscaler would ssh to cluster.yaml's worker_ips
            add={
                "--node-ip-address": self.net.ips[node],
                "--num-cpus": str(self.cpus_per_node),
                "--num-gpus": "0",
                "--temp-dir": str(self.temp_dir(node)),
                "--object-store-memory": str(self.object_store_bytes),
            },
        )

    def start(self, timeout_s: float = 120.0) -> None:
        for node in range(len(self.net.names)):
            self.start_node(node, timeout_s)
        self.wait_for_nodes(len(self.net.names), timeout_s)

    def start_node(self, node: int, timeout_s: float = 120.0) -> None:
        argv = self.net.exec_argv(node, [*ray_cli(), "start", *self._start_args(node)])
        log = self.workdir / f"ray-start-{node}.log"
        env = {**self._node_env[node], "RAY_TMPDIR": str(self.temp_dir(node))}
        with open(log, "w") as out:
            done = subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"`ray start` on node {node} failed ({done.returncode}):\n{log.read_text()[-3000:]}")

    def run_python(self, node: int, code: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
        """``python -c code`` inside node ``node``'s namespace, as a client of this cluster."""
        return subprocess.run(
            self.net.exec_argv(node, [sys.executable, "-c", code]),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=REPO,
            check=False,
        )

    def wait_for_nodes(self, count: int, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """Block until ``count`` nodes are alive; returns ``ray.nodes()`` of the alive ones."""
        code = (
            "import json, time, ray\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR', log_to_driver=False)\n"
            f"deadline = time.time() + {timeout_s}\n"
            "while True:\n"
            "    alive = [n for n in ray.nodes() if n['Alive']]\n"
            f"    if len(alive) >= {count} or time.time() > deadline: break\n"
            "    time.sleep(0.5)\n"
            "print('NODES=' + json.dumps([{'ip': n['NodeManagerAddress'], 'cpus': n['Resources'].get('CPU', 0)}"
            " for n in alive]))\n"
        )
        done = self.run_python(0, code, timeout_s + 60)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("NODES=")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"cannot list the cluster's nodes:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        nodes = json.loads(line[len("NODES=") :])
        if len(nodes) < count:
            raise RuntimeError(f"only {len(nodes)} of {count} Ray nodes came up: {nodes}")
        return nodes

    def close(self) -> None:
        try:
            self.net.close()
        finally:
            shutil.rmtree(self._temp_root, ignore_errors=True)


def node_sockets(net: LabNetwork, node: int) -> list[Listener]:
    """Every listening TCP socket in node ``node``'s namespace."""
    return listening_sockets(net.exec_argv(node, []))
