"""With an object-store ``--storage``, netsep's own files of a sweep go there too.

Ray Tune keeps a sweep's trial folders at ``<storage>/<name>/tune``. netsep writes
its plan (``sweep.json``, ``space.yaml``) and its report (``summary.md``,
``trials.csv``, the front, the Optuna studies) into the local results folder first,
because the report is built from local files and the live study is a local journal;
with a URI ``--storage`` they are then copied to ``<storage>/<name>/``, next to Tune's
folder. So a job submitted with ``--working-dir`` (which runs in a temporary copy of
the checkout, removed afterwards) loses nothing: everything is in the bucket.

Copied: the regular files at the top of the results folder, not its sub-folders
(Tune's own folder is already there), never the temporary files of an atomic write.
"""

from __future__ import annotations

from pathlib import Path

from sweep.errors import UserError
from sweep.paths import is_uri

__all__ = ["mirror_to_storage"]


def mirror_to_storage(results_dir: str | Path, tune_storage: str) -> list[str]:
    """Copy ``results_dir``'s files to ``tune_storage`` when it is a URI; the URIs written.

    A local ``tune_storage`` is the results folder itself: nothing to do. UserError,
    naming both places, when the copy fails (the local files stay as they are).
    """
    if not is_uri(tune_storage):
        return []
    from pyarrow import fs as pafs  # comes with ray[tune]

    folder = Path(results_dir)
    target = tune_storage.rstrip("/")
    written: list[str] = []
    try:
        filesystem, root = pafs.FileSystem.from_uri(target)
        filesystem.create_dir(root, recursive=True)
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.is_symlink() or path.name.startswith("."):
                continue
            with filesystem.open_output_stream(f"{root}/{path.name}") as out:
                out.write(path.read_bytes())
            written.append(f"{target}/{path.name}")
    except (OSError, ValueError, NotImplementedError) as error:  # pyarrow's errors derive from these
        raise UserError(
            f"{target}: cannot copy netsep's files of {folder} there ({type(error).__name__}: {error}); "
            f"they are in {folder}"
        ) from None
    return written
