"""A Tune trial as the report sees it: a pure mapping."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from sweep.report.records import SEARCH_ARM, to_record, trial_params
from sweep.report.tune_folder import TuneTrial
from sweep.spaces import load_space
from tests.sweep.tune_folders import SPACE
from trainable.metric_names import METRICS


def _space(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(SPACE, sort_keys=False))
    return load_space(str(path))


def test_to_record_keeps_params_in_space_order_and_metrics_as_reported(tmp_path: Path) -> None:
    space = _space(tmp_path)
    config = {"disc_arch": "mlp", "epochs": 2, "w_adv": 0.2, "batch_size": 64}
    rows = (
        {"epoch": 1, "ensemble_acc": 0.7, "timestamp": 10.0},
        {"epoch": 2, "ensemble_acc": 0.8, "cka": True, "disc_acc": "n/a", "timestamp": 20.0},
    )
    trial = TuneTrial("t1", "trial_t1", "TERMINATED", config, rows, None, ("/x/checkpoint_000001",), 5.0)
    record = to_record(trial, space)
    assert (record.arm, record.status, record.epochs, record.max_epochs) == (SEARCH_ARM, "complete", 2, 2)
    assert list(record.params) == ["w_adv", "disc_arch"]  # space order; disc_depth was not sampled
    assert record.metrics["ensemble_acc"] == 0.8 and record.metrics["epoch"] == 2
    assert isinstance(record.metrics["epoch"], int)
    assert record.metrics["cka"] is None and record.metrics["disc_acc"] is None  # not numbers
    assert set(record.metrics) == set(METRICS)
    assert (record.checkpoint, record.started, record.ended) == ("/x/checkpoint_000001", 5.0, 20.0)
    assert math.isnan(record.value("cka")) and record.objective_values(["ensemble_acc", "cka"]) is None
    assert record.effective_pairing == "shared"  # dice (the default objective) shares each batch


def test_a_baseline_record_and_its_pairing(tmp_path: Path) -> None:
    space = _space(tmp_path)
    config = {"arm": "baseline", "objective": "independent", "pairing": "split", "w_adv": 0.0}
    record = to_record(TuneTrial("b", "trial_b", "PENDING", config, (), None, (), None), space)
    assert record.is_baseline and record.effective_pairing == "split" and record.max_epochs == 5  # TrialConfig's
    assert trial_params(space, config) == {"w_adv": 0.0}
