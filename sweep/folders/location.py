"""Where a new results folder goes: ``<storage>/<name>``, checked before anything is made.

The name is one path component (letters, digits, '.', '_', '-'; not starting with a
dot or dash) short enough for the filesystem it goes on; the storage is a writable
local (or NFS) folder, or a URI of a scheme Ray Tune's storage (pyarrow) understands,
with the local results folder then under ``./experiments``. The folder must not exist
yet. Nothing here creates anything (``sweep.folders.create`` does).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sweep.errors import UserError
from sweep.paths import is_uri

__all__ = ["STORAGE_SCHEMES", "results_location"]

# A results folder name: one path component, no leading dot or dash; checked with fullmatch.
_NAME_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# URI schemes that Ray Tune's storage (pyarrow.fs.FileSystem.from_uri) understands.
STORAGE_SCHEMES = ("s3", "gs", "gcs", "hdfs", "viewfs", "abfs", "abfss", "file")
_NAME_MAX = 255  # bytes in one path component on Linux filesystems, when pathconf cannot say


def results_location(name: str, storage: str) -> tuple[str, str]:
    """(results folder, Tune storage) for ``--name`` under ``--storage``; checks both, creates nothing."""
    if not _NAME_RULE.fullmatch(name):
        raise UserError(
            f"--name: {name!r} must start with a letter or digit and hold only letters, digits, '.', '_', '-'"
        )
    if is_uri(storage):
        scheme = storage.partition("://")[0].lower()
        if scheme not in STORAGE_SCHEMES:
            raise UserError(
                f"--storage: {storage!r}: unknown storage scheme {scheme + '://'!r}; use a local or NFS "
                f"path, or one of {', '.join(s + '://' for s in STORAGE_SCHEMES)}"
            )
        results_dir = (Path("experiments") / name).resolve()
        tune_storage = f"{storage.rstrip('/')}/{name}"
    else:
        results_dir = (Path(storage) / name).resolve()
        tune_storage = str(results_dir)
    _check_writable(str(results_dir.parent), "--storage" if not is_uri(storage) else "results folder")
    _check_name_length(name, results_dir.parent)
    if results_dir.exists():
        raise UserError(
            f"--name: results folder {str(results_dir)!r} already exists; "
            f"continue it with --resume {results_dir} or choose another --name"
        )
    return str(results_dir), tune_storage


def _nearest_existing(path: Path) -> Path:
    probe = path.resolve()
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe


def _check_writable(storage: str, flag: str = "--storage") -> None:
    """The nearest existing ancestor of ``storage`` must be a writable folder."""
    probe = _nearest_existing(Path(storage))
    if not probe.is_dir():
        raise UserError(f"{flag}: {storage!r} must be a folder, but {str(probe)!r} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"{flag}: cannot write under {storage!r} ({str(probe)!r} is not writable)")


def _check_name_length(name: str, parent: Path) -> None:
    """The folder name must fit the filesystem it goes on (ENAMETOOLONG otherwise)."""
    try:
        limit = os.pathconf(_nearest_existing(parent), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = _NAME_MAX
    if len(name.encode()) > limit:
        raise UserError(
            f"--name: {name[:40]!r}... is {len(name.encode())} bytes long; a folder name on "
            f"{_nearest_existing(parent)} holds at most {limit}"
        )
