"""Running ``launch.py`` as a real process in tests, and reading what it left behind.

A ``Driver`` starts ``python launch.py ...`` in a session of its own, locally or in a
lab namespace (``tests.cluster.netns``). Everything a local sweep starts (Ray's
GCS, raylet, dashboard, the trial workers) stays in that session, so ``stop()``
finds it by session id and SIGKILLs those pids; nothing is killed by name.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TypeVar

import pytest

__all__ = ["REPO", "Driver", "poll", "session_pids", "trial_results", "tune_state", "read_csv"]

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def session_pids(sid: int) -> list[int]:
    """Pids of the live processes in session ``sid`` (Ray's children change process group, not session)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def poll(condition: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.25,
         alive: "Driver | None" = None) -> T:
    """``condition()``'s first truthy value; fails the test after ``timeout_s``
    (or as soon as ``alive``, a driver that should still run, has exited)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if alive is not None and not alive.running():
            pytest.fail(f"the sweep exited ({alive.process.returncode}) while waiting for {what}:\n{alive.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}"
                        + (f"; the sweep's output:\n{alive.tail()}" if alive is not None else ""))
        time.sleep(every_s)


class Driver:
    """``launch.py`` in a new session; its output in ``log``. Use ``stop()`` in a ``finally``."""

    def __init__(self, args: Sequence[str], log: Path, env: Mapping[str, str] | None = None,
                 prefix: Sequence[str] = ()) -> None:
        self.log = log
        self._out = open(log, "w")
        env = dict(os.environ if env is None else env)
        env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        env.pop("RAY_ADDRESS", None)
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "launch.py", *args], cwd=REPO, env=env,
            stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.pid = self.process.pid  # also its session id

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout_s: float) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sweep did not finish in {timeout_s:.0f} s; its output:\n{self.tail()}")

    def output(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def tail(self, chars: int = 6000) -> str:
        return self.output()[-chars:]

    def pids(self) -> list[int]:
        return session_pids(self.pid)

    def kill(self) -> None:
        """SIGKILL the driver process alone (as `kill -9 PID` would)."""
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGKILL the driver and every process left in its session; wait until none is left."""
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                if self.running():
                    os.kill(self.pid, signal.SIGKILL)
                for pid in self.pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                if self.running():
                    self.process.wait(timeout=5)
                if not self.pids():
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"processes {self.pids()} of session {self.pid} survive SIGKILL")
                time.sleep(0.2)
        finally:
            self._out.close()


# -------------------------------------------------------------- the results folder
def trial_results(tune_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each trial folder's ``result.json`` rows (a torn last line skipped), by folder name."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not tune_dir.is_dir():
        return out
    for folder in sorted(tune_dir.glob("trial_*")):
        rows = []
        try:
            text = (folder / "result.json").read_text()
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
        out[folder.name] = rows
    return out


def tune_state(tune_dir: Path) -> dict[str, dict[str, Any]]:
    """Per trial id, Tune's saved run metadata (``num_failures``, ``last_result``, ...) and status."""
    states = sorted(tune_dir.glob("experiment_state-*.json"))
    if not states:
        return {}
    data = json.loads(states[-1].read_text())
    out: dict[str, dict[str, Any]] = {}
    for meta_text, run_text in data["trial_data"]:
        meta, run = json.loads(meta_text), json.loads(run_text)
        out[str(meta["trial_id"])] = {**run, "status": meta.get("status")}
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
