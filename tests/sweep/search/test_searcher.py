"""The sweep's searcher in process (no Ray runtime): configurations run as replicates paired with the baseline.

``SweepSearcher`` proposes the baselines first, one per seed, and keeps them out of
Optuna; runs each configuration Optuna proposes as K Tune trials with the baseline's
seeds; tells Optuna once per configuration (the mean over seeds; FAIL when a seed
failed; PRUNED when its seeds were stopped early); stores each configuration's
constraint violations where the sampler reads them; starts with the given
configurations; races seeds to the front; and saves and restores all of it as JSON.
"""

from __future__ import annotations

import json
import pickle
import statistics
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState
from ray.tune.search import Searcher

from sweep.baselines import BASELINE_ARM
from sweep.search.feasibility import INERT_KEY, Feasibility
from sweep.search.searcher import STATE_FORMAT, SweepSearcher
from sweep.spaces.replication import Constraint, Replicates

FIXED = {"objective": "dice", "epochs": 3, "dataset": "digits"}
BASELINE = {**FIXED, "objective": "independent", "w_adv": 0.0, "pairing": "shared"}
OBJECTIVES = ["ensemble_acc", "disagreement"]


def sample(trial: optuna.trial.BaseTrial) -> dict[str, Any]:
    return {
        "w_adv": trial.suggest_float("w_adv", 1e-3, 1.0, log=True),
        "disc_arch": trial.suggest_categorical("disc_arch", ["mlp", "siamese_pool"]),
    }


def make(
    *,
    k: int | tuple[int, int] = 1,
    trials: int = 3,
    baselines: int = 1,
    seed: int = 0,
    metrics: list[str] = OBJECTIVES,
    **kw: Any,
) -> SweepSearcher:
    low, high = (k, k) if isinstance(k, int) else k
    return SweepSearcher(
        sample=sample,
        fixed=FIXED,
        metrics=metrics,
        modes=["max"] * len(metrics),
        sampler=optuna.samplers.RandomSampler(seed=seed),
        trials=trials,
        replicates=Replicates(min=low, max=high),
        baselines=[BASELINE] * baselines,
        **kw,
    )


def result(epoch: int = 3, acc: float = 0.9, dis: float = 0.1, disc: float = 0.8, epochs: int = 3) -> dict[str, Any]:
    return {
        "ensemble_acc": acc,
        "disagreement": dis,
        "disc_acc": disc,
        "epoch": epoch,
        "training_iteration": epoch,
        "config": {**FIXED, "epochs": epochs},
    }


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


# ------------------------------------------------------------------ proposals
def test_baselines_come_first_one_per_seed_and_never_reach_optuna():
    searcher = make(k=3, baselines=1)
    first = [searcher.suggest(t) for t in ids("b", 3)]
    assert [c["arm"] for c in first] == [BASELINE_ARM] * 3
    assert [(c["seed"], c["replicate"]) for c in first] == [(0, 0), (1, 1), (2, 2)]
    assert all({k: c[k] for k in BASELINE} == BASELINE for c in first)
    assert searcher.study.trials == []
    for t in ids("b", 3):
        searcher.on_trial_complete(t, result())
    assert searcher.study.trials == []


def test_a_configuration_runs_as_k_replicates_with_the_baselines_seeds():
    searcher = make(k=3, baselines=0)
    replicates = [searcher.suggest(t) for t in ids("t", 3)]
    assert len(searcher.study.trials) == 1  # one Optuna trial for the three Tune trials
    assert [(c["seed"], c["replicate"], c["config_id"]) for c in replicates] == [(0, 0, 0), (1, 1, 0), (2, 2, 0)]
    params = {k: replicates[0][k] for k in ("w_adv", "disc_arch")}
    assert all({k: c[k] for k in params} == params for c in replicates)
    assert "arm" not in replicates[0] and {k: replicates[0][k] for k in FIXED} == FIXED
    searcher.suggest("t3")  # the next configuration
    assert searcher.groups[1].params != params or searcher.suggest("t4")["config_id"] == 1


def test_a_fixed_seed_moves_every_replicate_and_baseline():
    searcher = SweepSearcher(
        sample=sample,
        fixed={**FIXED, "seed": 40},
        metrics=OBJECTIVES,
        modes=["max", "max"],
        sampler=optuna.samplers.RandomSampler(seed=0),
        trials=1,
        replicates=Replicates(min=2, max=2),
        baselines=[BASELINE],
    )
    assert [searcher.suggest(t)["seed"] for t in ids("x", 4)] == [40, 41, 40, 41]


