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
touch it). On ``--resume`` the study in the file is replaced by the one rebuilt from
the searcher state Tune saved with its experiment, so it holds exactly the trials Tune
continues from: none twice (trials told to Optuna after Tune's last save are run again
by Tune and told again), none lost.

``optuna.db`` (SQLite) stays what the report writes at the end: the same search trials
rebuilt from Tune's records, with each trial's final metrics as user attributes.

Pure Optuna; no Ray.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage

from sweep.study_state import rebuild_study, trials_to_json

__all__ = ["LIVE_STUDY_FILE", "LiveStudy", "journal_storage"]

LIVE_STUDY_FILE = "optuna.journal"


def journal_storage(path: str | Path) -> JournalStorage:
    """Optuna's journal storage on ``path``.

    The open-file lock (``O_CREAT | O_EXCL`` on ``<path>.lock``) rather than Optuna's
    default symlink lock: both work on NFS, and this one also works where symlinks are
    not allowed (some network and Windows-shared folders).
    """
    path = str(path)
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))


class LiveStudy:
    """Where the searcher's study lives: ``path`` (a journal file), study ``name``.

    ``objectives`` name the study's values (Optuna's dashboard labels its axes with
    them). Plain data until ``attach`` opens the file, so a searcher holding it
    pickles as before (Tune pickles the searcher into ``tuner.pkl`` when the sweep starts).
    """

    def __init__(self, path: str | Path, name: str, objectives: Sequence[str] = ()) -> None:
        self.path = str(path)
        self.name = name
        self.objectives = list(objectives)

    def attach(self, study: optuna.Study) -> tuple[optuna.Study, dict[int, optuna.Trial]]:
        """A study in the journal with ``study``'s trials, sampler and directions.

        Any earlier study of this name in the file is deleted first: the trials that
        count are the ones in ``study`` (new sweep: none; resume: Tune's saved state).
        Returns the new study and its still-running trials by number, to be told later.
        """
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)  # the results folder, normally there already
        storage = journal_storage(self.path)
        if self.name in {s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)}:
            optuna.delete_study(study_name=self.name, storage=storage)
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
