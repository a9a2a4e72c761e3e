"""GPU packing, proven without a GPU: Ray schedules on declared resources.

A local Ray head declares 2 GPUs it does not have (``ray start --num-gpus 2``) and
8 CPUs. A sweep through launch.py's command line with ``--gpus-per-trial 0.25``
must run 8 trials at once, 4 on each GPU id, each with ``CUDA_VISIBLE_DEVICES`` set
to its id, and the real trainable's device choice (``trainable.device``) must pick
exactly that GPU. A trial asking for more GPUs than a node has must fail before the
sweep starts, with exit 2 and one line.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.processes import free_port
from trainable.device import choose_device

REPO = Path(__file__).resolve().parents[1]
TRIALS = 8

SPACE = """\
name: packing
description: eight one-epoch trials that only record where Ray put them
dataset: digits
trials: 8
sampler: random
seed: 0
baseline: false
objectives:
  - {metric: ensemble_acc, direction: max}
fixed:
  objective: dice
  epochs: 1
params:
  w_adv: {type: float, low: 0.01, high: 1.0, log: true}
"""

pytestmark = pytest.mark.slow


def _ray_cli() -> str:
    found = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    return found


class FakeGpuHead:
    """``ray start --head --block`` with 2 declared GPUs and 8 CPUs, stopped by pid."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        # Unix socket paths must stay short: a temp dir under /tmp, not pytest's.
        self.temp_dir = Path(tempfile.mkdtemp(prefix="gpk", dir="/tmp"))
        token = workdir / "auth_token"
        token.write_text(secrets.token_hex(32))
        token.chmod(0o600)
        # A token of our own (never ~/.ray/auth_token) for the head and its clients.
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"},
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(token),
            "RAY_USAGE_STATS_ENABLED": "0",
            "NETSEP_CACHE_DIR": str(workdir / "cache"),
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        }
        self.log = workdir / "ray-start.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [
                    _ray_cli(),
                    "start",
                    "--head",
                    "--block",
                    f"--port={self.port}",
                    "--num-gpus=2",
                    "--num-cpus=8",
                    "--include-dashboard=false",
                    f"--temp-dir={self.temp_dir}",
                    "--object-store-memory=100000000",
                    "--node-ip-address=127.0.0.1",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ray start exited {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            if "Ray runtime started" in self.log.read_text():
                return
            time.sleep(0.5)
        raise RuntimeError(f"ray start did not come up in {timeout_s:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to our ``ray start --block`` (it stops what it started), then its process group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # our session only: start_new_session above
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("gpu-packing")
    started = FakeGpuHead(workdir)
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def _sweep(head: FakeGpuHead, tmp: Path, gpus_per_trial: str, name: str, record_dir: Path):
    space = tmp / "packing.yaml"
    space.write_text(SPACE)
    record_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "--space",
        str(space),
        "--address",
        head.address,
        "--gpus-per-trial",
        gpus_per_trial,
        "--trials",
        str(TRIALS),
        "--max-concurrent",
        str(TRIALS),
        "--no-dashboard",
        "--storage",
        str(tmp / "exp"),
        "--name",
        name,
    ]
    return subprocess.run(
        [sys.executable, "-m", "tests.gpu_packing_driver", str(record_dir), str(TRIALS), *args],
        cwd=REPO,
        env={**head.env, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_eight_quarter_gpu_trials_run_at_once_four_per_gpu(head: FakeGpuHead, tmp_path: Path) -> None:
    records_dir = tmp_path / "records"
    done = _sweep(head, tmp_path, "0.25", "pack", records_dir)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    rows = [json.loads(p.read_text()) for p in sorted(records_dir.glob("*.json"))]
    assert len(rows) == TRIALS, rows

    # All 8 ran at once: every trial started before any trial ended.
    assert max(r["start"] for r in rows) < min(r["end"] for r in rows)
    assert all(r["started_when_leaving"] == TRIALS for r in rows)
    assert len({r["pid"] for r in rows}) == TRIALS  # 8 worker processes, not one reused

    # One GPU id each, 4 trials per id, and CUDA_VISIBLE_DEVICES restricted to it.
    assert all(len(r["gpu_ids"]) == 1 for r in rows), rows
    assert Counter(r["gpu_ids"][0] for r in rows) == {"0": 4, "1": 4}
    for r in rows:
        visible = r["cuda_visible_devices"].split(",")
        assert visible == r["gpu_ids"], r
        # What the real trainable would train on, had torch seen these GPUs:
        device = choose_device("auto", r["gpu_ids"], cuda_available=True, cuda_device_count=len(visible))
        assert device.startswith("cuda:")
        assert visible[int(device.split(":")[1])] == r["gpu_ids"][0]
    assert "netsep: sweep 'pack' on Ray cluster" in done.stdout and "2 GPUs" in done.stdout


def test_a_trial_larger_than_any_node_fails_before_the_sweep(head: FakeGpuHead, tmp_path: Path) -> None:
    done = _sweep(head, tmp_path, "3", "too-big", tmp_path / "records")
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: --gpus-per-trial: 3 asked for"), errors
    assert "largest node of the Ray cluster has 2 GPUs" in errors[0]
    assert not (tmp_path / "exp" / "too-big").exists()  # nothing written: the sweep never started
    assert not list((tmp_path / "records").iterdir())  # and no trial ran