def test_optuna_is_told_the_mean_once_every_replicate_ended():
    searcher = make(k=3, baselines=0)
    for t in ids("t", 3):
        searcher.suggest(t)
    searcher.on_trial_complete("t0", result(acc=0.80, dis=0.10))
    searcher.on_trial_complete("t2", result(acc=0.90, dis=0.30))
    assert searcher.study.trials[0].state == TrialState.RUNNING
    searcher.on_trial_complete("t1", result(acc=0.85, dis=0.20))
    told = searcher.study.trials[0]
    assert told.state == TrialState.COMPLETE and told.values == pytest.approx([0.85, 0.20])
    assert told.user_attrs["replicates"] == 3 and told.user_attrs["seeds"] == [0, 1, 2]
    assert told.user_attrs["sd_ensemble_acc"] == pytest.approx(statistics.stdev([0.80, 0.85, 0.90]))
    assert told.user_attrs["tune_trial_ids"] == ["t0", "t1", "t2"]
    searcher.on_trial_complete("t1", result(acc=0.1))  # a replicate told twice (a resume): ignored
    assert searcher.study.trials[0].values == pytest.approx([0.85, 0.20])


def test_a_failed_seed_fails_the_configuration_and_a_stopped_one_prunes_it():
    searcher = make(k=2, baselines=0, trials=2)
    for t in ids("t", 4):
        searcher.suggest(t)
    searcher.on_trial_complete("t0", result(acc=0.99))
    searcher.on_trial_complete("t1", result(epoch=2), error=True)  # never a silent mean of one seed
    searcher.on_trial_complete("t2", result(acc=0.99))
    searcher.on_trial_complete("t3", result(epoch=1, acc=0.99))  # stopped early with its sibling
    first, second = searcher.study.trials
    assert (first.state, first.user_attrs["failed_seeds"]) == (TrialState.FAIL, [1])
    assert second.state == TrialState.PRUNED
    assert searcher.study.best_trials == []


def test_an_inert_adversary_and_a_broken_constraint_are_infeasible_to_optuna():
    feasibility = Feasibility((Constraint(metric="ensemble_acc", min=0.5),))
    searcher = make(k=2, baselines=0, feasibility=feasibility)
    for t in ids("t", 6):
        searcher.suggest(t)
    outcomes = {  # (ensemble_acc, disc_acc) of each seed
        "t0": (0.9, 0.52),
        "t1": (0.9, 0.56),  # mean disc_acc 0.54: inert
        "t2": (0.6, 0.9),
        "t3": (0.7, 0.9),  # feasible
        "t4": (0.4, 0.9),
        "t5": (0.5, 0.9),  # mean ensemble_acc 0.45 < 0.5
    }
    for t, (acc, disc) in outcomes.items():
        searcher.on_trial_complete(t, result(acc=acc, disc=disc))
    trials = searcher.study.trials
    violations = [t.constraints for t in trials]  # what Optuna recorded, by rule
    assert violations[0][INERT_KEY] == pytest.approx(0.55 - 0.54) and violations[0][INERT_KEY] > 0
    assert all(v <= 0 for v in violations[1].values())
    assert violations[2]["ensemble_acc >= 0.5"] == pytest.approx(0.05)
    # The feasible configuration is the front, though the inert one has the best accuracy.
    assert [t.number for t in searcher.study.best_trials] == [1]


def test_independent_configurations_have_no_adversary_to_be_inert():
    searcher = SweepSearcher(
        sample=sample,
        fixed={**FIXED, "objective": "independent"},
        metrics=OBJECTIVES,
        modes=["max", "max"],
        sampler=optuna.samplers.RandomSampler(seed=0),
        trials=1,
        replicates=Replicates(min=1, max=1),
    )
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {**result(disc=float("nan"))})
    assert searcher.study.trials[0].constraints == {INERT_KEY: -1.0}


def test_start_with_configurations_run_first_and_are_told_like_others():
    start = [{"w_adv": 0.5, "disc_arch": "mlp"}, {"w_adv": 0.01}]
    searcher = make(k=1, baselines=0, trials=3, start_with=start)
    first, second, third = (searcher.suggest(t) for t in ids("t", 3))
    assert (first["w_adv"], first["disc_arch"]) == (0.5, "mlp")
    assert second["w_adv"] == 0.01 and second["disc_arch"] in ("mlp", "siamese_pool")  # the rest sampled
    assert third["w_adv"] not in (0.5, 0.01)
    searcher.on_trial_complete("t0", result(acc=0.7))
    assert searcher.study.trials[0].values == [0.7, 0.1]


def test_the_searcher_finishes_when_every_configuration_is_told():
    searcher = make(k=2, baselines=1, trials=1)
    handed = [searcher.suggest(t) for t in ids("t", 4)]
    assert handed[-1] is not None and searcher.suggest("t4") is None  # waiting for running replicates
    for t in ids("t", 4):
        searcher.on_trial_complete(t, result())
    assert searcher.suggest("t5") == Searcher.FINISHED


