"""The sweep's Tune assembly (``sweep.run.runner``), built without starting Ray."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import optuna
import pytest

from sweep.baselines import BASELINE_ARM
from sweep.plan import build_plan, resolve_resources
from sweep.requests import SweepRequest
from sweep.run.runner import build_scheduler, build_searcher, build_tuner, tune_spec
from sweep.search.live_study import LIVE_STUDY_FILE, journal_storage

SPACE = """\
name: tiny
description: a small valid space on digits
dataset: digits
trials: 3
sampler: random
seed: 0
baseline: true
objectives:
  - {metric: ensemble_acc, direction: max}
  - {metric: disagreement, direction: max}
fixed: {objective: dice, epochs: 4, batch_size: 32}
params:
  w_adv: {type: float, low: 0.01, high: 1.0, log: true}
  objective: {type: categorical, choices: [dice, seed]}
"""


@pytest.fixture
def planned(tmp_path: Path, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "netsep-cache"))
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(SPACE.replace("objective: dice, ", ""))
    plan, space = build_plan(
        SweepRequest(space=str(space_file), storage=str(tmp_path / "exp"), name="run", early_stop="ensemble_acc")
    )
    return resolve_resources(plan, cpus=4, gpus=0), space


def test_the_spec_counts_the_baselines_and_carries_the_plan(planned):
    plan, space = planned
    spec = tune_spec(plan, space)
    assert spec.num_samples == 3 + 2  # search trials + one baseline per pairing (shared, split)
    assert (spec.cpus_per_trial, spec.gpus_per_trial, spec.max_concurrent) == (1.0, 0.0, 4)
    assert (spec.name, spec.storage_path, spec.max_failures) == ("tune", plan.tune_storage, plan.max_failures)
    assert list(spec.metric_columns) == ["ensemble_acc", "disagreement", "epoch"]
    assert list(spec.parameter_columns) == ["w_adv", "objective"]
    assert spec.reuse_actors is True and list(spec.callbacks) == []
    assert tune_spec(replace(plan, baseline=False), space).num_samples == 3


def test_the_spec_needs_resolved_resources(planned):
    plan, space = planned
    with pytest.raises(ValueError, match="resolve_resources"):
        tune_spec(replace(plan, cpus_per_trial=None), space)


def test_early_stopping_halves_whole_configurations_on_the_early_stop_metric(planned):
    plan, space = planned
    scheduler = build_scheduler(plan, space)
    assert (type(scheduler).__name__, scheduler.metric, scheduler.mode) == ("GroupHalving", "ensemble_acc", "max")
    assert scheduler.replicates == 1  # the space sets no replicates: one seed per configuration
    scheduler = build_scheduler(replace(plan, replicates=(3, 3)), space)
    assert scheduler.replicates == 3 and scheduler.rungs == {1, 2}  # the space trains 4 epochs: rungs below it
    assert build_scheduler(replace(plan, early_stop=None), space) is None


def test_the_searcher_proposes_the_planned_baselines_first(planned):
    plan, space = planned
    searcher = build_searcher(plan, space)
    first, second, third = (searcher.suggest(str(i)) for i in range(3))
    assert [first["arm"], second["arm"]] == [BASELINE_ARM] * 2
    assert sorted(c["pairing"] for c in (first, second)) == ["shared", "split"]
    assert set(third) >= {"w_adv", "objective", "epochs"} and "arm" not in third
    assert [d.name for d in searcher.study.directions] == ["MAXIMIZE", "MAXIMIZE"]
    # The study is the live one in the results folder, and the search trial is in it.
    live = optuna.load_study(study_name=plan.name, storage=journal_storage(Path(plan.results_dir) / LIVE_STUDY_FILE))
    assert [t.params for t in live.trials] == [t.params for t in searcher.study.trials] and len(live.trials) == 1


def test_build_tuner_writes_only_tune_s_own_state_and_starts_no_ray(planned, process_defaults_restored):
    import ray

    plan, space = planned
    searcher = build_searcher(plan, space)
    tuner = build_tuner(plan, space, searcher=searcher, reuse_actors=False)
    assert type(tuner).__name__ == "Tuner" and not ray.is_initialized()
    tune_dir = Path(plan.tune_path)
    assert (tune_dir / "tuner.pkl").is_file()
    assert sorted(p.name for p in Path(plan.results_dir).iterdir()) == ["tune"]  # no sweep.json yet


def test_wandb_gets_the_driver_s_mode_and_folder_explicitly(planned, monkeypatch, tmp_path):
    # Tune's logging actor may run on another node, whose environment is not the driver's.
    from ray.air.integrations.wandb import WandbLoggerCallback

    plan, space = planned
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    spec = tune_spec(replace(plan, wandb_project="proj"), space)
    (callback,) = [c for c in spec.callbacks if isinstance(c, WandbLoggerCallback)]
    assert callback.project == "proj" and callback.group == plan.name
    assert callback.kwargs == {"mode": "offline", "dir": str(tmp_path / "wandb")}
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_DIR")
    (callback,) = [c for c in tune_spec(replace(plan, wandb_project="proj"), space).callbacks]
    assert callback.kwargs == {}


class _Result:
    """What ``_outcome`` reads of a ``ray.tune.Result``: its config (empty when it never reported), path, error."""

    def __init__(self, config: dict, error: Exception | None = None, path: str = "/nonexistent") -> None:
        self.config, self.error, self.path = config, error, path

    class filesystem:  # noqa: N801 -- Tune's attribute name; open_input_stream fails as on a missing params.json
        @staticmethod
        def open_input_stream(path: str) -> None:
            raise FileNotFoundError(path)


class _Grid(list):
    num_terminated = property(lambda self: sum(r.error is None for r in self))
    num_errors = property(lambda self: sum(r.error is not None for r in self))


def test_a_trial_lost_with_its_node_before_it_wrote_anything_still_counts_as_its_configuration(planned) -> None:
    # The soak benchmark's resumed sweep: c1's only trial errored on the killed node before its
    # folder reached the storage (no result, no params.json), and its grid position (2) is c1's
    # neighbour's config_id: counted as that one, the sweep looked unfinished and exited 130.
    from sweep.run.runner import _outcome

    plan, _ = planned
    grid = _Grid(
        [
            _Result({"arm": BASELINE_ARM}),
            _Result({"config_id": 0}),
            _Result({}, error=RuntimeError("The actor is unavailable")),
            _Result({"config_id": 2}),
        ]
    )
    outcome = _outcome(grid, replace(plan, trials=3))
    assert (outcome.configurations, outcome.search_trials, outcome.search_errors) == (3, 3, 1)
    assert outcome.finished
