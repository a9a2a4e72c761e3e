"""cluster.yaml: valid for Ray's cluster launcher, and secure by its start commands.

Ray's own config preparation and schema validation (what ``ray up`` runs first,
``ray.autoscaler.sdk.bootstrap_config``) must accept the file once its placeholders
are filled; the ``ray start`` commands must be ones Ray's CLI parses, keep the
dashboard on loopback, turn token authentication on the way this Ray reads it (``ray
get-auth-token``), and pin every port so one firewall rule covers the cluster. Only
Ray's public command line and SDK are used; pyproject pins the Ray minor version the
file is written for. (That a cluster started so refuses a client without the token is
tested in ``test_multihost.py``.)
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.netns import CLUSTER_YAML, StartCommand, load_cluster_yaml, pinned_ports, start_commands
from tests.helpers import REPO
from tests.processes import ray_cli

PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)>")
FILLED = {
    "HEAD_IP": "10.0.0.10",
    "WORKER_IP_1": "10.0.0.11",
    "WORKER_IP_2": "10.0.0.12",
    "SSH_USER": "lab",
    "SSH_PRIVATE_KEY": "~/.ssh/id_ed25519",
    "NETSEP_GIT_URL": "https://git.example.org/lab/netsep.git",
}


def _fill(value: Any) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: FILLED[m.group(1)], value)
    if isinstance(value, list):
        return [_fill(v) for v in value]
    if isinstance(value, dict):
        return {_fill(k): _fill(v) for k, v in value.items()}
    return value


def _placeholders(value: Any) -> set[str]:
    return set(PLACEHOLDER.findall(json.dumps(value)))


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_cluster_yaml()


@pytest.fixture(scope="module")
def commands(config: dict[str, Any]) -> tuple[StartCommand, StartCommand]:
    return start_commands(config)


def test_placeholders_are_marked_and_ray_accepts_the_filled_file(config: dict[str, Any]) -> None:
    from ray.autoscaler.sdk import bootstrap_config

    assert _placeholders(config) == set(FILLED), "every site-specific value is a <PLACEHOLDER>"
    assert _placeholders(config["provider"]) == {"HEAD_IP", "WORKER_IP_1", "WORKER_IP_2"}
    assert _placeholders(config["auth"]) == {"SSH_USER", "SSH_PRIVATE_KEY"}
    filled = _fill(copy.deepcopy(config))
    prepared = bootstrap_config(filled, no_config_cache=True)  # fills defaults, validates the schema (raises)
    assert not _placeholders(prepared)
    provider = {k: v for k, v in prepared["provider"].items() if not k.startswith("_")}  # Ray's own bookkeeping
    assert provider == {"type": "local", "head_ip": "10.0.0.10", "worker_ips": ["10.0.0.11", "10.0.0.12"]}
    # The local provider keeps every listed worker in the cluster.
    node_type = prepared["available_node_types"][prepared["head_node_type"]]
    assert node_type["min_workers"] == node_type["max_workers"] == 2


def test_unfilled_placeholders_are_not_addresses(config: dict[str, Any]) -> None:
    """Forgetting to fill one is an error at ssh time, never a connection to some real host."""
    text = json.dumps(config)
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text.replace("127.0.0.1", "")), (
        "cluster.yaml holds a literal IP address outside comments"
    )


def test_setup_installs_netsep_as_the_readme_does(config: dict[str, Any]) -> None:
    setup = " && ".join(config["setup_commands"])
    assert "git clone <NETSEP_GIT_URL>" in setup
    assert "pip install -e ." in setup
    assert "pip install -e ." in (REPO / "README.md").read_text(), "README's install command changed"


def test_start_commands_parse_with_rays_own_cli(commands: tuple[StartCommand, StartCommand]) -> None:
    from ray.scripts.scripts import start

    for command in commands:
        args = [a.replace("$RAY_HEAD_IP", "10.0.0.10") for a in command.args]
        ctx = start.make_context("ray start", args)  # click: unknown flags / bad values raise
        assert ctx.params["disable_usage_stats"] is True


def test_dashboard_stays_on_loopback(commands: tuple[StartCommand, StartCommand]) -> None:
    head, worker = commands
    assert head.flag("--head") == ""
    assert head.flag("--dashboard-host") == "127.0.0.1"
    assert head.flag("--include-dashboard") in (None, "true", "True")
    assert head.flag("--dashboard-port") == "8265"  # where `ray dashboard cluster.yaml` forwards to
    assert worker.flag("--head") is None and worker.flag("--address") == "$RAY_HEAD_IP:6379"


def _ray_auth_token(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``ray get-auth-token ARGS`` in exactly ``env`` (Ray's public way to show the token it would use)."""
    return subprocess.run(
        [*ray_cli(), "get-auth-token", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_token_authentication_on_every_node_from_the_mounted_file(
    config: dict[str, Any], commands: tuple[StartCommand, StartCommand], tmp_path: Path
) -> None:
    head, worker = commands
    for command in commands:
        assert command.env["RAY_AUTH_MODE"] == "token"  # the value Ray's token-auth docs name
    assert head.env["RAY_AUTH_TOKEN_PATH"] == worker.env["RAY_AUTH_TOKEN_PATH"]
    remote = head.env["RAY_AUTH_TOKEN_PATH"].replace("$HOME", "~")
    # file_mounts copies the token that `ray get-auth-token --generate` wrote on the user's
    # machine: find where this Ray writes it, in a home of our own.
    home = tmp_path / "home"
    home.mkdir()
    done = _ray_auth_token({"PATH": os.environ["PATH"], "HOME": str(home)}, "--generate")
    assert done.returncode == 0, done.stderr[-2000:]
    (written,) = [p for p in home.rglob("*") if p.is_file()]
    assert written.read_text().strip() == done.stdout.strip()
    assert config["file_mounts"].get(remote) == "~/" + str(written.relative_to(home))
    assert any(remote in c and "chmod 600" in c for c in config["setup_commands"])


def test_the_token_variables_are_the_ones_this_ray_reads(
    commands: tuple[StartCommand, StartCommand], tmp_path: Path
) -> None:
    """A fresh process with exactly cluster.yaml's exports uses the mounted token."""
    head, _ = commands
    token = "0123456789abcdef" * 4
    path = Path(head.env["RAY_AUTH_TOKEN_PATH"].replace("$HOME", str(tmp_path)))
    path.parent.mkdir(parents=True)
    path.write_text(token)
    elsewhere = tmp_path / "elsewhere"  # a HOME without a token: only the exported path can give it
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(elsewhere),
        **{k: v.replace("$HOME", str(tmp_path)) for k, v in head.env.items()},
    }
    done = _ray_auth_token(env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == token
    assert not elsewhere.exists()  # nothing generated or read in the default place


def test_ports_are_pinned_for_one_firewall_rule(commands: tuple[StartCommand, StartCommand]) -> None:
    head, worker = commands
    for command in commands:
        for flag in (
            "--node-manager-port",
            "--object-manager-port",
            "--min-worker-port",
            "--max-worker-port",
            "--runtime-env-agent-port",
            "--dashboard-agent-grpc-port",
            "--dashboard-agent-listen-port",
            "--metrics-export-port",
        ):
            assert command.flag(flag), f"{flag} is not pinned"
    # The same ports on every machine, the head's client and metrics ports on top.
    assert pinned_ports(worker) < pinned_ports(head)
    assert {k: v for k, v in worker.flags().items() if k != "--address"} == {
        k: v for k, v in head.flags().items() if k in worker.flags() and k != "--address"
    }
    assert head.flag("--ray-client-server-port") == "10001"
    assert {"AUTOSCALER_METRIC_PORT", "DASHBOARD_METRIC_PORT"} <= set(head.env)
    # The ranges that docs/cluster.md and cluster.yaml's header tell the firewall to open.
    ranges = _ranges(pinned_ports(head))
    assert ranges == [(6379, 6387), (10001, 10999)], ranges
    for text in ((REPO / "docs" / "cluster.md").read_text(), CLUSTER_YAML.read_text()):
        for low, high in ranges:
            assert f"{low}-{high}" in text


def _ranges(ports: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for port in sorted(ports):
        if out and port == out[-1][1] + 1:
            out[-1] = (out[-1][0], port)
        else:
            out.append((port, port))
    return out
