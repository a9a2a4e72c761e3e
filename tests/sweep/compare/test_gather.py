"""Compare's runs gathered from a hand-built Tune folder: runs.csv, correctness.npz, every status."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from sweep.compare.gather import (
    CORRECTNESS_NPZ,
    RUNS_CSV,
    VALIDATION_COLUMNS,
    collect_runs,
    gather_runs,
    read_correctness,
    to_run,
)
from sweep.compare.plan import ComparePlan, plan_compare
from sweep.errors import UserError
from sweep.report.tune_folder import TuneTrial
from tests.sweep.compare.folders import CompareRuns, sweep_folder
from tests.sweep.tune_folders import DIVERGED_ERROR_TXT, read_csv
from trainable.metric_names import METRICS


@pytest.fixture()
def plan(tmp_path: Path) -> ComparePlan:
    plan = plan_compare(sweep_folder(tmp_path).results, seeds=2, top=1)
    plan.save()
    return plan


def test_every_run_with_its_status_in_runs_csv(plan: ComparePlan) -> None:
    runs = CompareRuns(plan)
    runs.run("front-1", 1000)
    runs.run("baseline", 1000)
    runs.run("front-1", 1001, status="ERROR", epochs=1, error=DIVERGED_ERROR_TXT)
    runs.run("baseline", 1001, status="RUNNING", epochs=1)
    runs.writer.save_state()
    gathered = gather_runs(plan)
    rows = read_csv(Path(plan.compare_dir) / RUNS_CSV)
    validation = [f"val_{k}" for k in VALIDATION_COLUMNS]
    assert list(rows[0]) == [
        "arm",
        "seed",
        "trial_id",
        "status",
        "reason",
        "split",
        *METRICS,
        "checkpoint",
        *validation,
    ]
    assert [(r["arm"], r["seed"], r["status"]) for r in rows] == [
        ("front-1", "1000", "complete"),
        ("front-1", "1001", "error"),
        ("baseline", "1000", "complete"),
        ("baseline", "1001", "interrupted"),
    ]
    assert [(r.arm, r.seed, r.status) for r in gathered] == [(r["arm"], int(r["seed"]), r["status"]) for r in rows]
    by_key = {(r["arm"], r["seed"]): r for r in rows}
    assert by_key[("front-1", "1001")]["reason"].startswith("DivergedError: diverged at epoch 2, step 7")
    assert by_key[("baseline", "1001")]["reason"] == (
        "RUNNING when the compare run stopped, after 1 of 3 epochs; --resume continues it"
    )
    done = by_key[("front-1", "1000")]
    assert done["epoch"] == "3" and done["checkpoint"].endswith("checkpoint_000002") and done["reason"] == ""
    assert float(done["ensemble_acc"]) == pytest.approx(runs.predictions[("front-1", 1000)][1].mean())
    assert done["q_statistic"] == ""  # never reported


def test_correctness_holds_every_complete_run(plan: ComparePlan) -> None:
    runs = CompareRuns(plan)
    runs.all_complete()
    runs.writer.save_state()
    gather_runs(plan)
    saved = read_correctness(plan)
    assert sorted(saved.index) == sorted(runs.predictions)
    for key, (member, ensemble) in runs.predictions.items():
        assert np.array_equal(saved.member[saved.index[key]], member)
        assert np.array_equal(saved.ensemble[saved.index[key]], ensemble)
    with np.load(Path(plan.compare_dir) / CORRECTNESS_NPZ) as data:
        assert np.array_equal(data["labels"], runs.labels)


def test_a_complete_run_needs_a_readable_checkpoint(plan: ComparePlan) -> None:
    runs = CompareRuns(plan)
    runs.run("front-1", 1000, checkpoint=False)
    broken = runs.run("baseline", 1000)
    runs.writer.save_state()
    (Path(plan.tune_path) / f"trial_{broken}" / "checkpoint_000002" / "state.pt").unlink()
    gathered = {r.arm: r for r in gather_runs(plan)}
    assert gathered["front-1"].status == "error" and "no checkpoint" in gathered["front-1"].reason
    assert gathered["baseline"].status == "error" and "its checkpoint cannot be read" in gathered["baseline"].reason
    assert read_correctness(plan).index == {}


def test_without_the_tune_folder_the_saved_files_are_read(plan: ComparePlan) -> None:
    runs = CompareRuns(plan)
    runs.all_complete()
    runs.writer.save_state()
    first = gather_runs(plan)
    folder = Path(plan.compare_dir)
    saved = {n: (folder / n).read_bytes() for n in (RUNS_CSV, CORRECTNESS_NPZ)}
    shutil.rmtree(plan.tune_path)
    assert collect_runs(plan) == []
    assert gather_runs(plan) == first
    assert {n: (folder / n).read_bytes() for n in (RUNS_CSV, CORRECTNESS_NPZ)} == saved
    (folder / RUNS_CSV).unlink()
    with pytest.raises(UserError, match="no compare runs at .* and no saved runs.csv and correctness.npz"):
        gather_runs(plan)


def test_to_run_reads_arm_seed_and_metrics() -> None:
    trial = TuneTrial(
        "t",
        "trial_t",
        "TERMINATED",
        {"arm": "front-1", "seed": 7, "epochs": 1},
        ({"epoch": 1, "ensemble_acc": 0.5, "cka": "x"},),
        None,
        ("/c/checkpoint_000000",),
        None,
    )
    run = to_run(trial)
    assert (run.arm, run.seed, run.status, run.checkpoint) == ("front-1", 7, "complete", "/c/checkpoint_000000")
    assert run.metrics == {"ensemble_acc": 0.5, "epoch": 1}
