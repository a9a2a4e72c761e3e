"""trials.csv, configs.csv and pareto.csv of the fully populated folders (one seed per trial, and K = 3)."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from sweep.report import CONFIGS_CSV, PARETO_CSV, TRIALS_CSV
from tests.sweep.report.replicated import BASELINE_FINAL, FINAL, trial_id
from tests.sweep.tune_folders import TuneFolder, read_csv
from trainable.metric_names import METRICS


def test_trials_csv_statuses_params_metrics_checkpoints(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    rows = read_csv(folder.results / TRIALS_CSV)
    by_id = {r["trial_id"]: r for r in rows}
    # Tune's order, then the folder Tune never recorded.
    assert [r["trial_id"] for r in rows] == ["b0000001"] + [f"a{n:07d}" for n in range(1, 11)]
    assert list(rows[0])[:14] == [
        "trial_id",
        "arm",
        "config_id",
        "replicate",
        "seed",
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
    assert list(rows[0])[14:-1] == list(METRICS) and list(rows[0])[-1] == "checkpoint"
    # An older netsep's trials have no configuration labels; they ran TrialConfig's seed 0.
    assert {(r["config_id"], r["replicate"], r["seed"]) for r in rows} == {("", "", "0")}
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
    # a9 completed; why its configuration cannot be ranked is the configuration's (mean over seeds) to say.
    (a9,) = [c for c in report.configs if c.config_id == "a0000009"]
    assert "excess_agreement is not a finite number on every seed" in a9.reason
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
    assert [r["config_id"] for r in rows] == ["a0000002", "a0000001", "a0000003"]
    assert [c.config_id for c in report.pareto] == ["a0000002", "a0000001", "a0000003"]
    row = {r["config_id"]: r for r in rows}
    assert all(r["baseline"] == "baseline" for r in rows)
    assert all((r["status"], r["replicates"], r["seeds"], r["feasible"]) == ("complete", "1", "0", "yes") for r in rows)
    assert float(row["a0000001"]["ensemble_acc_mean"]) == 0.90
    assert float(row["a0000001"]["excess_agreement_mean"]) == 0.05
    assert float(row["a0000001"]["delta_ensemble_acc"]) == pytest.approx(0.90 - 0.89)
    assert float(row["a0000001"]["delta_excess_agreement"]) == pytest.approx(0.05 - 0.06)
    # One seed: no sd, no interval, no p-value.
    for m in ("ensemble_acc", "excess_agreement"):
        for column in (f"{m}_sd", f"delta_{m}_low", f"delta_{m}_high", f"p_{m}", f"p_holm_{m}"):
            assert math.isnan(float(row["a0000001"][column])), column
    # a0000001 is better on both (higher accuracy, lower excess agreement), but with one seed per
    # configuration no difference can be told from seed noise: nothing beats the baseline.
    assert {k: r["beats_baseline"] for k, r in row.items()} == {"a0000002": "no", "a0000001": "no", "a0000003": "no"}
    assert row["a0000001"]["disc_depth"] == "" and row["a0000002"]["disc_depth"] == "2"
    # configs.csv: every configuration in the order Optuna proposed them; the front's rows are pareto.csv's.
    configs = read_csv(folder.results / CONFIGS_CSV)
    assert list(configs[0]) == list(rows[0])
    assert [r["config_id"] for r in configs] == [f"a{n:07d}" for n in range(1, 11)]
    by_id = {r["config_id"]: r for r in configs}
    assert all(by_id[k] == r for k, r in row.items())
    assert {k: r["status"] for k, r in by_id.items() if r["status"] != "complete"} == {
        "a0000005": "stopped_early",
        "a0000006": "error",
        "a0000007": "interrupted",
        "a0000008": "interrupted",
        "a0000010": "interrupted",
    }
    assert by_id["a0000004"]["beats_baseline"] == "" and by_id["a0000004"]["baseline"] == "baseline"  # not compared
    assert by_id["a0000006"]["replicates"] == "0" and by_id["a0000006"]["delta_ensemble_acc"] == ""
    assert math.isnan(float(by_id["a0000009"]["excess_agreement_mean"]))


def test_replicates_are_labelled_in_trials_csv(replicated: tuple[TuneFolder, Any]) -> None:
    folder, _ = replicated
    rows = read_csv(folder.results / TRIALS_CSV)
    labels = [(r["trial_id"], r["arm"], r["config_id"], r["replicate"], r["seed"]) for r in rows]
    assert labels == [
        *((f"b{s + 1:07d}", "baseline", "", str(s), str(s)) for s in range(3)),
        *((trial_id(n, r), "search", f"c{n}", str(r), str(r)) for n in range(5) for r in range(3)),
    ]
    by_id = {r["trial_id"]: r for r in rows}
    assert float(by_id["c0s1"]["ensemble_acc"]) == FINAL[0][1][0]  # each seed's own value, not the mean
    assert by_id["c3s1"]["status"] == "error" and by_id["c3s0"]["status"] == "complete"
    assert {by_id[trial_id(4, r)]["inert_adversary"] for r in range(3)} == {"yes"}


def test_pareto_csv_decides_the_claims_over_seeds(replicated: tuple[TuneFolder, Any]) -> None:
    folder, report = replicated
    rows = read_csv(folder.results / PARETO_CSV)
    assert [r["config_id"] for r in rows] == ["c1", "c0"]
    row = {r["config_id"]: r for r in rows}
    assert row["c1"]["optuna_number"] == "1"  # the second configuration Optuna proposed
    assert (row["c0"]["replicates"], row["c0"]["seeds"], row["c0"]["baseline"]) == ("3", "0 1 2", "baseline")
    accs, base = [a for a, _ in FINAL[0]], [a for a, _ in BASELINE_FINAL]
    assert float(row["c0"]["ensemble_acc_mean"]) == pytest.approx(statistics.fmean(accs))
    assert float(row["c0"]["ensemble_acc_sd"]) == pytest.approx(statistics.stdev(accs))
    diffs = [a - b for a, b in zip(accs, base)]
    assert float(row["c0"]["delta_ensemble_acc"]) == pytest.approx(statistics.fmean(diffs))
    assert (
        float(row["c0"]["delta_ensemble_acc_low"])
        < statistics.fmean(diffs)
        < float(row["c0"]["delta_ensemble_acc_high"])
    )
    # Holm over the 2 compared: the smaller p doubled, the larger kept (never below the smaller's).
    for m in ("ensemble_acc", "excess_agreement"):
        p = {k: float(r[f"p_{m}"]) for k, r in row.items()}
        holm = {k: float(r[f"p_holm_{m}"]) for k, r in row.items()}
        low, high = sorted(p, key=p.__getitem__)
        assert holm[low] == pytest.approx(2 * p[low]) and holm[high] == pytest.approx(max(holm[low], p[high]))
    # c0: better on both objectives on every seed, beyond noise after Holm. c1: far better accuracy,
    # but its excess agreement is within seed noise of the baseline's: no claim.
    assert float(row["c0"]["p_holm_ensemble_acc"]) < 0.05 and float(row["c0"]["p_holm_excess_agreement"]) < 0.05
    assert float(row["c1"]["p_holm_ensemble_acc"]) < 0.05 and float(row["c1"]["p_holm_excess_agreement"]) > 0.05
    assert {k: r["beats_baseline"] for k, r in row.items()} == {"c1": "no", "c0": "yes"}
    assert [c.beats_baseline for c in report.pareto] == [False, True]
    configs = {r["config_id"]: r for r in read_csv(folder.results / CONFIGS_CSV)}
    assert list(configs) == ["c0", "c1", "c2", "c3", "c4"]
    assert all(configs[k] == r for k, r in row.items())
    # Off the front: compared with the baseline but not claimed either way; failed and infeasible say why.
    assert configs["c2"]["beats_baseline"] == "" and configs["c2"]["p_holm_ensemble_acc"] == "nan"
    assert (configs["c3"]["status"], configs["c3"]["replicates"], configs["c3"]["beats_baseline"]) == ("error", "2", "")
    assert configs["c4"]["feasible"] == "no" and "an inert adversary" in configs["c4"]["broken_constraints"]