# ------------------------------------------------------------------------ racing
def test_racing_gives_more_seeds_only_where_the_front_is_undecided():
    # Config 0 is clearly best, config 1 clearly dominated (its best case below 0's worst
    # case on both objectives), config 2 is close to 0: 1 stops at min, 0 and 2 race on to max.
    searcher = make(k=(2, 4), baselines=0, trials=3)
    for t in ids("t", 6):
        searcher.suggest(t)
    values = {"t0": (0.90, 0.30), "t1": (0.91, 0.31), "t2": (0.50, 0.05), "t3": (0.51, 0.06), "t4": (0.89, 0.31)}
    values["t5"] = (0.92, 0.29)
    for t, (acc, dis) in values.items():
        searcher.on_trial_complete(t, result(acc=acc, dis=dis))
    assert searcher.groups[1].settled and searcher.groups[1].planned == 2  # stopped: off the front
    assert not searcher.groups[0].settled and searcher.groups[0].planned == 3  # one more seed each
    assert not searcher.groups[2].settled and searcher.groups[2].planned == 3
    extra = [searcher.suggest(t) for t in ("t6", "t7")]
    assert sorted((c["config_id"], c["replicate"], c["seed"]) for c in extra) == [(0, 2, 2), (2, 2, 2)]
    for t in ("t6", "t7", "t8", "t9"):
        searcher.on_trial_complete(t, result(acc=0.9, dis=0.3))
        if t in ("t6", "t7"):
            searcher.suggest({"t6": "t8", "t7": "t9"}[t])
    assert searcher.groups[0].settled and searcher.groups[0].planned == 4  # at max
    assert searcher.study.trials[0].user_attrs["replicates"] == 4


def test_racing_baselines_run_every_seed_a_configuration_may_get():
    searcher = make(k=(2, 5), baselines=1, trials=1)
    seeds = [searcher.suggest(t)["seed"] for t in ids("b", 5)]
    assert seeds == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------- saved state
def _half_done(searcher: SweepSearcher) -> None:
    """A baseline seed, one configuration told, one with 1 of 2 seeds ended, its other seed running."""
    for t in ("b0", "b1", "t0", "t1", "t2", "t3"):
        searcher.suggest(t)
    searcher.on_trial_complete("t0", result(acc=0.8))
    searcher.on_trial_complete("t1", result(acc=0.9))
    searcher.on_trial_complete("t2", result(acc=0.6))


def test_save_and_restore_keep_configurations_whole(tmp_path):
    searcher = make(k=2, baselines=1, trials=3)
    _half_done(searcher)
    path = tmp_path / "searcher-state-x.json"
    searcher.save(str(path))
    state = json.loads(path.read_text())  # plain JSON data
    assert state["format"] == STATE_FORMAT and [g["number"] for g in state["groups"]] == [0, 1]

    fresh = make(k=2, baselines=1, trials=3)  # what Tune unpickles from tuner.pkl: the searcher as it started
    fresh.restore(str(path))
    assert [(t.number, t.state) for t in fresh.study.trials] == [(0, TrialState.COMPLETE), (1, TrialState.RUNNING)]
    assert fresh.baseline_trial_ids == {"b0", "b1"} and fresh.pending_baselines == []
    fresh.on_trial_complete("t3", result(acc=0.7))  # the running seed of config 1 ends after the resume
    assert fresh.study.trials[1].values == pytest.approx([0.65, 0.1])  # the mean of both seeds, told once
    nxt = fresh.suggest("t4")
    assert (nxt["config_id"], nxt["replicate"]) == (2, 0) and fresh.suggest("t5")["replicate"] == 1


def test_replicates_queued_but_not_handed_out_are_handed_out_after_a_restore():
    searcher = make(k=3, baselines=0, trials=1)
    searcher.suggest("t0")  # seeds 1 and 2 are still queued
    fresh = make(k=3, baselines=0, trials=1)
    fresh.set_state(json.loads(json.dumps(searcher.get_state())))
    assert [(c["config_id"], c["seed"]) for c in (fresh.suggest("t1"), fresh.suggest("t2"))] == [(0, 1), (0, 2)]
    assert len(fresh.study.trials) == 1


def test_restore_reseeds_the_sampler_from_the_number_of_trials():
    searcher = make(k=1, baselines=0, trials=5)
    for t in ids("t", 3):
        searcher.suggest(t)
    state = json.loads(json.dumps(searcher.get_state()))
    seen = []

    def reseed(trials_so_far: int) -> optuna.samplers.BaseSampler:
        seen.append(trials_so_far)
        return optuna.samplers.RandomSampler(seed=100 + trials_so_far)

    resumed = [make(k=1, baselines=0, trials=5, reseed=reseed) for _ in range(2)]
    for r in resumed:
        r.set_state(state)
    assert seen == [3, 3]
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
    with pytest.raises(ValueError, match="not a netsep searcher state"):
        make().restore(str(path))
    assert not marker.exists()


@pytest.mark.parametrize(
    "state", [{}, {"format": 1, "searcher": "SweepSearcher"}, {"format": STATE_FORMAT, "searcher": "ListSearcher"}]
)
def test_a_state_of_another_kind_or_version_is_refused(state):
    with pytest.raises(ValueError, match="not a SweepSearcher state"):
        make().set_state(state)


def test_the_searcher_pickles_before_it_runs():
    pickle.loads(pickle.dumps(make(k=2)))  # Tune's tuner.pkl holds it
    assert SweepSearcher.CKPT_FILE_TMPL.endswith(".json")
