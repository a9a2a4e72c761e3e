"""optuna.db: the configurations as an Optuna study (one trial each, means over seeds, constraints)."""

from __future__ import annotations

import statistics
from typing import Any

import optuna
import pytest

from sweep.report import OPTUNA_DB, PARETO_CSV
from tests.sweep.report.replicated import FINAL, trial_id
from tests.sweep.tune_folders import TuneFolder, read_csv


def test_optuna_db_round_trip(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    storage = f"sqlite:///{folder.results / OPTUNA_DB}"
    study = optuna.load_study(study_name="demo", storage=storage)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == ["ensemble_acc", "excess_agreement"]
    trials = study.get_trials(deepcopy=False)
    ids = [t.user_attrs["config_id"] for t in trials]
    assert ids == [f"a{n:07d}" for n in range(1, 11)]  # configurations only, in order; no baseline
    # An older netsep's folder: each configuration is its one trial, on its one seed.
    assert [t.user_attrs["tune_trial_ids"] for t in trials] == [[i] for i in ids]
    assert [t.number for t in trials] == list(range(10))
    state = {t.user_attrs["config_id"]: t.state for t in trials}
    S = optuna.trial.TrialState
    assert state == {
        "a0000001": S.COMPLETE,
        "a0000002": S.COMPLETE,
        "a0000003": S.COMPLETE,
        "a0000004": S.COMPLETE,
        "a0000005": S.PRUNED,
        "a0000006": S.FAIL,
        "a0000007": S.FAIL,
        "a0000008": S.FAIL,
        "a0000009": S.FAIL,
        "a0000010": S.FAIL,
    }
    by_id = {t.user_attrs["config_id"]: t for t in trials}
    a1, a2 = by_id["a0000001"], by_id["a0000002"]
    assert a1.values == [0.90, 0.05]
    assert a1.params == {"w_adv": 0.01, "disc_arch": "mlp"}  # disc_depth was not sampled
    assert a2.params == {"w_adv": 0.5, "disc_arch": "siamese_pool", "disc_depth": 2}
    assert a2.distributions["disc_depth"] == optuna.distributions.IntDistribution(1, 4)
    assert a2.distributions["w_adv"] == optuna.distributions.FloatDistribution(0.001, 1.0, log=True)
    assert a1.intermediate_values == {1: 0.7, 2: 0.85, 3: 0.90}
    assert a1.user_attrs["status"] == "complete" and a1.user_attrs["mean_ensemble_acc"] == 0.90
    assert (a1.user_attrs["seeds"], a1.user_attrs["replicates"]) == ([0], 1)
    assert a1.user_attrs["checkpoint"].endswith("trial_a0000001/checkpoint_000002")
    # Its discriminator learned (disc_acc 0.6): the constraint Optuna records is kept (<= 0).
    assert a1.constraints is not None and all(v <= 0 for v in a1.constraints.values())
    assert "not a finite number" in by_id["a0000009"].user_attrs["reason"]
    assert by_id["a0000006"].user_attrs["reason"].startswith("seed 0: DivergedError: diverged at epoch 2")
    assert by_id["a0000005"].user_attrs["status"] == "stopped_early"
    # Optuna's own Pareto front is pareto.csv's.
    front_ids = {t.user_attrs["config_id"] for t in study.best_trials}
    assert front_ids == {r["config_id"] for r in read_csv(folder.results / PARETO_CSV)}


def test_optuna_db_has_one_trial_per_configuration_over_its_seeds(replicated: tuple[TuneFolder, Any]) -> None:
    folder, _ = replicated
    study = optuna.load_study(study_name="demo", storage=f"sqlite:///{folder.results / OPTUNA_DB}")
    trials = study.get_trials(deepcopy=False)
    assert [t.user_attrs["config_id"] for t in trials] == ["c0", "c1", "c2", "c3", "c4"]
    assert [t.user_attrs["tune_trial_ids"] for t in trials] == [[trial_id(n, r) for r in range(3)] for n in range(5)]
    S = optuna.trial.TrialState
    assert [t.state for t in trials] == [S.COMPLETE, S.COMPLETE, S.COMPLETE, S.FAIL, S.COMPLETE]
    c0 = trials[0]
    # Its values are the means over seeds; each epoch's intermediate value the mean over the seeds.
    assert c0.values == pytest.approx(
        [statistics.fmean(a for a, _ in FINAL[0]), statistics.fmean(e for _, e in FINAL[0])]
    )
    assert c0.user_attrs["sd_ensemble_acc"] == pytest.approx(statistics.stdev(a for a, _ in FINAL[0]))
    assert (c0.user_attrs["seeds"], c0.user_attrs["replicates"]) == ([0, 1, 2], 3)
    assert c0.intermediate_values == pytest.approx({1: 0.7, 2: 0.81, 3: statistics.fmean(a for a, _ in FINAL[0])})
    assert trials[3].user_attrs["reason"].startswith("seed 1: DivergedError")
    # c4 has the best numbers, but an inert adversary on its mean disc_acc: infeasible, off Optuna's front.
    assert trials[4].constraints is not None and max(trials[4].constraints.values()) > 0
    assert all(t.constraints and max(t.constraints.values()) <= 0 for t in trials[:3])
    assert {t.user_attrs["config_id"] for t in study.best_trials} == {"c0", "c1"}
    assert {t.user_attrs["config_id"] for t in study.best_trials} == {
        r["config_id"] for r in read_csv(folder.results / PARETO_CSV)
    }


def test_param_distribution_is_what_suggest_samples_from() -> None:
    """optuna.db rebuilds trials with ``Param.distribution()``; it must be suggest's own."""
    from sweep.spaces import SPACES_DIR, load_space

    for path in sorted(SPACES_DIR.glob("*.yaml")):
        space = load_space(str(path))
        for param in space.params.values():
            trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
            param.suggest(trial)
            assert trial.distributions[param.name] == param.distribution(), (path.name, param.name)
