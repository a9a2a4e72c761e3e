"""The results folder on disk: made atomically, locked while a driver uses it, resumed only when private.

* ``create_results_folder`` makes ``<storage>/<name>`` with one ``mkdir``: of two
  sweeps started with the same ``--name`` and ``--storage`` exactly one gets it, and
  the other stops with a user error before Ray starts.
* ``FolderLock`` holds an exclusive ``flock`` on ``<folder>/.netsep.lock`` while a
  driver runs the sweep (new or resumed), so a second ``--resume`` of the same folder
  is refused instead of writing into it too.
* ``check_private`` is the rule for ``--resume``: Tune reads its state back with
  pickle (``tune/tuner.pkl``, ``tune/experiment_state-*.json``, the search state),
  and unpickling a file runs whatever code its author put in it. So netsep resumes a
  folder only when the folder, its ``tune/`` folder and the files directly in
  ``tune/`` belong to you and nobody else can write to them.
* ``private_umask`` keeps a run's own files that way while it is entered: it drops
  the group and other write bits from the process umask (so ``umask 002`` does not
  make a folder that ``--resume`` would then refuse), and puts the old umask back.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from sweep.errors import UserError

__all__ = [
    "LOCK_FILE",
    "RESUME_RULE",
    "FolderLock",
    "check_private",
    "create_results_folder",
    "disk_full_message",
    "private_umask",
    "remove_if_empty",
]

LOCK_FILE = ".netsep.lock"
FOLDER_MODE = 0o755  # owner writes; group and others read (colleagues may read results)
RESUME_RULE = (
    "netsep resumes only a results folder that you own and that nobody else can write to "
    "(the folder, its tune/ folder and the files in tune/), because Ray Tune unpickles "
    "its state files on resume and unpickling runs code"
)


@contextlib.contextmanager
def private_umask() -> Iterator[int]:
    """While entered, the umask also drops group/other write; yields the previous umask."""
    old = os.umask(0o022)
    os.umask(old | 0o022)
    try:
        yield old
    finally:
        os.umask(old)


def create_results_folder(folder: str | Path) -> list[Path]:
    """Make ``folder`` (and missing parents) with one atomic ``mkdir``; returns what was created.

    ``UserError`` when it exists already (another sweep took the name) or cannot be made
    (a read-only or pseudo filesystem such as /proc, a name too long for the filesystem).
    """
    folder = Path(folder)
    created: list[Path] = []
    try:
        for parent in reversed(folder.parents):
            if not parent.exists():
                os.mkdir(parent, FOLDER_MODE)
                created.append(parent)
        os.mkdir(folder, FOLDER_MODE)
    except FileExistsError:
        remove_if_empty(created)
        if folder.exists():
            raise UserError(
                f"--name: results folder {str(folder)!r} already exists (another sweep with this "
                f"--name and --storage started first?); continue it with --resume {folder} "
                "or choose another --name"
            ) from None
        raise UserError(f"--storage: cannot create {str(folder)!r}: a file is in the way") from None
    except OSError as error:
        remove_if_empty(created)
        flag = "--name" if error.errno == errno.ENAMETOOLONG else "--storage"
        raise UserError(
            f"{flag}: cannot create the results folder {str(folder)!r}: {error.strerror or error}"
        ) from None
    return [*created, folder]


def remove_if_empty(folders: list[Path]) -> None:
    """Undo ``create_results_folder`` after a later user error: remove what is still empty, deepest first."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        lock = folder / LOCK_FILE
        try:
            if lock.is_file() and lock.stat().st_size < 64:
                lock.unlink()
            folder.rmdir()
        except OSError:
            pass  # not empty (or gone): leave it


class FolderLock:
    """An exclusive lock on a results folder for as long as this driver runs it."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:  # noqa: PYI034 -- Python 3.10 has no typing.Self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise UserError(f"{self.path.parent}: cannot lock the results folder ({error.strerror or error})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UserError(
                f"{self.path.parent}: another netsep process (pid {holder}) is running this sweep; "
                "wait for it to end, or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def check_private(folder: str | Path, tune_dir: str = "tune") -> None:
    """``UserError`` unless ``folder``, ``folder/tune_dir`` and the files directly in it are yours alone."""
    folder = Path(folder)
    tune = folder / tune_dir
    paths = [folder, tune]
    if tune.is_dir():
        paths += sorted(p for p in tune.iterdir() if not p.is_dir() or p.is_symlink())
    me = os.getuid()
    for path in paths:
        try:
            info = os.stat(path)  # follows links: what a link points to is what Tune reads
        except FileNotFoundError:
            continue
        if info.st_uid != me:
            raise UserError(
                f"--resume: {path} belongs to user id {info.st_uid}, not to you; {RESUME_RULE}. "
                "Copy the folder (cp -r) and resume the copy if you trust its contents"
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UserError(
                f"--resume: {path} can be written by other users (mode {stat.filemode(info.st_mode)}); "
                f"{RESUME_RULE}. If you trust its contents: chmod -R go-w {folder}"
            )


_ALMOST_FULL = 1 << 20  # bytes: less than 1 MiB free is a full disk for a sweep's checkpoints


def disk_full_message(error: BaseException, folder: str | Path) -> str | None:
    """What to tell the user when ``error`` means the disk holding ``folder`` is full; else None.

    Looks through the exception's causes (Tune wraps the OSError, or reports a torn state
    file as ``EOFError``) and at the free space left on ``folder``'s filesystem.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    full = False
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if (
            isinstance(current, OSError)
            and current.errno in (errno.ENOSPC, errno.EDQUOT)
            or "No space left on device" in str(current)
            or "Disk quota exceeded" in str(current)
        ):
            full = True
        todo += [current.__cause__, current.__context__, getattr(current, "cause", None)]
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if not full and (free is None or free >= _ALMOST_FULL):
        return None
    left = "" if free is None else f" ({free // 1024} KiB free)"
    return (
        f"the disk holding {folder} is full{left}; the sweep stopped. Free some space there (or copy the "
        "folder to a larger disk), then resume it; if Tune's state files were cut short on the full disk, "
        "--resume says so and `launch.py report` still shows what finished"
    )
