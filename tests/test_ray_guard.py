"""tests/ray_guard.py: a Ray cluster started during a test is attributed to that test.

A stand-in process named ``gcs_server`` (a copy of ``sleep``) plays the cluster: what the
guard reads is the process table and the process's environment, not Ray.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ray_guard import TOKEN_VARIABLE, RayWatch, ray_servers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guard reads Linux's /proc")


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[Callable[[str | None], int]]:
    binary = tmp_path / "gcs_server"
    shutil.copy(shutil.which("sleep"), binary)
    started: list[subprocess.Popen] = []

    def start(token: str | None) -> int:
        env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE}
        if token is not None:
            env[TOKEN_VARIABLE] = token
        proc = subprocess.Popen([str(binary), "60"], env=env)
        started.append(proc)
        # Until the child has exec'd, /proc shows the parent's name and environment.
        comm = Path(f"/proc/{proc.pid}/comm")
        for _ in range(1000):
            if comm.read_text().strip() == "gcs_server":
                break
            time.sleep(0.01)
        return proc.pid

    try:
        yield start
    finally:
        for proc in started:
            proc.kill()
            proc.wait()


def test_a_server_with_the_token_is_found_and_one_without_is_not(fake_server) -> None:
    mine, other = fake_server("token-a"), fake_server(None)
    assert mine in ray_servers("token-a")
    assert other not in ray_servers("token-a") and mine not in ray_servers("token-b")


def test_a_server_started_during_a_test_is_that_test_s(fake_server) -> None:
    watch = RayWatch("token-c")  # not started: scans happen at begin and end only
    watch.begin("test_quiet")
    assert watch.end("test_quiet") == []
    watch.begin("test_starts_ray")
    pid = fake_server("token-c")
    assert watch.end("test_starts_ray") == [pid]
    # Still running during the next test, but not started by it.
    watch.begin("test_after")
    assert watch.end("test_after") == []


def test_this_session_exports_its_token() -> None:
    assert os.environ.get(TOKEN_VARIABLE)  # what every process the tests start inherits
