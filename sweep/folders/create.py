"""Making a results folder: one atomic ``mkdir``, private modes, undone after a later mistake.

Of two runs started with the same folder name exactly one gets it (``mkdir`` fails
for the other), so the second stops with a user error before Ray starts. While
``private_umask`` is entered, nothing a run makes is writable by group or others,
because ``--resume`` refuses such folders (see ``sweep.folders.trust``).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from sweep.errors import UserError

__all__ = ["FOLDER_MODE", "LOCK_FILE", "create_results_folder", "private_umask", "remove_if_empty"]

LOCK_FILE = ".netsep.lock"
FOLDER_MODE = 0o755  # owner writes; group and others read (colleagues may read results)


@contextlib.contextmanager
def private_umask() -> Iterator[int]:
    """While entered, the umask also drops group/other write; yields the previous umask, restored on exit."""
    old = os.umask(0o022)
    os.umask(old | 0o022)
    try:
        yield old
    finally:
        os.umask(old)


def create_results_folder(folder: str | Path, *, flag: str = "--name", retry: str = "") -> list[Path]:
    """Make ``folder`` (and missing parents) with one atomic ``mkdir``; returns what was created.

    ``UserError`` when it exists already (another run took the name) or cannot be made
    (a read-only or pseudo filesystem such as /proc, a name too long for the filesystem).
    ``flag`` names what chose the folder, ``retry`` what to do when it exists.
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
                f"{flag}: results folder {str(folder)!r} already exists (another run with this "
                f"name started first?); " + (retry or f"continue it with --resume {folder} or choose another --name")
            ) from None
        raise UserError(f"--storage: cannot create {str(folder)!r}: a file is in the way") from None
    except OSError as error:
        remove_if_empty(created)
        which = "--name" if error.errno == errno.ENAMETOOLONG else "--storage"
        raise UserError(
            f"{which}: cannot create the results folder {str(folder)!r}: {error.strerror or error}"
        ) from None
    return [*created, folder]


def remove_if_empty(folders: list[Path]) -> None:
    """Undo ``create_results_folder`` after a later user error: remove what is still empty, deepest first."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        lock = folder / LOCK_FILE
        try:
            if lock.is_file() and not lock.is_symlink() and lock.stat().st_size < 64:
                lock.unlink()
            folder.rmdir()
        except OSError:
            pass  # not empty (or gone): leave it
