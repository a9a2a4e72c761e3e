"""cluster.yaml: valid for Ray's cluster launcher, and secure by its start commands.

Ray's own config preparation and schema validation (what ``ray up`` runs first) must
accept the file once its placeholders are filled; the ``ray start`` commands must be
ones Ray's CLI parses, keep the dashboard on loopback, turn token authentication on
the way this Ray reads it, and pin every port so one firewall rule covers the cluster.
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.netns import CLUSTER_YAML, REPO, StartCommand, load_cluster_yaml, pinned_ports, start_commands

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
    from ray.autoscaler._private.util import prepare_config, validate_config

    assert _placeholders(config) == set(FILLED), "every site-specific value is a <PLACEHOLDER>"
    assert _placeholders(config["provider"]) == {"HEAD_IP", "WORKER_IP_1", "WORKER_IP_2"}
    assert _placeholders(config["auth"]) == {"SSH_USER", "SSH_PRIVATE_KEY"}
    filled = _fill(copy.deepcopy(config))
    prepared = prepare_config(filled)
    validate_config(prepared)  # raises on a schema error
    assert not _placeholders(prepared)
    assert prepared["provider"] == {"type": "local", "head_ip": "10.0.0.10", "worker_ips": ["10.0.0.11", "10.0.0.12"]}
    # The local provider keeps every listed worker in the cluster.
    node_type = prepared["available_node_types"][prepared["head_node_type"]]
    assert node_type["min_workers"] == node_type["max_workers"] == 2


def test_unfilled_placeholders_are_not_addresses(config: dict[str, Any]) -> None:
    """Forgetting to fill one is an error at ssh time, never a connection to some real host."""
    text = json.dumps(config)
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text.replace("127.0.0.1", "")), \
        "cluster.yaml holds a literal IP address outside comments"


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


def test_token_authentication_on_every_node_from_the_mounted_file(
    config: dict[str, Any], commands: tuple[StartCommand, StartCommand]
) -> None:
    from ray._private.authentication.authentication_token_setup import _get_default_token_path

    head, worker = commands
    for command in commands:
        assert command.env["RAY_AUTH_MODE"] == "token"
    assert head.env["RAY_AUTH_TOKEN_PATH"] == worker.env["RAY_AUTH_TOKEN_PATH"]
    remote = head.env["RAY_AUTH_TOKEN_PATH"].replace("$HOME", "~")
    # file_mounts copies the token that `ray get-auth-token --generate` wrote on the user's machine.
    default = "~/" + str(_get_default_token_path().relative_to(Path.home()))
    assert config["file_mounts"].get(remote) == default
    assert any(remote in c and "chmod 600" in c for c in config["setup_commands"])


def test_the_token_variables_are_the_ones_this_ray_reads(commands: tuple[StartCommand, StartCommand],
                                                        tmp_path: Path) -> None:
    """A fresh process with exactly cluster.yaml's exports is in token mode with the mounted token."""
    head, _ = commands
    token = "0123456789abcdef" * 4
    path = Path(head.env["RAY_AUTH_TOKEN_PATH"].replace("$HOME", str(tmp_path)))
    path.parent.mkdir(parents=True)
    path.write_text(token)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "elsewhere"),
           **{k: v.replace("$HOME", str(tmp_path)) for k, v in head.env.items()}}
    code = (
        "from ray._raylet import AuthenticationMode, AuthenticationTokenLoader, get_authentication_mode\n"
        "print(get_authentication_mode() == AuthenticationMode.TOKEN)\n"
        "print(AuthenticationTokenLoader.instance().get_raw_token(ignore_auth_mode=False))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", token]


def test_ports_are_pinned_for_one_firewall_rule(commands: tuple[StartCommand, StartCommand]) -> None:
    head, worker = commands
    for command in commands:
        for flag in ("--node-manager-port", "--object-manager-port", "--min-worker-port", "--max-worker-port",
                     "--runtime-env-agent-port", "--dashboard-agent-grpc-port", "--dashboard-agent-listen-port",
                     "--metrics-export-port"):
            assert command.flag(flag), f"{flag} is not pinned"
    # The same ports on every machine, the head's client and metrics ports on top.
    assert pinned_ports(worker) < pinned_ports(head)
    assert {k: v for k, v in worker.flags().items() if k != "--address"} == \
        {k: v for k, v in head.flags().items() if k in worker.flags() and k != "--address"}
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
