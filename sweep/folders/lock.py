"""One netsep process per results folder: an exclusive ``flock`` while it reads or writes there.

Every command that writes into a folder takes it: a new sweep and ``--resume`` (for
the whole run), ``report``, ``compare`` (new, resumed or ``--report-only``) and
``study``. So two commands on one folder at once cannot interleave their writes: the
second is refused with the first one's pid.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from sweep.errors import UserError
from sweep.folders.create import LOCK_FILE

__all__ = ["FolderLock"]


class FolderLock:
    """An exclusive lock on a results folder for as long as this process uses it."""

    def __init__(self, folder: str | Path, what: str = "running a sweep") -> None:
        self.path = Path(folder) / LOCK_FILE
        self.what = what
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:  # noqa: PYI034 -- Python 3.10 has no typing.Self
        try:
            # O_NOFOLLOW: a lock file that is a link (put there by someone else) is not followed.
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            raise UserError(f"{self.path.parent}: cannot lock the results folder ({error.strerror or error})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            pid, _, doing = holder.partition(" ")
            raise UserError(
                f"{self.path.parent}: another netsep process (pid {pid}{', ' + doing if doing else ''}) "
                "is using this folder; wait for it to end, or stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.what}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
