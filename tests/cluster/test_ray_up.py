"""`ray up` against real ssh hosts, end to end, as docs/cluster.md tells a lab to do it.

Three machines on one Linux host (``tests.cluster.sshd_hosts``): the user's own
machine, and two lab machines, each running its own sshd. On the user's machine the
test runs exactly the commands of docs/cluster.md, with a copy of cluster.yaml whose
placeholders are filled with the lab machines' addresses and a key the test made:

    ray get-auth-token --generate
    ray up -y cluster.yaml                       # file_mounts, setup_commands, head start
    ray exec cluster.yaml 'ray status'           # until the head's autoscaler started the worker
    ray dashboard cluster.yaml &                 # the ssh tunnel to the head's 127.0.0.1:8265
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- python launch.py ...
    ray down -y cluster.yaml

with ``RAY_AUTH_MODE=token`` as the only setting. The sweep's results folder is a
folder every machine sees at the same path (the lab's NFS share).
"""

from __future__ import annotations

import copy
import re
import stat
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.netns import REPO, LabNetwork, load_cluster_yaml
from tests.cluster.sshd_hosts import APT_PACKAGES, SshLab, missing_ssh_requirements
from tests.helpers import read_csv, require, trial_results

pytestmark = [pytest.mark.netns, pytest.mark.slow]

LAPTOP, HEAD, WORKER = 0, 1, 2
# One search trial + the baseline, each asking for a whole machine's CPUs: they start
# together, one on each machine. Tune hands a finished trial's process to a trial
# still waiting for its own, so the head's trial must outlast the start of the
# worker's trial process (15-35 s later than the head's on this shared 2-core host).
# 10 epochs (--smoke-test trains 2, ~6 s each here) make it last over a minute.
SEARCH_TRIALS = 1
EPOCHS = 10
WORKER_GIVES_UP_S = 20  # seconds the worker's Ray waits for a head it lost (Ray's default: 60)
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*)>")


def _installed_netsep() -> str | None:
    """Where this Python's netsep install points (pip's direct_url.json), None when absent."""
    try:
        return metadata.distribution("netsep").read_text("direct_url.json") or ""
    except metadata.PackageNotFoundError:
        return None


def _require_ssh_lab() -> None:
    reason = missing_ssh_requirements()
    if reason is None and _installed_netsep() is None:
        # The machines share this Python: setup_commands must find netsep installed
        # (their fast path), or they would install it from a machine's private clone.
        reason = "netsep is not pip-installed in this Python (pip install -e .)"
    require(reason is None, f"the `ray up` test needs root and {' '.join(APT_PACKAGES)}: {reason}")


@pytest.fixture
def ssh_lab(tmp_path: Path) -> Iterator[SshLab]:
    _require_ssh_lab()
    net = LabNetwork(3)
    net.__enter__()
    lab = SshLab(net, tmp_path, servers=[HEAD, WORKER])
    try:
        lab.start()
        yield lab
    finally:
        lab.close()


def filled_cluster_yaml(lab: SshLab, dest: Path) -> Path:
    """cluster.yaml with its placeholders filled for this lab (nothing else changed)."""
    config = copy.deepcopy(load_cluster_yaml())
    values = {
        "HEAD_IP": lab.machines[HEAD].ip,
        "SSH_USER": "root",
        "SSH_PRIVATE_KEY": str(lab.key),
        "NETSEP_GIT_URL": str(REPO),
    }

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {fill(k): fill(v) for k, v in value.items()}
        return value

    provider = config["provider"]
    assert provider["worker_ips"] == ["<WORKER_IP_1>", "<WORKER_IP_2>"], provider
    provider["worker_ips"] = [lab.machines[WORKER].ip]  # one worker machine here
    filled = fill(config)
    assert not _PLACEHOLDER.search(yaml.safe_dump(filled)), filled
    dest.write_text(yaml.safe_dump(filled, sort_keys=False))
    return dest


