"""A pytest plugin: a test that starts Ray must be marked ``slow``.

The quick tier (``-m "not slow"``) is for a check in a few minutes; one Ray start costs
10-30 s on a 2-core machine. A Ray cluster, however it is started (``ray.init`` in this
process, ``launch.py`` in a subprocess, ``ray start``), runs a ``gcs_server`` process,
and that process inherits the environment of whatever started it. So this plugin puts
a token of this session in the environment, watches the process table from a thread,
and fails (in its tear-down) a test not marked ``slow`` during which a ``gcs_server``
carrying the token appeared. Other users' Ray clusters on the machine carry no token.

Linux only (``/proc``); elsewhere it watches nothing. Loaded by ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TOKEN_VARIABLE = "NETSEP_TEST_SESSION"
_PROC = Path("/proc")
_INTERVAL_S = 0.2  # a Ray start takes seconds, so its gcs_server cannot be missed at this rate


def ray_servers(token: str) -> set[int]:
    """Pids of the running ``gcs_server`` processes started under ``token``."""
    found: set[int] = set()
    if not _PROC.is_dir():
        return found
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_bytes().strip() != b"gcs_server":
                continue
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.add(int(entry.name))
        except OSError:  # gone, or another user's
            continue
    return found


class RayWatch:
    """Which test was running when each of this session's Ray clusters started."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.seen: set[int] = set()
        self.started_in: dict[str, list[int]] = {}
        self.current: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ray-guard", daemon=True)

    def start(self) -> None:
        self.seen = ray_servers(self.token)  # none, unless a fixture started one already
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def scan(self) -> None:
        new = ray_servers(self.token) - self.seen
        with self._lock:
            self.seen |= new
            if new and self.current is not None:
                self.started_in.setdefault(self.current, []).extend(sorted(new))

    def _run(self) -> None:
        while not self._stop.wait(_INTERVAL_S):
            self.scan()

    def begin(self, nodeid: str) -> None:
        self.scan()  # a cluster from the test before is that test's
        with self._lock:
            self.current = nodeid

    def end(self, nodeid: str) -> list[int]:
        self.scan()
        with self._lock:
            self.current = None
            return self.started_in.pop(nodeid, [])


_WATCH = pytest.StashKey[RayWatch]()


def pytest_configure(config: pytest.Config) -> None:
    token = uuid.uuid4().hex
    os.environ[TOKEN_VARIABLE] = token  # inherited by every process the tests start
    watch = RayWatch(token)
    watch.start()
    config.stash[_WATCH] = watch


def pytest_unconfigure(config: pytest.Config) -> None:
    watch = config.stash.get(_WATCH, None)
    if watch is not None:
        watch.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    watch = item.config.stash[_WATCH]
    watch.begin(item.nodeid)
    try:
        return (yield)
    finally:
        watch.end(item.nodeid)


@pytest.fixture(autouse=True)
def _ray_only_in_slow_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    watch = request.config.stash[_WATCH]
    watch.scan()
    with watch._lock:
        pids = list(watch.started_in.get(request.node.nodeid, []))
    if pids and request.node.get_closest_marker("slow") is None:
        pytest.fail(
            f"this test started Ray (gcs_server pid {', '.join(map(str, pids))}) but is not marked slow: "
            "mark it @pytest.mark.slow (the quick tier, -m 'not slow', starts no Ray)",
            pytrace=False,
        )
