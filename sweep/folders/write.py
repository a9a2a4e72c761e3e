"""Writing netsep's own files into a folder: whole or not at all, and never through a link.

Every report file (and ``sweep.json``, ``compare.json``, a study's copy) is written to
a fresh temporary file beside its name, made with ``O_EXCL`` (so a link someone put
there is never followed), and then renamed over the name. A rename replaces a link
itself, not what it points to; a full disk, an error or a SIGKILL half way leaves the
previous file whole (and, after SIGKILL, a hidden ``.NAME.*.tmp*`` file). A folder
that is itself a link is refused: what netsep writes stays in the folder it was given.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.formatting import csv_text

__all__ = ["FILE_MODE", "disk_full_message", "replacing", "write_csv", "write_text_atomically"]

FILE_MODE = 0o644  # owner writes; group and others read (colleagues may read results)


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A new temporary file beside ``path`` to write into; renamed over ``path`` when the block succeeds.

    The temporary name keeps ``path``'s suffix, so writers that choose the format by
    the name (matplotlib, numpy, sqlite) work unchanged.
    """
    path = Path(path)
    if path.parent.is_symlink():
        raise UserError(f"{path.parent}: is a link; netsep writes only into real folders, not through links")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, FILE_MODE & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomically(path: str | Path, text: str) -> None:
    """``path.write_text`` that leaves the old file whole when it fails and never follows a link."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """One CSV file, every value through ``sweep.formatting.cell``; written atomically."""
    write_text_atomically(path, csv_text(header, rows))


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
        f"the disk holding {folder} is full{left}; the run stopped. Free some space there (or copy the "
        "folder to a larger disk), then resume it; if Tune's state files were cut short on the full disk, "
        "--resume says so and `launch.py report` still shows what finished"
    )
