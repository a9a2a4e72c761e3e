"""GroupHalving: successive halving of whole configurations on the mean over their seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ray.tune.schedulers import TrialScheduler

from sweep.search.early_stop import GroupHalving, rungs

CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP


@dataclass
class FakeTrial:
    """What the scheduler reads of a Tune trial: its config."""

    config: dict[str, Any] = field(default_factory=dict)


def _trial(config_id: int | None, replicate: int = 0) -> FakeTrial:
    return FakeTrial({} if config_id is None else {"config_id": config_id, "replicate": replicate})


def test_rungs_double_from_the_grace_period_below_the_last_epoch():
    assert rungs(8) == [1, 2, 4]
    assert rungs(9) == [1, 2, 4, 8]
    assert rungs(1) == []
    assert rungs(10, grace=1, reduction=3) == [1, 3, 9]


def test_a_configuration_is_judged_on_the_mean_of_its_seeds_once_all_reached_the_rung():
    halving = GroupHalving("ensemble_acc", "max", max_t=4, replicates=2)
    # Configuration 0: 0.9 and 0.5 (mean 0.7); configuration 1: 0.8 and 0.8 (mean 0.8).
    assert halving.on_trial_result(None, _trial(0, 0), {"epoch": 1, "ensemble_acc": 0.9}) == CONTINUE
    assert halving.on_trial_result(None, _trial(0, 1), {"epoch": 1, "ensemble_acc": 0.5}) == CONTINUE
    assert halving.on_trial_result(None, _trial(1, 0), {"epoch": 1, "ensemble_acc": 0.8}) == CONTINUE
    # Its last seed decides configuration 1: at mean 0.8 it is the better half of two.
    assert halving.on_trial_result(None, _trial(1, 1), {"epoch": 1, "ensemble_acc": 0.8}) == CONTINUE
    # A third configuration whose one lucky seed (0.95) cannot carry its mean (0.6).
    assert halving.on_trial_result(None, _trial(2, 0), {"epoch": 1, "ensemble_acc": 0.95}) == CONTINUE
    assert halving.on_trial_result(None, _trial(2, 1), {"epoch": 1, "ensemble_acc": 0.25}) == STOP
    # Every replicate of a stopped configuration stops at its next result, wherever it is.
    assert halving.on_trial_result(None, _trial(2, 0), {"epoch": 2, "ensemble_acc": 0.99}) == STOP
    assert halving.stopped == {2}


def test_results_between_rungs_and_baselines_are_never_stopped():
    halving = GroupHalving("excess_agreement", "min", max_t=8, replicates=1)
    for value in (0.1, 0.2):
        halving.on_trial_result(None, _trial(len(halving.recorded[1])), {"epoch": 1, "excess_agreement": value})
    # Epoch 3 is no rung (rungs: 1, 2, 4): a terrible value there goes on.
    assert halving.on_trial_result(None, _trial(5), {"epoch": 3, "excess_agreement": 9.0}) == CONTINUE
    # A baseline (no config_id) is never judged, however bad.
    assert halving.on_trial_result(None, _trial(None), {"epoch": 1, "excess_agreement": 9.0}) == CONTINUE
    # Minimising: the higher of two at a rung is the worse half.
    assert halving.on_trial_result(None, _trial(7), {"epoch": 1, "excess_agreement": 0.5}) == STOP


def test_a_nan_mean_is_always_below_the_cutoff():
    halving = GroupHalving("ensemble_acc", "max", max_t=4, replicates=1)
    assert halving.on_trial_result(None, _trial(0), {"epoch": 1, "ensemble_acc": math.nan}) == STOP
    assert halving.on_trial_result(None, _trial(1), {"epoch": 1}) == STOP  # the metric missing


def test_the_scheduler_keeps_its_own_metric_and_mode():
    halving = GroupHalving("ensemble_acc", "max", max_t=4, replicates=1)
    assert halving.set_search_properties("other", "min") is True
    assert (halving.metric, halving.mode) == ("ensemble_acc", "max")
    assert "ensemble_acc" in halving.debug_string()
