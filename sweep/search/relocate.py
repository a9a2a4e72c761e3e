"""Tune's search generator, made to resume a results folder where it is now.

Tune's ``SearchGenerator`` pickles the Experiment it was given, storage location
included, and on resume creates the trials still to come from that copy: a resumed copy
of a results folder wrote the new trials' checkpoints into the original. Ray re-homes
the trials it restores (``TuneController._restore_trials``); ``RelocatableSearch`` does
the same for the experiment the new trials come from, and ``resuming_at`` tells the
searcher where the results folder (its live study) is now.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

from ray.tune.search import ConcurrencyLimiter, Searcher, SearchGenerator

__all__ = ["RelocatableSearch", "resumed_results_dir", "resuming_at", "search_algorithm"]


_resumed_tune_path: str | None = None
_resumed_results_dir: str | None = None


@contextlib.contextmanager
def resuming_at(tune_path: str, results_dir: str | None = None) -> Iterator[None]:
    """While Tune restores an experiment: it lives at ``tune_path`` now (a local path or
    URI), and its results folder (where the live study goes) at ``results_dir``."""
    global _resumed_tune_path, _resumed_results_dir
    previous = _resumed_tune_path, _resumed_results_dir
    _resumed_tune_path, _resumed_results_dir = tune_path, results_dir
    try:
        yield
    finally:
        _resumed_tune_path, _resumed_results_dir = previous


class RelocatableSearch(SearchGenerator):
    """Tune's own ``SearchGenerator``; on resume, new trials go where the experiment is now."""

    def set_state(self, state: dict) -> None:
        super().set_state(state)
        experiment = state.get("experiment")
        if _resumed_tune_path is not None and experiment is not None:
            _rehome(experiment, _resumed_tune_path)


def _rehome(experiment: Any, tune_path: str) -> None:
    import pyarrow.fs

    filesystem, fs_path = pyarrow.fs.FileSystem.from_uri(tune_path)
    storage = copy.copy(experiment.storage)
    storage.storage_filesystem = filesystem
    storage.storage_fs_path, _, storage.experiment_dir_name = fs_path.rstrip("/").rpartition("/")
    experiment.storage = storage
    experiment.spec["storage"] = storage


def resumed_results_dir() -> str | None:
    """While a resume restores its searcher: the results folder it lives in now (else None)."""
    return _resumed_results_dir


def search_algorithm(searcher: Searcher, max_concurrent: int | None) -> RelocatableSearch:
    """``searcher`` as Tune runs it: at most ``max_concurrent`` trials at once, resumable anywhere."""
    limited = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent) if max_concurrent else searcher
    return RelocatableSearch(limited)
