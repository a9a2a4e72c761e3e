"""One Tune start per second on a node, so that two sweeps never share Tune's staging folder.

Tune stages each experiment's driver files (experiment state, searcher state, trial
folders before they are copied) in ``<ray session>/artifacts/<start second>/<experiment
name>/`` on the driver's node and copies that folder to the results folder. Every netsep
experiment is named ``tune`` (the folder under the results folder), so two sweeps whose
Tune starts in the same second on one node (two students submitting at once, or two Ray
Jobs) would share one staging folder, and each would copy the other's files into its
own results folder.

``tune_start_turn`` serialises the start: a driver takes a lock file in the Ray session
folder, waits until the clock has left the second the previous driver started in, and
holds the lock until its own staging folder exists (Tune has then fixed its second), or
until ``fit`` returns, whichever comes first. Starts are held back by at most about a
second each; runs after the start are not serialised at all.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

__all__ = ["LOCK_NAME", "start_second", "start_turn_in", "tune_start_turn"]

LOCK_NAME = "netsep-tune-start.lock"
_POLL_S = 0.05  # how often the watcher looks for the staging folder, and the clock for a new second
_LOCK_WAIT_S = 300.0  # a driver stopped (SIGSTOP) while holding the lock delays the others this long at most
_HOLD_S = 120.0  # the lock is given up this long after the start even if no staging folder appeared


def start_second() -> str:
    """The current second as Tune names its staging folder (local time, ``%Y-%m-%d_%H-%M-%S``)."""
    return datetime.today().strftime("%Y-%m-%d_%H-%M-%S")


def _session_folder() -> Path | None:
    """This node's folder of the Ray session the driver is connected to; None without Ray."""
    import ray

    if not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    return Path(context.get_temp_dir()) / context.get_session_name()


class _Turn:
    """The held lock; ``release`` records the second it was given up in, exactly once."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._released = threading.Lock()
        self._done = False

    def release(self) -> None:
        with self._released:
            if self._done:
                return
            self._done = True
            try:
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, start_second().encode(), 0)
            except OSError:
                pass  # a full disk: the next driver waits for no second, at worst as before this lock
            finally:
                os.close(self._fd)  # closing drops the flock


def _take_lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + _LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                print(
                    f"netsep: another driver has held {path} for {_LOCK_WAIT_S:.0f} s; starting anyway",
                    file=sys.stderr,
                )
                return fd  # unlocked: release() closes it all the same
            time.sleep(_POLL_S)


def _wait_for_new_second(fd: int) -> None:
    previous = os.pread(fd, 64, 0).decode(errors="replace").strip()
    while start_second() == previous:
        time.sleep(_POLL_S)


def _watch(turn: _Turn, artifacts: Path, name: str, before: set[Path], stop: threading.Event) -> None:
    deadline = time.monotonic() + _HOLD_S
    while not stop.is_set() and time.monotonic() < deadline:
        if set(artifacts.glob(f"*/{name}")) - before:
            break
        stop.wait(_POLL_S)
    turn.release()


@contextmanager
def tune_start_turn(experiment_name: str) -> Iterator[None]:
    """Run the body (a ``Tuner.fit``) with this node's turn to start a Tune experiment.

    ``experiment_name`` is the Tune experiment's folder name (``RunConfig.name``). Without
    a Ray connection the body runs as it is (Tune would start its own local Ray, a session
    of its own).
    """
    session = _session_folder()
    if session is None:
        yield
        return
    with start_turn_in(session, experiment_name):
        yield


@contextmanager
def start_turn_in(session: Path, experiment_name: str) -> Iterator[None]:
    """The turn in the Ray session folder ``session``: entered in a later second than the
    previous holder left it, held until ``session/artifacts/<second>/<experiment_name>``
    appears anew or the body ends."""
    artifacts = session / "artifacts"
    fd = _take_lock(session / LOCK_NAME)
    turn = _Turn(fd)
    stop = threading.Event()
    watcher: threading.Thread | None = None
    try:
        _wait_for_new_second(fd)
        before = set(artifacts.glob(f"*/{experiment_name}"))
        watcher = threading.Thread(
            target=_watch, args=(turn, artifacts, experiment_name, before, stop), name="netsep-tune-start", daemon=True
        )
        watcher.start()
        yield
    finally:
        stop.set()
        if watcher is not None:
            watcher.join()
        turn.release()
