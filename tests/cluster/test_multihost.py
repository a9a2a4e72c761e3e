"""A sweep across several "lab machines": Ray nodes in their own network namespaces.

Each node is started with cluster.yaml's own ``ray start`` command (token auth on,
dashboard on the head's loopback, ports pinned) and ``--num-cpus 1``; the sweep's
driver runs on the head, as ``ray job submit`` would run it, and joins with
``--address HEAD:6379``. The results folder is a path all namespaces see (the
stand-in for the lab's NFS share).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.netns import RayLab, node_sockets, pinned_ports
from tests.helpers import read_csv, trial_results, tune_state
from tests.processes import Driver, poll

pytestmark = [pytest.mark.netns, pytest.mark.slow]

# The smoke test is 4 search trials + the baseline; three 1-CPU nodes run three at once.
SMOKE_TRIALS = 5


def _sweep_args(lab: RayLab, storage: Path, name: str, *extra: str) -> list[str]:
    return [
        "--smoke-test",
        "--address",
        lab.address,
        "--storage",
        str(storage),
        "--no-dashboard",
        "--name",
        name,
        *extra,
    ]


def _http_status(lab: RayLab, url: str, token: str | None) -> int:
    """GET ``url`` from the head's namespace (the dashboard listens on its loopback)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    code = (
        "import urllib.request, urllib.error\n"
        f"req = urllib.request.Request({url!r}, headers={headers!r})\n"
        "try:\n"
        "    print('STATUS', urllib.request.urlopen(req, timeout=10).status)\n"
        "except urllib.error.HTTPError as e:\n"
        "    print('STATUS', e.code)\n"
    )
    done = lab.run_python(0, code, timeout_s=60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("STATUS ")), None)
    assert line is not None, f"no answer from {url}: {done.stderr[-2000:]}"
    return int(line.split()[1])


def test_sweep_runs_across_nodes_and_listens_only_on_pinned_ports(
    lab3: RayLab, lab_driver: Callable[[RayLab, list[str]], Driver], tmp_path: Path
) -> None:
    lab = lab3
    # Token authentication is on: the dashboard's API refuses a request without the token.
    dashboard = f"http://127.0.0.1:{lab.head.flag('--dashboard-port')}/api/version"
    assert _http_status(lab, dashboard, None) == 401
    assert _http_status(lab, dashboard, lab.token) == 200

    # So is the GCS's: a client on another lab machine with a wrong token is turned away
    # (it takes Ray ~20 s to give up, so it runs beside the sweep).
    intruder_env = {**lab.env, "RAY_AUTH_TOKEN": "0" * 64}
    intruder_env.pop("RAY_AUTH_TOKEN_PATH")
    intruder = subprocess.Popen(
        lab.net.exec_argv(1, [sys.executable, "-c", f"import ray; ray.init(address={lab.address!r}); print('JOINED')"]),
        env=intruder_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )

    storage = tmp_path / "shared"
    driver = lab_driver(lab, _sweep_args(lab, storage, "spread"))
    tune_dir = storage / "spread" / "tune"

    def nodes_with_results() -> set[str]:
        return {r["node_ip"] for rows in trial_results(tune_dir).values() for r in rows}

    # While trials run on at least two machines, every socket Ray listens on beyond
    # loopback is one that cluster.yaml pins (the firewall rule of docs/cluster.md).
    poll(lambda: len(nodes_with_results()) >= 2, 240, "trials reporting from two nodes", alive=driver)
    allowed = {0: pinned_ports(lab.head)} | {i: pinned_ports(lab.worker) for i in range(1, 3)}
    dashboard_port = int(lab.head.flag("--dashboard-port") or 8265)
    for node in range(3):
        listeners = node_sockets(lab.net, node)
        assert listeners, f"nothing listens on node {node}?"
        exposed = [s for s in listeners if not s.loopback_only and s.port not in allowed[node]]
        assert not exposed, f"node {node} listens beyond loopback on ports cluster.yaml does not pin: {exposed}"
        dashboard_listeners = [s for s in listeners if s.port == dashboard_port]
        assert bool(dashboard_listeners) == (node == 0), f"the dashboard listens on node {node}: {listeners}"
        assert all(s.loopback_only for s in dashboard_listeners), listeners

    intruder_output = intruder.communicate(timeout=120)[0]
    assert intruder.returncode != 0 and "JOINED" not in intruder_output, intruder_output[-2000:]
    assert "token" in intruder_output.lower(), intruder_output[-2000:]

    assert driver.wait(300) == 0, driver.tail()
    rows = read_csv(storage / "spread" / "trials.csv")
    assert len(rows) == SMOKE_TRIALS
    assert {r["status"] for r in rows} == {"complete"}, rows
    used = nodes_with_results()
    assert used <= set(lab.net.ips), used
    assert len(used) >= 2, f"all trials ran on {used}"


# It kills a node of the shared lab, and starts it again at the end.
def test_trial_on_a_killed_node_resumes_from_its_checkpoint_elsewhere(
    lab3: RayLab, lab_driver: Callable[[RayLab, list[str]], Driver], tmp_path: Path
) -> None:
    lab = lab3
    victim = lab.net.ips[2]
    storage = tmp_path / "shared"
    epochs = 4
    # checkpoint_every=1: every epoch leaves a checkpoint (TrialConfig's default, made explicit).
    driver = lab_driver(lab, _sweep_args(lab, storage, "killed", "--epochs", str(epochs), "checkpoint_every=1"))
    tune_dir = storage / "killed" / "tune"

    def running_on_victim() -> tuple[str, list[int]] | None:
        for trial, rows in trial_results(tune_dir).items():
            if rows and rows[-1]["node_ip"] == victim and 1 <= rows[-1]["epoch"] < epochs:
                return trial, [r["epoch"] for r in rows]
        return None

    trial, before = poll(running_on_victim, 240, f"a trial on {victim} half-way through", every_s=0.1, alive=driver)
    try:
        killed = lab.net.kill_node(2)  # the machine loses power: raylet, workers, trial, all at once
        assert killed

        assert driver.wait(400) == 0, driver.tail()
        rows = read_csv(storage / "killed" / "trials.csv")
        assert len(rows) == SMOKE_TRIALS
        assert {r["status"] for r in rows} == {"complete"}, [(r["trial_id"], r["status"], r["reason"]) for r in rows]

        history = trial_results(tune_dir)[trial]
        reported = [r["epoch"] for r in history]
        # Resumed, not restarted: the epoch counter goes on from the checkpoint, once each.
        assert reported == list(range(1, epochs + 1)), f"{trial} reported epochs {reported} (before the kill: {before})"
        nodes = [r["node_ip"] for r in history]
        on_victim = nodes.count(victim)
        assert on_victim >= len(before) and nodes[:on_victim] == [victim] * on_victim, nodes
        after = nodes[on_victim:]
        assert after and set(after) <= set(lab.net.ips[:2]), f"{trial} ran at {nodes}"
        trial_id = trial.removeprefix("trial_")
        assert tune_state(tune_dir)[trial_id]["num_failures"] >= 1, json.dumps(tune_state(tune_dir)[trial_id])[:2000]
    finally:
        # The module's tests share the lab and pytest-randomly runs them in any order: the
        # machine comes back (a new raylet on the same address) for the ones after this.
        lab.start_node(2)
        lab.wait_for_nodes(3)
