"""Claiming a results folder for one run: made or checked, private, locked, cleaned up after a mistake.

Every mode that runs trials (a sweep, a compare, a study) does the same before Ray
starts and for as long as it runs:

* a new run makes its folder with one atomic ``mkdir`` (of two runs with one name,
  one wins) under ``private_umask``;
* a resumed run first checks that Tune may unpickle the folder's state
  (``check_private``: yours alone);
* both hold the folder's ``FolderLock`` while they run;
* a mistake found after a new folder was made leaves no empty folder behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sweep.folders.create import create_results_folder, private_umask, remove_if_empty
from sweep.folders.lock import FolderLock
from sweep.folders.trust import check_private

__all__ = ["claim_folder"]


@contextlib.contextmanager
def claim_folder(
    folder: str | Path,
    *,
    new: bool,
    what: str,
    flag: str = "--name",
    retry: str = "",
    command: str = "--resume",
    tune_dir: str | Path = "tune",
) -> Iterator[Path]:
    """Hold ``folder`` for one run (see the module doc); yields it.

    ``new``: make it (``UserError`` when it exists: ``flag`` chose it, ``retry`` says what
    to do); else check that it is private (``command`` names the flag in the message;
    ``tune_dir`` is where Tune's state is, relative to ``folder`` or absolute).
    ``what`` is what this process does there, shown to a second one that is refused.
    """
    folder = Path(folder)
    with private_umask():
        created = create_results_folder(folder, flag=flag, retry=retry) if new else []
        if not new:
            check_private(folder, tune_dir, command=command)
        try:
            with FolderLock(folder, what):
                yield folder
        except BaseException:
            remove_if_empty(created)  # a mistake after the folder was made leaves nothing behind
            raise
