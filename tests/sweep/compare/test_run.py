"""The compare experiment's Tune settings (building the Tuner itself needs Ray: the end-to-end test)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sweep.compare.plan import Arm, ComparePlan
from sweep.compare.run import tune_spec
from sweep.errors import UserError


def _plan() -> ComparePlan:
    arms = [Arm("front-1", "t", {"epochs": 1}, False), Arm("baseline", "", {"epochs": 1}, True)]
    return ComparePlan(
        "/s",
        "/s/compare",
        [1000, 1001, 1002],
        arms,
        ["ensemble_acc"],
        ["max"],
        cpus_per_trial=2.0,
        gpus_per_trial=0.5,
        max_concurrent=3,
        max_failures=4,
    )


def test_tune_spec_takes_everything_from_the_plan() -> None:
    spec = tune_spec(_plan())
    assert (spec.name, spec.storage_path, spec.num_samples) == ("tune", "/s/compare", 6)
    assert (spec.cpus_per_trial, spec.gpus_per_trial, spec.max_concurrent, spec.max_failures) == (2.0, 0.5, 3, 4)
    assert spec.keep_checkpoints == 1 and list(spec.parameter_columns) == ["arm", "seed"]
    assert "ensemble_acc" in spec.metric_columns


def test_a_plan_without_resources_cannot_run() -> None:
    with pytest.raises(UserError, match="the compare plan has no per-run resources"):
        tune_spec(replace(_plan(), gpus_per_trial=None))
