"""Processes the tests start and stop by pid: ``launch.py`` drivers, a shared Ray head,
and the sockets they listen on.

A ``Driver`` starts ``python launch.py ...`` in a session of its own, locally or in a
lab namespace (``tests.cluster.netns``). Everything a local sweep starts (Ray's GCS,
raylet, dashboard, the trial workers) stays in that session, so ``stop()`` finds it
by session id and SIGKILLs those pids. A ``RayHead`` is ``ray start --head --block``
in a session of its own, stopped the same way. Nothing is ever killed by name, and
``ray stop`` (which stops every Ray on the machine) is never run.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from bench.lab_ray import ray_cli  # defined once, for the benchmarks too
from tests.helpers import REPO

__all__ = [
    "free_port",
    "Driver",
    "Listener",
    "RayHead",
    "kill_session",
    "listening_sockets",
    "parse_ss",
    "poll",
    "ray_cli",
    "session_pids",
]

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
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def kill_session(leader: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """SIGKILL ``leader`` and every process left in its session; wait until none is left."""
    deadline = time.monotonic() + timeout_s
    while True:
        if leader.poll() is None:
            os.kill(leader.pid, signal.SIGKILL)
        for pid in session_pids(leader.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if leader.poll() is None:
            leader.wait(timeout=5)
        if not session_pids(leader.pid):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {session_pids(leader.pid)} of session {leader.pid} survive SIGKILL")
        time.sleep(0.2)


def poll(
    condition: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.25, alive: Driver | None = None
) -> T:
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
            pytest.fail(
                f"timed out after {timeout_s:.0f} s waiting for {what}"
                + (f"; the sweep's output:\n{alive.tail()}" if alive is not None else "")
            )
        time.sleep(every_s)


class Driver:
    """``launch.py`` in a new session; its output in ``log``. Use ``stop()`` in a ``finally``."""

    def __init__(
        self, args: Sequence[str], log: Path, env: Mapping[str, str] | None = None, prefix: Sequence[str] = ()
    ) -> None:
        self.log = log
        self._out = open(log, "w")
        env = dict(os.environ if env is None else env)
        env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        env.pop("RAY_ADDRESS", None)
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "launch.py", *args],
            cwd=REPO,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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

    def interrupt(self) -> None:
        """SIGINT to the driver alone (Ctrl+C in its terminal)."""
        if self.running():
            os.kill(self.pid, signal.SIGINT)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGKILL the driver and every process left in its session; wait until none is left."""
        try:
            kill_session(self.process, timeout_s)
        finally:
            self._out.close()


# ------------------------------------------------------------------- a Ray head
_HANDED_OUT: set[int] = set()  # ports free_port gave this process: never twice


def _ephemeral_low() -> int:
    """The lowest port the kernel hands to outgoing connections (Linux's default range: 32768-60999)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port free on 127.0.0.1 now, below the kernel's ephemeral range.

    Port 0 would hand out an ephemeral port, which any outgoing connection (Ray's own
    components connecting to each other while the head starts) may take before the
    server binds it: a head once failed to start on "address already in use" that way.
    """
    low = min(_ephemeral_low(), 65536)
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20000, low) if low > 21000 else rng.randrange(1024, 65536)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range after 1000 tries")


class RayHead:
    """``ray start --head`` on 127.0.0.1 with ``cpus`` CPUs and token authentication on.

    Sweeps join it with ``--address``, which saves each its own Ray start-up; the
    fixed CPU count makes their concurrency the same on every machine. Ports are
    picked free so that several test runs on one host never share a head.
    """

    def __init__(self, workdir: Path, cpus: int = 2, object_store_bytes: int = 256 * 1024**2, *, gpus: int = 0) -> None:
        """``gpus``: GPUs the head declares to Ray (a node may declare GPUs it does not have)."""
        self.cpus = cpus
        workdir.mkdir(parents=True, exist_ok=True)
        token_path = workdir / "auth_token"
        token_path.write_text(secrets.token_hex(32))  # 64 hex characters, as Ray's own tokens
        token_path.chmod(0o600)
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_path)}
        self.address = f"127.0.0.1:{free_port()}"
        self.log = workdir / "ray-head.log"
        args = [
            "start",
            "--head",
            "--block",
            f"--port={self.address.rpartition(':')[2]}",
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={cpus}",
            f"--num-gpus={gpus}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--ray-client-server-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            f"--object-store-memory={object_store_bytes}",
            f"--temp-dir={workdir / 'ray'}",
        ]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [*ray_cli(), *args],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def client_args(self) -> list[str]:
        """``launch.py`` arguments that run a sweep on this head."""
        return ["--address", self.address]

    def client_env(self) -> dict[str, str]:
        """The environment of a client of this head (the process's own plus the token)."""
        return {**os.environ, **self.env}

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        """Block until a client sees all ``cpus`` CPUs (the raylet registered, not just the GCS)."""
        code = (
            "import time, ray\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR', log_to_driver=False)\n"
            f"deadline = time.time() + {timeout_s}\n"
            f"while ray.cluster_resources().get('CPU', 0) < {self.cpus} and time.time() < deadline:\n"
            "    time.sleep(0.5)\n"
            "print('CPUS', ray.cluster_resources().get('CPU', 0))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=self.client_env(),
            capture_output=True,
            text=True,
            timeout=timeout_s + 60,
            check=False,
        )
        if self.process.poll() is not None or f"CPUS {float(self.cpus)}" not in done.stdout:
            raise RuntimeError(
                f"the test Ray head did not come up:\n{done.stdout[-2000:]}{done.stderr[-3000:]}\n"
                f"{self.log.read_text(errors='replace')[-3000:]}"
            )

    def close(self) -> None:
        kill_session(self.process)


# ------------------------------------------------------------------- observations
@dataclass(frozen=True)
class Listener:
    """One listening TCP socket, as ``ss -ltnpH`` shows it."""

    address: str  # 0.0.0.0, *, 127.0.0.1, ::ffff:127.0.0.1, 10.213.X.Y, ...
    port: int
    pids: frozenset[int]
    process: str  # the first owner's name

    @property
    def loopback_only(self) -> bool:
        return self.address in ("127.0.0.1", "::1", "::ffff:127.0.0.1") or self.address.startswith("127.")


def parse_ss(text: str) -> list[Listener]:
    """``ss -ltnpH`` output -> listeners."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        address, _, port = parts[3].rpartition(":")
        name = re.search(r'users:\(\("([^"]+)"', line)
        pids = frozenset(int(p) for p in re.findall(r"pid=(\d+)", line))
        out.append(Listener(address.strip("[]"), int(port), pids, name.group(1) if name else "?"))
    return out


def listening_sockets(prefix: Sequence[str] = ()) -> list[Listener]:
    """Every listening TCP socket on this host, or where ``prefix`` runs ``ss`` (e.g. ``ip netns exec NS``)."""
    done = subprocess.run([*prefix, "ss", "-ltnpH"], capture_output=True, text=True, check=True)
    return parse_ss(done.stdout)
