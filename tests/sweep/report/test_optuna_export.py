"""optuna.db: the search trials as an Optuna study."""

from __future__ import annotations

from typing import Any

import optuna

from sweep.report import OPTUNA_DB, PARETO_CSV
from tests.sweep.tune_folders import TuneFolder, read_csv


def test_optuna_db_round_trip(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    storage = f"sqlite:///{folder.results / OPTUNA_DB}"
    study = optuna.load_study(study_name="demo", storage=storage)
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.metric_names == ["ensemble_acc", "excess_agreement"]
    trials = study.get_trials(deepcopy=False)
    ids = [t.user_attrs["tune_trial_id"] for t in trials]
    assert ids == [f"a{n:07d}" for n in range(1, 11)]  # search trials only, in order; no baseline
    state = {t.user_attrs["tune_trial_id"]: t.state for t in trials}
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
    by_id = {t.user_attrs["tune_trial_id"]: t for t in trials}
    a1, a2 = by_id["a0000001"], by_id["a0000002"]
    assert a1.values == [0.90, 0.05]
    assert a1.params == {"w_adv": 0.01, "disc_arch": "mlp"}  # disc_depth was not sampled
    assert a2.params == {"w_adv": 0.5, "disc_arch": "siamese_pool", "disc_depth": 2}
    assert a2.distributions["disc_depth"] == optuna.distributions.IntDistribution(1, 4)
    assert a2.distributions["w_adv"] == optuna.distributions.FloatDistribution(0.001, 1.0, log=True)
    assert a1.intermediate_values == {1: 0.7, 2: 0.85, 3: 0.90}
    assert a1.user_attrs["status"] == "complete" and a1.user_attrs["final_ensemble_acc"] == 0.90
    assert a1.user_attrs["checkpoint"].endswith("trial_a0000001/checkpoint_000002")
    assert "not a finite number" in by_id["a0000009"].user_attrs["reason"]
    assert by_id["a0000006"].user_attrs["reason"].startswith("DivergedError: diverged at epoch 2")
    assert by_id["a0000005"].user_attrs["status"] == "stopped_early"
    # Optuna's own Pareto front is pareto.csv's.
    front_ids = {t.user_attrs["tune_trial_id"] for t in study.best_trials}
    assert front_ids == {r["trial_id"] for r in read_csv(folder.results / PARETO_CSV)}


def test_param_distribution_is_what_suggest_samples_from() -> None:
    """optuna.db rebuilds trials with ``Param.distribution()``; it must be suggest's own."""
    from sweep.spaces import SPACES_DIR, load_space

    for path in sorted(SPACES_DIR.glob("*.yaml")):
        space = load_space(str(path))
        for param in space.params.values():
            trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
            param.suggest(trial)
            assert trial.distributions[param.name] == param.distribution(), (path.name, param.name)
