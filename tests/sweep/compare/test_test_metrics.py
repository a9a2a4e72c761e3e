"""Compare reads each run's test_ metrics; a run from before final_test falls back to its plain names, with a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep.compare.gather import VALIDATION_COLUMNS, read_runs_csv, validation_of_result
from sweep.compare.gather import metrics_of_result as read_test_metrics
from sweep.compare.plan import plan_compare
from sweep.compare.report import write_compare_report
from tests.sweep.compare.folders import VALIDATION_SHIFT, CompareRuns, sweep_folder
from tests.sweep.tune_folders import read_csv


def test_test_values_win_and_no_validation_pair_metric_is_mixed_in() -> None:
    last = {"ensemble_acc": 0.7, "test_ensemble_acc": 0.8, "cka": 0.3, "disc_acc": 0.6, "probe_acc": 0.55, "epoch": 3}
    metrics, split = read_test_metrics(last)
    assert split == "test"
    assert metrics == {"ensemble_acc": 0.8, "disc_acc": 0.6, "probe_acc": 0.55, "epoch": 3}  # no validation cka
    legacy, split = read_test_metrics({"ensemble_acc": 0.7, "epoch": 3})
    assert (legacy, split) == ({"ensemble_acc": 0.7, "epoch": 3}, "plain")
    assert read_test_metrics({}) == ({}, "")


def test_the_report_uses_test_values_and_notes_legacy_runs(tmp_path: Path) -> None:
    plan = plan_compare(sweep_folder(tmp_path).results, seeds=2, top=1)
    plan.save()
    runs = CompareRuns(plan)
    for seed in plan.seeds:
        for arm in plan.arms:
            runs.run(arm.name, seed, p_right=0.7, legacy=(arm.name == "deep-ensemble" and seed == plan.seeds[1]))
    runs.writer.save_state()
    report = write_compare_report(plan)
    folder = Path(plan.compare_dir)
    rows = {(r["arm"], int(r["seed"])): r for r in read_csv(folder / "runs.csv")}
    for (arm, seed), (_, ensemble) in runs.predictions.items():
        # The plain (validation) values are VALIDATION_SHIFT lower: the test ones were read.
        assert float(rows[(arm, seed)]["ensemble_acc"]) == pytest.approx(ensemble.mean())
    assert rows[("deep-ensemble", plan.seeds[1])]["split"] == "plain" and rows[("front-1", 1000)]["split"] == "test"
    assert VALIDATION_SHIFT > 0
    summary = (folder / "summary.md").read_text()
    assert summary.splitlines()[2].startswith(f"> **Note:** deep-ensemble seed {plan.seeds[1]} reported no `test_`")
    assert all(c["final_test"] is True for c in plan.run_configs())
    assert report.paired[0].metrics["probe_acc"].mean == pytest.approx(-0.05)


def test_validation_values_are_kept_apart_only_when_they_are_validation() -> None:
    last = {"ensemble_acc": 0.7, "acc_1": 0.6, "test_ensemble_acc": 0.8, "cka": 0.3, "eval_split": "validation"}
    assert validation_of_result(last) == {"ensemble_acc": 0.7, "acc_1": 0.6}  # cka is not a column
    assert validation_of_result({**last, "eval_split": "test"}) == {}  # no validation split: plain names are test
    assert validation_of_result({"ensemble_acc": 0.7}) == {}


def test_runs_csv_has_each_runs_validation_accuracies_beside_its_test_ones(tmp_path: Path) -> None:
    plan = plan_compare(sweep_folder(tmp_path).results, seeds=2, top=1)
    plan.save()
    runs = CompareRuns(plan)
    for seed in plan.seeds:
        for arm in plan.arms:
            runs.run(arm.name, seed, p_right=0.7, legacy=(arm.name == "deep-ensemble" and seed == plan.seeds[1]))
    runs.writer.save_state()
    write_compare_report(plan)
    folder = Path(plan.compare_dir)
    rows = {(r["arm"], int(r["seed"])): r for r in read_csv(folder / "runs.csv")}
    for (arm, seed), (_, ensemble) in runs.predictions.items():
        row = rows[(arm, seed)]
        if (arm, seed) == ("deep-ensemble", plan.seeds[1]):  # legacy: it evaluated no validation split
            assert all(row[f"val_{k}"] == "" for k in VALIDATION_COLUMNS)
            continue
        assert float(row["val_ensemble_acc"]) == pytest.approx(ensemble.mean() - VALIDATION_SHIFT)
        assert float(row["ensemble_acc"]) == pytest.approx(ensemble.mean())
        assert float(row["val_member_acc"]) == pytest.approx(float(row["member_acc"]) - VALIDATION_SHIFT)
    # A saved runs.csv gives them back (a copied study folder, --report-only).
    again = {(r.arm, r.seed): r for r in read_runs_csv(folder / "runs.csv")}
    some = ("front-1", plan.seeds[0])
    assert again[some].validation["ensemble_acc"] == pytest.approx(float(rows[some]["val_ensemble_acc"]))
