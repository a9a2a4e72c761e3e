"""Which folders netsep lets Ray Tune unpickle: yours alone.

Ray Tune reads its state back with pickle when a run is resumed (``tuner.pkl``,
``experiment_state-*.json``'s embedded blobs, ``search_gen_state-*``, each trial's
``error.pkl``), and unpickling a file runs whatever code its author put in it. So
``--resume`` of a sweep, a compare or a study continues a folder only when every
place Tune reads from belongs to you and nobody else can write to it: the results
folder, its Tune folder, the files in it, each trial folder and the files in those
(``check_private``). A folder someone else wrote can still be read: ``report``,
``compare --report-only`` and ``study --report-only`` never unpickle (see
``sweep.report.tune_folder``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from sweep.errors import UserError

__all__ = ["RESUME_RULE", "check_private", "local_path"]

RESUME_RULE = (
    "netsep resumes only a results folder that you own and that nobody else can write to "
    "(the folder, its tune/ folder, the trial folders in it and their files), because Ray Tune "
    "unpickles its state files on resume and unpickling runs code"
)


def local_path(location: str) -> Path | None:
    """The local folder behind ``location`` (a path or a ``file://`` URI); None for object storage."""
    if location.startswith("file://"):
        return Path(location[len("file://") :])
    if "://" in location:
        return None
    return Path(location)


def _places(folder: Path, tune: Path) -> Iterator[Path]:
    """Every place Tune may unpickle from on a resume, the folders that hold them first."""
    yield folder
    yield tune
    if not tune.is_dir():
        return
    for entry in sorted(tune.iterdir()):
        yield entry
        if entry.is_dir() and not entry.is_symlink():  # a trial folder: error.pkl and friends
            yield from sorted(p for p in entry.iterdir() if not p.is_dir() or p.is_symlink())


def check_private(folder: str | Path, tune_dir: str | Path = "tune", *, command: str = "--resume") -> None:
    """``UserError`` unless ``folder`` and everything Tune reads under ``tune_dir`` are yours alone.

    ``tune_dir`` is relative to ``folder`` or absolute (a ``file://`` storage elsewhere).
    """
    folder = Path(folder)
    tune = folder / tune_dir
    me = os.getuid()
    for path in _places(folder, tune):
        try:
            info = os.stat(path)  # follows links: what a link points to is what Tune reads
        except FileNotFoundError:
            continue
        if info.st_uid != me:
            raise UserError(
                f"{command}: {path} belongs to user id {info.st_uid}, not to you; {RESUME_RULE}. "
                "Copy the folder (cp -r) and resume the copy if you trust its contents"
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UserError(
                f"{command}: {path} can be written by other users (mode {stat.filemode(info.st_mode)}); "
                f"{RESUME_RULE}. If you trust its contents: chmod -R go-w {folder}"
            )
