"""Compare's plan from hand-built sweeps: arms, baselines, seeds, resources; nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sweep.compare.plan import (
    COMPARE_DIR,
    PLAN_FILE,
    ComparePlan,
    load_compare_plan,
    plan_compare,
    with_resources,
)
from sweep.errors import UserError
from sweep.requests import ClusterOptions
from sweep.resources import DEFAULT_GPU_FRACTION
from tests.sweep.compare.folders import sweep_folder
from tests.sweep.tune_folders import TuneFolder


def _listing(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_arms_are_the_front_and_the_sweeps_baseline(tmp_path: Path) -> None:
    f = sweep_folder(tmp_path)
    before = _listing(tmp_path)
    plan = plan_compare(f.results, seeds=2, top=2)
    assert _listing(tmp_path) == before  # plans, writes nothing (not even the sweep's report)
    assert [(a.name, a.source_trial, a.is_baseline) for a in plan.arms] == [
        ("front-1", "a0000001", False),
        ("front-2", "a0000002", False),
        ("baseline", "b0000001", True),
        ("deep-ensemble", "", True),
    ]
    assert plan.arms[0].config == {**f.fixed, "w_adv": 0.1, "disc_arch": "mlp"}  # no seed, no arm
    assert plan.arms[2].config == {**f.fixed, "objective": "independent", "w_adv": 0.0, "pairing": "shared"}
    # The deep ensemble: the matched baseline's settings, each member on its own data order and augmentation.
    assert plan.arms[3].config == {**plan.arms[2].config, "pairing": "separate"}
    assert plan.deep_ensemble() is plan.arms[3] and plan.baseline_for(plan.arms[0]) is plan.arms[2]
    assert all(c["final_test"] is True for c in plan.run_configs())  # every run scores the test split once
    assert plan.seeds == [1000, 1001] and plan.compare_dir == str((f.results / COMPARE_DIR).resolve())
    assert plan.objectives == ["ensemble_acc", "excess_agreement"] and plan.directions == ["max", "min"]
    assert plan_compare(f.results, seeds=2, top=1).arms[0].source_trial == "a0000001"


def test_a_baseline_arm_is_built_when_the_sweep_ran_none(tmp_path: Path) -> None:
    f = sweep_folder(tmp_path, baseline=False)
    plan = plan_compare(f.results, seeds=2, top=1)
    base = plan.arms[-2]
    assert (base.name, base.source_trial, base.is_baseline) == ("baseline", "", True)
    assert base.config == {**f.fixed, "objective": "independent", "w_adv": 0.0, "pairing": "shared"}
    assert plan.baseline_for(plan.arms[0]) is base


def test_mixed_pairings_get_one_baseline_each(tmp_path: Path) -> None:
    f = sweep_folder(tmp_path, mixed=True)
    plan = plan_compare(f.results, seeds=2, top=2)
    names = {a.name: a for a in plan.arms}
    assert list(names) == ["front-1", "front-2", "baseline-shared", "baseline-split", "deep-ensemble"]
    assert names["front-1"].config["objective"] == "seed" and names["front-2"].config["objective"] == "dice"
    assert plan.baseline_for(names["front-1"]).name == "baseline-split"  # seed splits each batch
    assert plan.baseline_for(names["front-2"]).name == "baseline-shared"
    assert names["baseline-split"].source_trial == "b0000002" and names["baseline-shared"].source_trial == "b0000001"
    assert names["baseline-split"].config["pairing"] == "split"


def test_mixed_pairings_without_sweep_baselines(tmp_path: Path) -> None:
    f = sweep_folder(tmp_path, mixed=True, baseline=False)
    plan = plan_compare(f.results, seeds=1, top=2)
    bases = [a for a in plan.arms if a.is_baseline]
    assert [(b.name, b.source_trial, b.config["pairing"]) for b in bases] == [
        ("baseline-shared", "", "shared"),
        ("baseline-split", "", "split"),
        ("deep-ensemble", "", "separate"),
    ]


def test_first_seed_and_run_order(tmp_path: Path) -> None:
    plan = plan_compare(sweep_folder(tmp_path).results, seeds=3, top=1, first_seed=7)
    assert plan.seeds == [7, 8, 9]
    assert [(c["seed"], c["arm"]) for c in plan.run_configs()] == [
        (7, "front-1"),
        (7, "baseline"),
        (7, "deep-ensemble"),
        (8, "front-1"),
        (8, "baseline"),
        (8, "deep-ensemble"),
        (9, "front-1"),
        (9, "baseline"),
        (9, "deep-ensemble"),
    ]


def test_an_empty_front_is_a_user_error(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path)
    f.sweep_trial("a0000001", "RUNNING", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.8, 0.1)])
    f.save_state()
    with pytest.raises(UserError, match="no complete trial on its Pareto front"):
        plan_compare(f.results, seeds=2, top=1)


def test_an_arm_config_that_breaks_a_rule_is_a_user_error(tmp_path: Path) -> None:
    f = sweep_folder(tmp_path, mixed=True, baseline=False)
    plan_compare(f.results, seeds=1, top=1)  # fine as it ran
    sweep = json.loads((f.results / "sweep.json").read_text())
    sweep["fixed"]["batch_size"] = 63  # the split baseline built from it cannot split an odd batch
    (f.results / "sweep.json").write_text(json.dumps(sweep))
    with pytest.raises(
        UserError, match="arm baseline, seed 1000: batch_size: must be even when the batch is split, got 63"
    ):
        plan_compare(f.results, seeds=1, top=1)


def test_save_load_round_trip_and_a_moved_folder(tmp_path: Path) -> None:
    f = sweep_folder(tmp_path / "a")
    plan = plan_compare(f.results, seeds=2, top=1)
    plan.save()
    assert load_compare_plan(plan.compare_dir) == plan
    moved = tmp_path / "b" / "moved"
    shutil.move(str(f.results), moved)
    again = load_compare_plan(moved / COMPARE_DIR)
    assert again.compare_dir == str((moved / COMPARE_DIR).resolve()) and again.sweep_dir == str(moved.resolve())
    assert again.arms == plan.arms and again.seeds == plan.seeds


def test_load_without_or_with_a_broken_plan_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no compare.json; run `launch.py compare SWEEP_DIR --seeds K` first"):
        load_compare_plan(tmp_path)
    (tmp_path / PLAN_FILE).write_text('{"arms": [{"name": 1}]}')
    with pytest.raises(UserError, match="compare.json: cannot be read as a compare plan"):
        load_compare_plan(tmp_path)


def _plan(device: str | None = None) -> ComparePlan:
    from sweep.compare.plan import Arm

    config = {"epochs": 1} if device is None else {"epochs": 1, "device": device}
    return ComparePlan("/s", "/s/compare", [1000], [Arm("front-1", "t", config, False)], ["ensemble_acc"], ["max"])


def test_resources_follow_the_sweeps_rules() -> None:
    cpu_only = with_resources(_plan(), ClusterOptions(), 4, 0, address=None)
    assert (cpu_only.cpus_per_trial, cpu_only.gpus_per_trial, cpu_only.max_concurrent) == (1.0, 0.0, 4)
    gpus = with_resources(_plan(), ClusterOptions(), 16, 1, address="auto")
    assert (gpus.cpus_per_trial, gpus.gpus_per_trial, gpus.address) == (1.0, DEFAULT_GPU_FRACTION, "auto")
    assert gpus.max_concurrent == int(1 / DEFAULT_GPU_FRACTION)  # the GPU is what runs out first
    asked = with_resources(
        _plan(), ClusterOptions(cpus_per_trial=2.0, gpus_per_trial=0.5, max_concurrent=3), 8, 2, address=None
    )
    assert (asked.cpus_per_trial, asked.gpus_per_trial, asked.max_concurrent) == (2.0, 0.5, 3)


def test_resources_a_cluster_cannot_give_are_user_errors() -> None:
    with pytest.raises(UserError, match="--gpus-per-trial: 0.5 asked for, but the Ray cluster has no GPU"):
        with_resources(_plan(), ClusterOptions(gpus_per_trial=0.5), 4, 0, address=None)
    with pytest.raises(UserError, match="--cpus-per-trial: 8 asked for, but the Ray cluster has 4 CPUs"):
        with_resources(_plan(), ClusterOptions(cpus_per_trial=8.0, gpus_per_trial=0.0), 4, 0, address=None)
    with pytest.raises(UserError, match="device=cpu with --gpus-per-trial > 0"):
        with_resources(_plan("cpu"), ClusterOptions(), 4, 1, address=None)
