"""The sweep's searcher with a real ``OptunaSearch``, in process (no Ray runtime).

``SweepSearcher`` proposes the baselines first and keeps them out of Optuna, tells
Optuna an early-stopped trial as PRUNED and an errored one as FAIL, and saves and
restores its state; ``ListSearcher`` proposes a fixed list once.
"""
from __future__ import annotations

from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from sweep.baselines import BASELINE_ARM
from sweep.searcher import DefineByRun, ListSearcher, SweepSearcher

FIXED = {"objective": "dice", "epochs": 3, "dataset": "digits"}
BASELINE = {**FIXED, "objective": "independent", "w_adv": 0.0, "pairing": "shared"}


def sample(trial: optuna.Trial) -> dict[str, Any]:
    return {"w_adv": trial.suggest_float("w_adv", 1e-3, 1.0, log=True),
            "disc_arch": trial.suggest_categorical("disc_arch", ["mlp", "siamese_pool"])}


def make(metrics: list[str] | str = ("ensemble_acc", "disagreement"), baselines: int = 1, seed: int = 0) -> SweepSearcher:
    metric = list(metrics) if not isinstance(metrics, str) else metrics
    mode = ["max"] * len(metric) if isinstance(metric, list) else "max"
    inner = OptunaSearch(space=DefineByRun(sample, FIXED), metric=metric, mode=mode,
                         sampler=optuna.samplers.RandomSampler(seed=seed))
    return SweepSearcher(inner, [BASELINE] * baselines)


def result(epoch: int, acc: float = 0.9, dis: float = 0.1, epochs: int = 3) -> dict[str, Any]:
    return {"ensemble_acc": acc, "disagreement": dis, "epoch": epoch, "training_iteration": epoch,
            "config": {**FIXED, "epochs": epochs}}


def test_the_baseline_is_proposed_first_and_kept_out_of_optuna():
    searcher = make()
    first = searcher.suggest("b")
    assert first == {**BASELINE, "arm": BASELINE_ARM}
    assert searcher.study.trials == []
    second = searcher.suggest("t1")
    assert set(second) == {"w_adv", "disc_arch", *FIXED} and "arm" not in second
    assert {k: second[k] for k in FIXED} == FIXED
    searcher.on_trial_result("b", result(1))
    searcher.on_trial_complete("b", result(3))
    assert len(searcher.study.trials) == 1 and searcher.study.trials[0].state == TrialState.RUNNING


def test_a_single_objective_baseline_result_never_reaches_optuna():
    # OptunaSearch reports intermediate values for one metric; the baseline has no Optuna trial.
    searcher = make("ensemble_acc")
    searcher.suggest("b")
    searcher.suggest("t1")
    searcher.on_trial_result("b", result(1))
    searcher.on_trial_result("t1", result(1, acc=0.5))
    assert searcher.study.trials[0].intermediate_values == {1: 0.5}


def test_complete_early_stopped_and_errored_trials_are_told_as_such():
    searcher = make(baselines=0)
    for trial_id in ("done", "stopped", "broken"):
        searcher.suggest(trial_id)
    searcher.on_trial_complete("done", result(3, acc=0.8, dis=0.2))
    searcher.on_trial_complete("stopped", result(1, acc=0.95, dis=0.3))  # ASHA stopped it after epoch 1
    searcher.on_trial_complete("broken", result(2, acc=0.99, dis=0.9), error=True)
    states = [(t.state, t.values) for t in searcher.study.trials]
    assert states == [(TrialState.COMPLETE, [0.8, 0.2]), (TrialState.PRUNED, None), (TrialState.FAIL, None)]
    # Neither the pruned nor the failed trial's good-looking values sit on the front.
    assert [t.number for t in searcher.study.best_trials] == [0]


def test_after_the_baselines_every_suggestion_is_an_optuna_trial():
    searcher = make(baselines=2)
    arms = [searcher.suggest(f"t{i}").get("arm") for i in range(4)]
    assert arms == [BASELINE_ARM, BASELINE_ARM, None, None]
    assert len(searcher.study.trials) == 2


def test_list_searcher_proposes_each_config_once_then_finishes():
    configs = [{"seed": 1, "arm": "a"}, {"seed": 1, "arm": "b"}]
    searcher = ListSearcher(configs, metric="ensemble_acc", mode="max")
    assert [searcher.suggest("x"), searcher.suggest("y")] == configs
    assert searcher.suggest("z") == Searcher.FINISHED
    configs[0]["seed"] = 99  # the searcher holds its own copy
    assert searcher.configs[0]["seed"] == 1


def test_study_needs_an_optuna_search_with_a_space():
    searcher = SweepSearcher(OptunaSearch(), [])
    with pytest.raises(RuntimeError, match="no study yet"):
        _ = searcher.study
