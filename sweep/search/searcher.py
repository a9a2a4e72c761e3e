"""The sweep's Tune searcher: Optuna (multi-objective) plus an honest baseline.

``SweepSearcher`` wraps Ray's ``OptunaSearch`` and adds two things Tune lacks:

* the ``independent`` baseline is proposed first, as an ordinary Tune trial with the
  sweep's fixed settings, but its result is kept away from Optuna (it is not a point
  of the searched space);
* what Optuna is told matches what happened. Tune reports a trial stopped early by
  ASHA as *complete* with its early values, and an errored trial as complete with its
  last values; here the first is told as PRUNED and the second as FAIL, so neither
  sits on Optuna's Pareto front nor misleads the sampler.

Both searchers save their state as JSON (``searcher-state-*.json`` in Tune's folder),
never as a pickle: ``--resume`` reads it back, and reading data runs no code
(``sweep.search.state`` turns the Optuna study into data and back).

With a ``LiveStudy`` the Optuna study moves into the results folder's journal file
before the first proposal (and is rebuilt there on ``--resume``), so it can be
watched while the sweep runs (``sweep.search.live_study``).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna
from ray.tune.search import ConcurrencyLimiter, Searcher, SearchGenerator
from ray.tune.search.optuna import OptunaSearch

from sweep.baselines import BASELINE_ARM
from sweep.search.live_study import LiveStudy
from sweep.search.state import rebuild_study, trials_to_json

__all__ = ["STATE_FORMAT", "DefineByRun", "ListSearcher", "SweepSearcher", "optuna_study"]

STATE_FORMAT = 1  # version of the JSON state files; a file of another version is refused
Reseed = Callable[[int], optuna.samplers.BaseSampler]  # trials so far -> a sampler seeded for the rest


class DefineByRun:
    """Optuna define-by-run space: suggests the searched params, returns the fixed ones.

    A class (not a closure) so that Tune can pickle the searcher for ``--resume``.
    """

    def __init__(self, sample: Callable[[optuna.Trial], dict[str, Any]], fixed: dict[str, Any]) -> None:
        self.sample = sample
        self.fixed = dict(fixed)

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        self.sample(trial)  # suggestions are captured by Tune from the trial itself
        return dict(self.fixed)


class SweepSearcher(Searcher):
    """Baselines first, then Optuna; told outcomes match what happened; state saved as JSON.

    ``reseed`` (optional) makes the sampler a resumed sweep continues with: a fresh
    one seeded from the number of trials so far, so a resumed sweep proposes the same
    configurations each time it is resumed from the same state (the sampler's random
    state itself is not saved: it is not data).
    """

    CKPT_FILE_TMPL = "searcher-state-{}.json"  # Tune's default name ends in .pkl

    def __init__(
        self,
        optuna_search: OptunaSearch,
        baselines: list[dict[str, Any]],
        *,
        reseed: Reseed | None = None,
        live: LiveStudy | None = None,
    ) -> None:
        super().__init__(metric=optuna_search.metric, mode=optuna_search.mode)
        self.inner = optuna_search
        self.pending_baselines = [dict(b) for b in baselines]
        self.baseline_trial_ids: set[str] = set()
        self.reseed = reseed
        self.live = live
        # Attached lazily, in the driver, once the sweep runs: Tune pickles this searcher
        # into tuner.pkl when the Tuner is made, and that copy must hold no open file.
        self.live_attached = False

    def _go_live(self) -> None:
        """Move the study into the live journal (once; before the first proposal or on restore)."""
        if self.live is None or self.live_attached:
            return
        if _resumed_results_dir is not None:  # resumed, maybe as a copy: this folder's journal
            self.live = self.live.moved_to(_resumed_results_dir)
        old = self.study
        numbers = {tune_id: trial.number for tune_id, trial in _tune_trials(self.inner)[0].items()}
        study, running = self.live.attach(old)
        _set_study(self.inner, study, {tune_id: running[n] for tune_id, n in numbers.items()})
        self.live_attached = True

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        self._go_live()
        if self.pending_baselines:
            self.baseline_trial_ids.add(trial_id)
            return {**self.pending_baselines.pop(0), "arm": BASELINE_ARM}
        config = self.inner.suggest(trial_id)
        trial = _tune_trials(self.inner)[0].get(trial_id)
        if trial is not None:  # the Tune trial's id in the study: its folder is tune/trial_<id>
            trial.set_user_attr("tune_trial_id", trial_id)
        return config

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id not in self.baseline_trial_ids:
            self.inner.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self.baseline_trial_ids:
            return
        if error:
            # Not the last values of a broken trial: a failure.
            self.inner.on_trial_complete(trial_id, None, error=True)
        elif result is not None and _stopped_early(result):
            # OptunaSearch tells a trial with no result as PRUNED.
            self.inner.on_trial_complete(trial_id, None, error=False)
        else:
            self.inner.on_trial_complete(trial_id, result, error=False)

    @property
    def study(self) -> optuna.Study:
        """The live Optuna study: the search trials in the order they were proposed."""
        return optuna_study(self.inner)

    # Tune saves the searcher next to its experiment state; --resume restores it.
    def get_state(self) -> dict[str, Any]:
        live, completed = _tune_trials(self.inner)
        return {
            "format": STATE_FORMAT,
            "searcher": type(self).__name__,
            "pending_baselines": self.pending_baselines,
            "baseline_trial_ids": sorted(self.baseline_trial_ids),
            "trials": trials_to_json(self.study),
            "tune_trials": {tune_id: trial.number for tune_id, trial in live.items()},
            "completed": sorted(completed),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        _check_format(state, type(self).__name__)
        if self.live_attached:
            raise RuntimeError("set_state on a searcher whose study is already live")
        study = self.study
        numbered = rebuild_study(study, list(state["trials"]))
        live = {
            str(tune_id): numbered[int(n)] for tune_id, n in dict(state["tune_trials"]).items() if int(n) in numbered
        }
        _set_tune_trials(self.inner, live, {str(t) for t in state["completed"]})
        self.pending_baselines = [dict(b) for b in state["pending_baselines"]]
        self.baseline_trial_ids = {str(t) for t in state["baseline_trial_ids"]}
        if self.reseed is not None:
            study.sampler = self.reseed(len(state["trials"]))
        self._go_live()  # the journal gets exactly the restored trials

    def save(self, checkpoint_path: str) -> None:
        _write_json(checkpoint_path, self.get_state())

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(_read_json(checkpoint_path))


# --------------------------------------------------------- Ray's OptunaSearch internals
# Ray (2.52-2.60) has no public accessor for the study inside ``OptunaSearch`` nor for
# its map from Tune trial ids to Optuna trials, and its own save/restore pickles them.
# These four functions are the only places in netsep that touch those private
# attributes, so a Ray upgrade that renames them breaks here and nowhere else.
def optuna_study(search: OptunaSearch) -> optuna.Study:
    """The study inside Ray's ``OptunaSearch``.

    Ray (2.52-2.60) offers no public accessor for it; this is the one place in netsep
    that reads the private attribute, so a Ray upgrade that renames it breaks here.
    """
    study = search._ot_study
    if study is None:  # OptunaSearch makes it once it knows its space and metrics
        raise RuntimeError("the OptunaSearch has no study yet (no space, metric or mode set)")
    return study


def _tune_trials(search: OptunaSearch) -> tuple[dict[str, optuna.Trial], set[str]]:
    """(Tune trial id -> its live Optuna trial, the ids already told) of ``search``."""
    completed = set(search._completed_trials)
    return {k: v for k, v in search._ot_trials.items() if k not in completed}, completed


def _set_tune_trials(search: OptunaSearch, live: dict[str, optuna.Trial], completed: set[str]) -> None:
    search._ot_trials = dict(live)
    search._completed_trials = set(completed)


def _set_study(search: OptunaSearch, study: optuna.Study, live: dict[str, optuna.Trial]) -> None:
    """``search`` proposes from ``study`` now; ``live`` maps running Tune trials to its trials."""
    search._ot_study = study
    _set_tune_trials(search, live, set(search._completed_trials))


# ------------------------------------------------------------------ state files
def _write_json(path: str, state: dict[str, Any]) -> None:
    # Tune writes to a temporary name and renames it, so a failed write keeps the last state.
    Path(path).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def _read_json(path: str) -> dict[str, Any]:
    """A state file: JSON data only (a pickle or anything else is refused, never run)."""
    try:
        state = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{path}: not a netsep searcher state (expected JSON: {error!r})") from None
    if not isinstance(state, dict):
        # ValueError, not TypeError: a damaged file, like the JSON error above.
        raise ValueError(f"{path}: not a netsep searcher state (expected a JSON object)")  # noqa: TRY004
    return state


def _check_format(state: dict[str, Any], searcher: str) -> None:
    if state.get("format") != STATE_FORMAT or state.get("searcher") != searcher:
        raise ValueError(
            f"not a {searcher} state of format {STATE_FORMAT} "
            f"(got format {state.get('format')!r}, searcher {state.get('searcher')!r})"
        )


def _stopped_early(result: dict) -> bool:
    """A trial that ended before its configured epochs without an error."""
    epochs = result.get("config", {}).get("epochs")
    epoch = result.get("epoch")
    return epochs is not None and epoch is not None and int(epoch) < int(epochs)


class ListSearcher(Searcher):
    """Proposes a fixed list of configs, in order, once each (the compare mode's runs).

    A Searcher rather than a grid so that Tune saves its position with the
    experiment and ``Tuner.restore`` continues without repeating finished runs.
    """

    CKPT_FILE_TMPL = "searcher-state-{}.json"

    def __init__(self, configs: list[dict[str, Any]], metric: str, mode: str) -> None:
        super().__init__(metric=metric, mode=mode)
        self.configs = [dict(c) for c in configs]
        self.next_index = 0

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.next_index >= len(self.configs):
            return Searcher.FINISHED
        config = self.configs[self.next_index]
        self.next_index += 1
        return dict(config)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        pass  # nothing to learn: the list is fixed

    def get_state(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "searcher": type(self).__name__,
            "configs": self.configs,
            "next_index": self.next_index,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        _check_format(state, type(self).__name__)
        self.configs = [dict(c) for c in state["configs"]]
        self.next_index = int(state["next_index"])

    def save(self, checkpoint_path: str) -> None:
        _write_json(checkpoint_path, self.get_state())

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(_read_json(checkpoint_path))


# ------------------------------------------------------ resuming a moved folder
# Tune's SearchGenerator pickles the Experiment it was given, storage location
# included, and on resume creates the trials still to come from that copy: a resumed
# copy of a results folder wrote the new trials' checkpoints into the original. Ray
# re-homes the trials it restores (TuneController._restore_trials); this does the
# same for the experiment the new trials come from.
# The same holds for the searcher itself: Tune unpickles it from tuner.pkl, so its live
# study names the journal of the folder it was made in; a resumed copy must write its own.
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


def search_algorithm(searcher: Searcher, max_concurrent: int | None) -> RelocatableSearch:
    """``searcher`` as Tune runs it: at most ``max_concurrent`` trials at once, resumable anywhere."""
    limited = ConcurrencyLimiter(searcher, max_concurrent=max_concurrent) if max_concurrent else searcher
    return RelocatableSearch(limited)
