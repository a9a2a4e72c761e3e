"""trials.csv and pareto.csv of the fully populated folder."""

from __future__ import annotations

from typing import Any

import pytest

from sweep.report import PARETO_CSV, TRIALS_CSV
from tests.sweep.tune_folders import TuneFolder, read_csv
from trainable.metric_names import METRICS


def test_trials_csv_statuses_params_metrics_checkpoints(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    rows = read_csv(folder.results / TRIALS_CSV)
    by_id = {r["trial_id"]: r for r in rows}
    # Tune's order, then the folder Tune never recorded.
    assert [r["trial_id"] for r in rows] == ["b0000001"] + [f"a{n:07d}" for n in range(1, 11)]
    assert list(rows[0])[:11] == [
        "trial_id",
        "arm",
        "status",
        "reason",
        "inert_adversary",
        "eval_split",
        "epochs",
        "max_epochs",
        "w_adv",
        "disc_arch",
        "disc_depth",
    ]
    assert list(rows[0])[11:-1] == list(METRICS) and list(rows[0])[-1] == "checkpoint"
    assert {k: (r["arm"], r["status"], r["epochs"]) for k, r in by_id.items()} == {
        "b0000001": ("baseline", "complete", "3"),
        "a0000001": ("search", "complete", "3"),
        "a0000002": ("search", "complete", "3"),
        "a0000003": ("search", "complete", "3"),
        "a0000004": ("search", "complete", "3"),
        "a0000005": ("search", "stopped_early", "1"),
        "a0000006": ("search", "error", "1"),
        "a0000007": ("search", "interrupted", "2"),
        "a0000008": ("search", "interrupted", "0"),
        "a0000009": ("search", "complete", "3"),
        "a0000010": ("search", "interrupted", "1"),
    }
    assert (
        by_id["a0000006"]["reason"]
        == "DivergedError: diverged at epoch 2, step 7: the discriminator loss is not finite"
    )
    assert "RUNNING when the sweep stopped, after 2 of 3 epochs" in by_id["a0000007"]["reason"]
    assert "PENDING" in by_id["a0000008"]["reason"]
    assert "not yet recorded by Tune" in by_id["a0000010"]["reason"]
    assert "excess_agreement is not a finite number" in by_id["a0000009"]["reason"]
    assert by_id["a0000001"]["reason"] == ""
    # Conditional param blank where it was not sampled; the baseline shows the w_adv it ran with.
    assert (by_id["a0000001"]["disc_arch"], by_id["a0000001"]["disc_depth"]) == ("mlp", "")
    assert (by_id["a0000002"]["disc_arch"], by_id["a0000002"]["disc_depth"]) == ("siamese_pool", "2")
    assert (by_id["b0000001"]["w_adv"], by_id["b0000001"]["disc_arch"]) == ("0.0", "")
    # Final metrics are the last epoch's, exact.
    assert float(by_id["a0000001"]["ensemble_acc"]) == 0.90
    assert float(by_id["a0000001"]["excess_agreement"]) == 0.05
    assert by_id["a0000001"]["epoch"] == "3"
    assert by_id["b0000001"]["disc_acc"] == "nan"
    assert float(by_id["a0000007"]["ensemble_acc"]) == 0.98  # the torn line is skipped
    assert by_id["a0000008"]["ensemble_acc"] == ""  # never reported
    # The newest checkpoint folder; none for a trial that never started.
    assert by_id["a0000001"]["checkpoint"] == str(folder.tune / "trial_a0000001" / "checkpoint_000002")
    assert by_id["a0000008"]["checkpoint"] == ""
    assert report.counts == {"complete": 5, "stopped_early": 1, "error": 1, "interrupted": 3}


def test_pareto_csv_front_and_baseline_deltas(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    rows = read_csv(folder.results / PARETO_CSV)
    # Best first on the first objective; stopped-early, error, interrupted, NaN and baseline are off it.
    assert [r["trial_id"] for r in rows] == ["a0000002", "a0000001", "a0000003"]
    assert [t.trial_id for t in report.pareto] == ["a0000002", "a0000001", "a0000003"]
    row = {r["trial_id"]: r for r in rows}
    assert all(r["baseline_trial_id"] == "b0000001" for r in rows)
    assert float(row["a0000001"]["delta_ensemble_acc"]) == pytest.approx(0.90 - 0.89)
    assert float(row["a0000001"]["delta_excess_agreement"]) == pytest.approx(0.05 - 0.06)
    # Strictly better on both (higher accuracy, lower excess agreement) only for a0000001.
    assert {k: r["beats_baseline"] for k, r in row.items()} == {"a0000002": "no", "a0000001": "yes", "a0000003": "no"}
    assert row["a0000001"]["disc_depth"] == "" and row["a0000002"]["disc_depth"] == "2"
    assert row["a0000002"]["optuna_number"] == "1"  # the second search trial Optuna proposed