def _total_cpus(status: str) -> float:
    """The cluster's CPUs from `ray status` (its " 0.0/4.0 CPU" line)."""
    match = re.search(r"^\s*[\d.]+/([\d.]+) CPU\b", status, re.MULTILINE)
    assert match, status
    return float(match.group(1))


def _nodes_in_status(text: str) -> int:
    """Nodes that `ray status` lists as active or idle."""
    count, inside = 0, False
    for line in text.splitlines():
        if line.strip() in ("Active:", "Idle:"):
            inside = True
        elif line.strip().endswith(":"):
            inside = False
        elif inside and (m := re.match(r"\s+(\d+) \S", line)):
            count += int(m.group(1))
    return count


class Laptop:
    """The user's machine: runs `ray` commands in the repository, with RAY_AUTH_MODE=token."""

    def __init__(self, lab: SshLab, log: Path) -> None:
        self.lab, self.log = lab, log
        self.env = lab.env(RAY_AUTH_MODE="token", RAY_USAGE_STATS_ENABLED="0")

    def run(self, *argv: str, timeout_s: float, check: bool = True) -> str:
        done = self.lab.run(LAPTOP, argv, self.env, self.log, timeout_s)
        if check and done.returncode != 0:
            pytest.fail(f"`{' '.join(argv)}` failed ({done.returncode}):\n{done.stdout[-6000:]}\n{self.lab_logs()}")
        return done.stdout

    def lab_logs(self) -> str:
        """The head autoscaler's log: why a worker did not come up."""
        # session_latest is a link to an absolute path on the machine: look up the folder.
        sessions = sorted((self.lab.machines[HEAD].tmp / "ray").glob("session_2*"))
        if not sessions:
            return "(no Ray session on the head)"
        head_logs = sessions[-1] / "logs"
        parts = []
        for name in ("monitor.log", "monitor.out", "monitor.err"):
            path = head_logs / name
            if path.is_file():
                parts.append(f"--- head {name}:\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def http_status(self, url: str) -> int:
        """GET ``url`` from the user's machine without any token."""
        code = (
            "import urllib.request, urllib.error\n"
            "try:\n"
            f"    print('STATUS', urllib.request.urlopen({url!r}, timeout=10).status)\n"
            "except urllib.error.HTTPError as e:\n"
            "    print('STATUS', e.code)\n"
            "except OSError as e:\n"
            "    print('STATUS 0', e)\n"
        )
        out = self.run("python", "-c", code, timeout_s=60)
        return int(next(ln for ln in out.splitlines() if ln.startswith("STATUS ")).split()[1])


def _wait(what: str, timeout_s: float, probe: Callable[[], Any], laptop: Laptop, every_s: float = 2.0) -> Any:
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        value = probe()
        if value:
            with open(laptop.log, "a") as out:
                out.write(f"{time.strftime('%H:%M:%S')} waited {time.monotonic() - start:.0f} s for {what}\n")
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{laptop.lab_logs()}")
        time.sleep(every_s)


def test_ray_up_job_submit_through_the_tunnel_and_ray_down(ssh_lab: SshLab, tmp_path: Path) -> None:
    lab = ssh_lab
    head, worker = lab.machines[HEAD], lab.machines[WORKER]
    laptop = Laptop(lab, tmp_path / "laptop.log")
    config = str(filled_cluster_yaml(lab, tmp_path / "cluster.yaml"))

    # The worker machine's Ray gives up on a head it cannot reach after 20 s instead of
    # Ray's 60 (gcs_rpc_server_reconnect_timeout_s, read by every Ray process there from
    # its login shell): the same exit `ray down` relies on below, ~40 s sooner. The lab's
    # own cluster.yaml keeps Ray's default.
    with open(worker.root / ".bashrc", "a") as bashrc:
        bashrc.write(f"export RAY_gcs_rpc_server_reconnect_timeout_s={WORKER_GIVES_UP_S}\n")

    installed = _installed_netsep()
    laptop_token = lab.machines[LAPTOP].home_path(".ray/auth_token")
    laptop.run("ray", "get-auth-token", "--generate", timeout_s=120)
    laptop.run("chmod", "600", str(laptop_token), timeout_s=30)  # as docs/cluster.md says
    token = laptop_token.read_text().strip()
    laptop.run("ray", "up", "-y", config, timeout_s=300)

    # file_mounts copied the token; setup_commands installed netsep (already here: fast path).
    assert head.home_path(".ray/netsep_auth_token").read_text().strip() == token
    # Every copy of the token is readable by its owner only (anyone who reads it can run code on the cluster).
    for where, path in (("laptop", laptop_token), ("head", head.home_path(".ray/netsep_auth_token"))):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (where, oct(path.stat().st_mode))
    assert (head.home_path("netsep") / "launch.py").is_file()
    assert _installed_netsep() == installed, "setup_commands reinstalled netsep where it was installed"

    # The head's autoscaler ssh'es to the worker and runs the same setup and its start command.
    status = _wait(
        "the worker machine to join",
        240,
        lambda: (
            (out := laptop.run("ray", "exec", config, "ray status", timeout_s=120, check=False))
            and _nodes_in_status(out) >= 2
            and out
        ),
        laptop,
    )
    assert worker.home_path(".ray/netsep_auth_token").read_text().strip() == token
    assert stat.S_IMODE(worker.home_path(".ray/netsep_auth_token").stat().st_mode) == 0o600
    assert "NETSEP_RAY_AUTH" in worker.home_path(".bashrc").read_text()

    tunnel = lab.popen(LAPTOP, ["ray", "dashboard", config], laptop.env, tmp_path / "tunnel.log")
    version = "http://127.0.0.1:8265/api/version"
    _wait("the dashboard tunnel", 120, lambda: tunnel.poll() is None and laptop.http_status(version) != 0, laptop)
    assert laptop.http_status(version) == 401, "the dashboard answers without the token"

    storage = tmp_path / "shared" / "experiments"  # every machine sees this folder at this path
    cpus_per_trial = _total_cpus(status) / 2  # the two machines are alike: this host's CPUs each
    out = laptop.run(
        "ray",
        "job",
        "submit",
        "--address",
        "http://127.0.0.1:8265",
        "--working-dir",
        ".",
        "--",
        "python",
        "launch.py",
        "--smoke-test",
        "--trials",
        str(SEARCH_TRIALS),
        "--epochs",
        str(EPOCHS),
        "--cpus-per-trial",
        f"{cpus_per_trial:g}",
        "--address",
        "auto",
        "--storage",
        str(storage),
        "--name",
        "lab",
        timeout_s=420,
    )
    assert re.search(r"Job 'raysubmit_\w+' succeeded", out), out[-4000:]

    rows = read_csv(storage / "lab" / "trials.csv")
    assert len(rows) == SEARCH_TRIALS + 1 and {r["status"] for r in rows} == {"complete"}, rows
    used = {r["node_ip"] for rows_ in trial_results(storage / "lab" / "tune").values() for r in rows_}
    assert used == {head.ip, worker.ip}, f"trials ran on {used}; status before the sweep:\n{status}"

    laptop.run("ray", "down", "-y", config, timeout_s=180)

    def ray_left(node: int) -> list[str]:
        return [p for p in lab.processes(node) if "raylet" in p or "gcs_server" in p]

    _wait("Ray to stop on the head", 60, lambda: not ray_left(HEAD), laptop, every_s=1)
    # Ray's local provider stops Ray on the head only (ray-project/ray#17022); the
    # worker's raylet exits by itself once the head's GCS is gone (WORKER_GIVES_UP_S).
    _wait("Ray to stop on the worker", 150, lambda: not ray_left(WORKER), laptop, every_s=1)
