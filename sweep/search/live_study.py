"""The sweep's live Optuna study: the searcher's own storage, in the results folder.

From the first trial on, the Optuna study that proposes the sweep's configurations
lives in ``optuna.journal`` (Optuna's journal file storage) in the results folder, so
``launch.py dashboard DIR`` (optuna-dashboard) shows the Pareto front forming while
the sweep runs.

Why a journal file and not SQLite:

* it is an append-only log of operations: a driver killed mid-write leaves at most
  one incomplete last line, which Optuna skips, never a damaged database;
* it needs no database engine and keeps working where SQLite's locking does not
  (results folders on NFS, which a lab cluster's shared storage often is);
* optuna-dashboard and ``optuna.load_study`` read it directly.

Only the sweep's driver writes it (Tune's searcher runs in the driver; trials never
touch it). On ``--resume`` the file is replaced by a new one rebuilt from the
searcher state Tune saved with its experiment, so it holds exactly the trials Tune
continues from: none twice (trials told to Optuna after Tune's last save are run again
by Tune and told again), none lost. A dashboard open across a resume must be restarted.

``optuna.db`` (SQLite) stays what the report writes at the end: the same search trials
rebuilt from Tune's records, with each trial's final metrics as user attributes.

Pure Optuna; no Ray.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

from sweep.search.state import rebuild_study, trials_to_json

__all__ = ["LIVE_STUDY_FILE", "REPLACED_SUFFIX", "LiveStudy", "journal_storage"]

LIVE_STUDY_FILE = "optuna.journal"
REPLACED_SUFFIX = ".replaced"  # the file a resume moved aside


class _UnsyncedJournalFile(JournalFileBackend):
    """Optuna's journal file, its appends made without ``fsync``.

    Optuna syncs every append to the disk: about ten per configuration (the ask, each
    param, the user attributes, the constraints, the tell), 0.2 ms of wall time each here
    and more on a busy or network disk, all in the sweep driver (bench/SOAK.md). The live
    journal needs no such durability: ``--resume`` never reads it (it is rebuilt from
    Tune's saved state) and ``optuna.db`` is written from Tune's records. Readers (the
    dashboard) see each append at once either way (the page cache is shared), and the
    lock still keeps writers' lines whole; a machine that loses power may lose the last
    lines, which the next resume replaces anyway.
    """

    def __init__(self, path: str, lock: JournalFileOpenLock) -> None:
        super().__init__(path, lock_obj=lock)
        self._path, self._append_lock = path, lock

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs)
        self._append_lock.acquire()
        try:
            with open(self._path, "ab") as file:
                file.write(text.encode("utf-8"))  # one write of whole lines: a reader sees all or none
        finally:
            self._append_lock.release()


def journal_storage(path: str | Path, *, sync: bool = True) -> JournalStorage:
    """Optuna's journal storage on ``path``.

    The open-file lock (``O_CREAT | O_EXCL`` on ``<path>.lock``) rather than Optuna's
    default symlink lock: both work on NFS, and this one also works where symlinks are
    not allowed (some network and Windows-shared folders). ``sync=False``: appends are
    not ``fsync``-ed (the live study's own writer, ``_UnsyncedJournalFile``); readers may
    pass either.
    """
    path = str(path)
    lock = JournalFileOpenLock(path)
    backend = JournalFileBackend(path, lock_obj=lock) if sync else _UnsyncedJournalFile(path, lock)
    return JournalStorage(backend)


class LiveStudy:
    """Where the searcher's study lives: ``path`` (a journal file), study ``name``.

    ``objectives`` name the study's values (Optuna's dashboard labels its axes with
    them). Plain data until ``attach`` opens the file, so a searcher holding it
    pickles as before (Tune pickles the searcher into ``tuner.pkl`` when the sweep starts).
    """

    def __init__(self, path: str | Path, name: str, objectives: Sequence[str] = (), *, sync: bool = False) -> None:
        self.path = str(path)
        self.name = name
        self.objectives = list(objectives)
        self.sync = sync  # fsync each append (Optuna's own backend); False for sweeps (_UnsyncedJournalFile)

    def moved_to(self, results_dir: str | Path) -> LiveStudy:
        """The same study in another results folder (a resumed copy writes its own journal)."""
        return LiveStudy(Path(results_dir) / Path(self.path).name, self.name, self.objectives, sync=self.syncs)

    @property
    def syncs(self) -> bool:
        """``sync``; False for a LiveStudy pickled before it had one (a sweep started by an older netsep)."""
        return bool(self.__dict__.get("sync", False))

    def attach(self, study: optuna.Study) -> tuple[optuna.Study, dict[int, optuna.Trial]]:
        """A study in a new journal file with ``study``'s trials, sampler and directions.

        The trials that count are the ones in ``study`` (a new sweep: none; a resume:
        Tune's saved state), so an earlier file is not read: it is moved aside to
        ``optuna.journal.replaced`` (one copy kept), which also keeps a file cut short
        on a full disk from stopping the resume. Returns the new study and its
        still-running trials by number, to be told later.
        """
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)  # the results folder, normally there already
        if path.exists():
            os.replace(path, path.with_name(path.name + REPLACED_SUFFIX))
        storage = journal_storage(path, sync=self.syncs)  # rebuilt on every resume: no fsync needed (the class)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # "A new study created" is not news
        try:
            live = optuna.create_study(
                storage=storage, study_name=self.name, sampler=study.sampler, directions=study.directions
            )
        finally:
            optuna.logging.set_verbosity(verbosity)
        if self.objectives:
            with warnings.catch_warnings():
                # Experimental since Optuna 3.2, still so in 5.0.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                live.set_metric_names(self.objectives)
        running = rebuild_study(live, trials_to_json(study))
        return live, running
