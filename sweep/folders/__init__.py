"""Results folders on disk: made atomically, locked while used, trusted only when yours, written safely.

A results folder (a sweep's, a compare's, a study's) is where netsep's runs leave
everything; folders also travel (copied from a colleague, pulled from shared
storage), so what netsep reads there is untrusted input. One module per rule:

* ``location``: where a new results folder goes (``<storage>/<name>``), checked;
* ``create``: one atomic ``mkdir`` (of two runs with one name, one wins), private
  modes while a run makes files (``private_umask``);
* ``lock``: ``FolderLock``, one netsep process per folder at a time;
* ``trust``: ``check_private``, the rule for letting Ray Tune unpickle a folder's
  state on ``--resume`` (yours alone);
* ``write``: ``replacing`` and ``write_text_atomically``, whole files, never through a link;
  ``disk_full_message``;
* ``read``: ``read_json_file``, one ``UserError`` for any damaged JSON file;
* ``claim``: ``claim_folder``, all of the above for one run of a sweep, compare or study.

The trust rules for every command are in ``docs/cluster.md`` ("Whose folders netsep reads").
"""

from __future__ import annotations

from sweep.folders.claim import claim_folder
from sweep.folders.create import FOLDER_MODE, LOCK_FILE, create_results_folder, private_umask, remove_if_empty
from sweep.folders.location import results_location
from sweep.folders.lock import FolderLock
from sweep.folders.read import read_json_file
from sweep.folders.trust import RESUME_RULE, check_private, local_path
from sweep.folders.write import disk_full_message, replacing, write_csv, write_text_atomically

__all__ = [
    "FOLDER_MODE",
    "LOCK_FILE",
    "RESUME_RULE",
    "FolderLock",
    "check_private",
    "claim_folder",
    "create_results_folder",
    "disk_full_message",
    "local_path",
    "private_umask",
    "read_json_file",
    "remove_if_empty",
    "replacing",
    "results_location",
    "write_csv",
    "write_text_atomically",
]
