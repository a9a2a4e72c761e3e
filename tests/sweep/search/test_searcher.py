"""The sweep's searcher with a real ``OptunaSearch``, in process (no Ray runtime).

``SweepSearcher`` proposes the baselines first and keeps them out of Optuna, tells
Optuna an early-stopped trial as PRUNED and an errored one as FAIL, and saves and
restores its state; ``ListSearcher`` proposes a fixed list once.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from sweep.baselines import BASELINE_ARM
from sweep.search.searcher import DefineByRun, ListSearcher, SweepSearcher

FIXED = {"objective": "dice", "epochs": 3, "dataset": "digits"}
BASELINE = {**FIXED, "objective": "independent", "w_adv": 0.0, "pairing": "shared"}


def sample(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "w_adv": trial.suggest_float("w_adv", 1e-3, 1.0, log=True),
        "disc_arch": trial.suggest_categorical("disc_arch", ["mlp", "siamese_pool"]),
    }


def make(
    metrics: list[str] | str = ("ensemble_acc", "disagreement"), baselines: int = 1, seed: int = 0
) -> SweepSearcher:
    metric = list(metrics) if not isinstance(metrics, str) else metrics
    mode = ["max"] * len(metric) if isinstance(metric, list) else "max"
    inner = OptunaSearch(
        space=DefineByRun(sample, FIXED), metric=metric, mode=mode, sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    return SweepSearcher(inner, [BASELINE] * baselines)


def result(epoch: int, acc: float = 0.9, dis: float = 0.1, epochs: int = 3) -> dict[str, Any]:
    return {
        "ensemble_acc": acc,
        "disagreement": dis,
        "epoch": epoch,
        "training_iteration": epoch,
        "config": {**FIXED, "epochs": epochs},
    }


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


# ----------------------------------------------------------------- saved state
def _history(searcher: SweepSearcher) -> None:
    """A baseline, two told trials (complete, failed) and one still running."""
    searcher.suggest("b")
    for trial_id in ("t1", "t2", "t3"):
        searcher.suggest(trial_id)
    searcher.on_trial_complete("t1", result(3, acc=0.8, dis=0.2))
    searcher.on_trial_complete("t2", result(1), error=True)


def _frozen(study: optuna.Study) -> list[tuple[Any, ...]]:
    return [(t.number, t.state, t.values, t.params, t.distributions) for t in study.trials]


def test_save_and_restore_round_trip_through_json(tmp_path):
    searcher = make(baselines=1)
    _history(searcher)
    path = tmp_path / "searcher-state-x.json"
    searcher.save(str(path))
    state = json.loads(path.read_text())  # plain JSON data
    assert state["format"] == 1 and state["tune_trials"] == {"t3": 2} and state["completed"] == ["t1", "t2"]

    fresh = make(baselines=1)  # what Tune unpickles from tuner.pkl: the searcher as it started
    fresh.restore(str(path))
    assert _frozen(fresh.study) == _frozen(searcher.study)
    assert fresh.pending_baselines == [] and fresh.baseline_trial_ids == {"b"}
    # The running trial is live again: its result is told to the same Optuna trial.
    fresh.on_trial_complete("t3", result(3, acc=0.7, dis=0.4))
    assert fresh.study.trials[2].state == TrialState.COMPLETE and fresh.study.trials[2].values == [0.7, 0.4]
    fresh.on_trial_complete("t1", result(3, acc=0.1, dis=0.1))  # told already: ignored, not told twice
    assert fresh.study.trials[0].values == [0.8, 0.2]
    # New Optuna trials are numbered after the old ones.
    fresh.suggest("t4")
    assert [t.number for t in fresh.study.trials] == [0, 1, 2, 3]


def test_restore_keeps_the_baselines_not_yet_proposed():
    searcher = make(baselines=2)
    searcher.suggest("b1")
    fresh = make(baselines=2)
    fresh.set_state(json.loads(json.dumps(searcher.get_state())))
    assert fresh.pending_baselines == [BASELINE] and fresh.baseline_trial_ids == {"b1"}
    assert fresh.suggest("b2")["arm"] == BASELINE_ARM and "w_adv" in fresh.suggest("t1")


def test_restore_keeps_intermediate_values_of_a_single_objective():
    searcher = make("ensemble_acc", baselines=0)
    searcher.suggest("t1")
    searcher.on_trial_result("t1", result(1, acc=0.4))
    fresh = make("ensemble_acc", baselines=0)
    fresh.set_state(json.loads(json.dumps(searcher.get_state())))
    fresh.on_trial_result("t1", result(2, acc=0.6))
    assert fresh.study.trials[0].intermediate_values == {1: 0.4, 2: 0.6}


def test_restore_reseeds_the_sampler_from_the_number_of_trials():
    searcher = make(baselines=0)
    _history(searcher)
    state = json.loads(json.dumps(searcher.get_state()))
    seen = []

    def reseed(trials_so_far: int) -> optuna.samplers.BaseSampler:
        seen.append(trials_so_far)
        return optuna.samplers.RandomSampler(seed=100 + trials_so_far)

    resumed = [SweepSearcher(make(baselines=0).inner, [], reseed=reseed) for _ in range(2)]
    for r in resumed:
        r.set_state(state)
    assert seen == [4, 4]  # "b" is an Optuna trial too here (no baselines)
    first, second = (r.suggest("t9") for r in resumed)
    assert first == second  # the same proposal on every resume from the same state
    assert first["w_adv"] not in [t.params["w_adv"] for t in searcher.study.trials]


def test_a_pickle_in_the_state_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "searcher-state-x.pkl"
    path.write_bytes(pickle.dumps({"inner": Payload()}))
    for searcher in (make(), ListSearcher([{"seed": 1}], metric="ensemble_acc", mode="max")):
        with pytest.raises(ValueError, match="not a netsep searcher state"):
            searcher.restore(str(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    "state", [{}, {"format": 2, "searcher": "SweepSearcher"}, {"format": 1, "searcher": "ListSearcher"}]
)
def test_a_state_of_another_kind_or_version_is_refused(state):
    with pytest.raises(ValueError, match="not a SweepSearcher state"):
        make().set_state(state)


def test_state_files_are_json_by_name():
    assert SweepSearcher.CKPT_FILE_TMPL.endswith(".json") and ListSearcher.CKPT_FILE_TMPL.endswith(".json")


def test_list_searcher_round_trip(tmp_path):
    searcher = ListSearcher([{"seed": 1, "arm": "a"}, {"seed": 2, "arm": "a"}], metric="ensemble_acc", mode="max")
    searcher.suggest("x")
    path = tmp_path / "state.json"
    searcher.save(str(path))
    fresh = ListSearcher([], metric="ensemble_acc", mode="max")
    fresh.restore(str(path))
    assert fresh.suggest("y") == {"seed": 2, "arm": "a"} and fresh.suggest("z") == Searcher.FINISHED
