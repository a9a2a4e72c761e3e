"""Shared fixtures: one real smoke-test sweep, run once per test session."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def launch(*argv: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python launch.py ARGV`` as a user would; returns the finished process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(REPO / "launch.py"), *argv],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """`launch.py --smoke-test` (4 trials x 2 epochs + baseline on digits), shared by several tests."""
    tmp = tmp_path_factory.mktemp("smoke")
    proc = launch("--smoke-test", "--no-dashboard", "--storage", str(tmp / "exp"), "--name", "smoke", cwd=tmp)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp / "exp" / "smoke", proc
