"""A pytest plugin: no test leaves process state behind for the tests after it.

The suite runs in random order (pytest-randomly), so a test that changes the pytest
process's umask, a signal handler, an environment variable, the working directory,
torch's thread count or leaves Ray connected makes some other test pass or fail by
where it lands. After each test this plugin compares those with what they were before,
puts them back, and fails the test that changed them (an error in its tear-down), so
the leak is found where it is made, not where it bites.

torch's global random generator is seeded before every test instead: a test that draws
from it without seeding gets the same numbers wherever it runs (pytest-randomly does
the same for ``random`` and numpy).

Loaded by ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import torch

# SIGALRM is pytest-timeout's (it sets and restores it around each test itself).
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
TORCH_SEED = 20240601
# Not a test's doing: pytest sets the first per phase; the others are set once per
# process by a library's first import (Ray; scikit-learn for Intel's OpenMP), in
# whichever test imports it first.
_NOT_LEAKS = {"PYTEST_CURRENT_TEST", "RAY_CLIENT_MODE", "KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK"}


@dataclass(frozen=True)
class ProcessState:
    umask: int
    handlers: dict[int, Any]
    environ: dict[str, str]
    cwd: str
    torch_threads: int
    ray_connected: bool


def _umask() -> int:
    current = os.umask(0o022)  # the only way to read it is to set it
    os.umask(current)
    return current


def _ray_connected() -> bool:
    ray = sys.modules.get("ray")  # never import Ray only to ask
    return bool(ray is not None and ray.is_initialized())


def snapshot() -> ProcessState:
    return ProcessState(
        umask=_umask(),
        handlers={s: signal.getsignal(s) for s in _SIGNALS},
        environ=dict(os.environ),
        cwd=os.getcwd(),
        torch_threads=torch.get_num_threads(),
        ray_connected=_ray_connected(),
    )


def restore(before: ProcessState, after: ProcessState) -> list[str]:
    """Put back what changed from ``before`` to ``after``; one line per change."""
    leaks: list[str] = []
    if after.umask != before.umask:
        leaks.append(f"umask {before.umask:04o} -> {after.umask:04o}")
        os.umask(before.umask)
    for sig, handler in before.handlers.items():
        if after.handlers[sig] != handler:
            leaks.append(f"{signal.Signals(sig).name} handler {handler!r} -> {after.handlers[sig]!r}")
            signal.signal(sig, handler)
    keys = (before.environ.keys() | after.environ.keys()) - _NOT_LEAKS
    changed = sorted(k for k in keys if before.environ.get(k) != after.environ.get(k))
    if changed:
        leaks.append(f"environment variables {', '.join(changed)}")
        for key in changed:
            if key in before.environ:
                os.environ[key] = before.environ[key]
            else:
                os.environ.pop(key, None)
    if after.cwd != before.cwd:
        leaks.append(f"working directory {before.cwd} -> {after.cwd}")
        os.chdir(before.cwd)
    if after.torch_threads != before.torch_threads:
        leaks.append(f"torch threads {before.torch_threads} -> {after.torch_threads}")
        torch.set_num_threads(before.torch_threads)
    if after.ray_connected and not before.ray_connected:
        leaks.append("a Ray connection (ray.init without ray.shutdown)")
        sys.modules["ray"].shutdown()
    return leaks


@pytest.fixture(autouse=True)
def _process_state_is_left_as_found() -> Iterator[None]:
    # Autouse and function-scoped: set up before the test's own fixtures and torn down
    # after them, so monkeypatch's and tmp_path's clean-ups have run when it compares.
    before = snapshot()
    torch.manual_seed(TORCH_SEED)
    yield
    leaks = restore(before, snapshot())
    if leaks:
        pytest.fail("the test left process state changed (now restored): " + "; ".join(leaks), pytrace=False)


def leaked_by(action: Callable[[], object]) -> list[str]:
    """What ``action`` leaves changed (restored afterwards): for tests of this plugin."""
    before = snapshot()
    action()
    return restore(before, snapshot())
