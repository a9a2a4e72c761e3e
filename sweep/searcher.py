"""The sweep's Tune searcher: Optuna (multi-objective) plus an honest baseline.

``SweepSearcher`` wraps Ray's ``OptunaSearch`` and adds two things Tune lacks:

* the ``independent`` baseline is proposed first, as an ordinary Tune trial with the
  sweep's fixed settings, but its result is kept away from Optuna (it is not a point
  of the searched space);
* what Optuna is told matches what happened. Tune reports a trial stopped early by
  ASHA as *complete* with its early values, and an errored trial as complete with its
  last values; here the first is told as PRUNED and the second as FAIL, so neither
  sits on Optuna's Pareto front nor misleads the sampler.
"""
from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import optuna
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from sweep.baselines import BASELINE_ARM

__all__ = ["DefineByRun", "ListSearcher", "SweepSearcher", "optuna_study"]


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
    def __init__(self, optuna_search: OptunaSearch, baselines: list[dict[str, Any]]) -> None:
        super().__init__(metric=optuna_search.metric, mode=optuna_search.mode)
        self.inner = optuna_search
        self.pending_baselines = [dict(b) for b in baselines]
        self.baseline_trial_ids: set[str] = set()

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return self.inner.set_search_properties(metric, mode, config, **spec)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.pending_baselines:
            self.baseline_trial_ids.add(trial_id)
            return {**self.pending_baselines.pop(0), "arm": BASELINE_ARM}
        return self.inner.suggest(trial_id)

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

    # Tune saves the searcher next to its experiment state; --resume restores it.
    def save(self, checkpoint_path: str) -> None:
        state = {
            "pending_baselines": self.pending_baselines,
            "baseline_trial_ids": self.baseline_trial_ids,
            "inner": self.inner.__dict__.copy(),
        }
        with open(checkpoint_path, "wb") as f:
            pickle.dump(state, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)  # Tune's own state file in the experiment folder
        self.pending_baselines = state["pending_baselines"]
        self.baseline_trial_ids = state["baseline_trial_ids"]
        self.inner.__dict__.update(state["inner"])

    @property
    def study(self) -> optuna.Study:
        """The live Optuna study: the search trials in the order they were proposed."""
        return optuna_study(self.inner)


def optuna_study(search: OptunaSearch) -> optuna.Study:
    """The study inside Ray's ``OptunaSearch``.

    Ray (2.52-2.60) offers no public accessor for it; this is the one place in netsep
    that reads the private attribute, so a Ray upgrade that renames it breaks here.
    """
    study = search._ot_study
    if study is None:  # OptunaSearch makes it once it knows its space and metrics
        raise RuntimeError("the OptunaSearch has no study yet (no space, metric or mode set)")
    return study


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

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump({"configs": self.configs, "next_index": self.next_index}, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            state = pickle.load(f)  # Tune's own state file in the experiment folder
        self.configs, self.next_index = state["configs"], state["next_index"]
