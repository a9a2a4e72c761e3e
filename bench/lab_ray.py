"""Ray on lab machines (``bench.lab_network``), started as cluster.yaml starts it.

A ``RayLab`` starts Ray on a ``LabNetwork``'s namespaces with the *same* ``ray start``
commands ``cluster.yaml`` gives the cluster launcher (parsed from the file, so the
tests, the benchmarks and the file cannot drift), plus what only one host needs
(``--num-cpus``, the node's address, its own temp dir, a small object store) and minus
what needs ssh (``--autoscaling-config``).

Every process is stopped by pid (``LabNetwork.close``). Never ``ray stop``, which stops
every Ray process it can see on the machine.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.lab_network import LabNetwork

__all__ = [
    "CLUSTER_YAML",
    "PORT_ENV",
    "PORT_FLAGS",
    "REPO",
    "RayLab",
    "StartCommand",
    "load_cluster_yaml",
    "pinned_ports",
    "ray_cli",
    "start_commands",
]

REPO = Path(__file__).resolve().parents[1]
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


def ray_cli() -> list[str]:
    """The `ray` of this interpreter (not whatever `ray` is first on PATH)."""
    beside = Path(sys.executable).with_name("ray")
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "ray.scripts.scripts"]


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
                "teach bench/lab_ray.py about it"
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
