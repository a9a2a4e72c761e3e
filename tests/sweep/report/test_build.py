"""build_report: the folder read into a Report, nothing written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sweep.report.build import build_report
from tests.sweep.report.replicated import build_replicated, trial_id
from tests.sweep.tune_folders import SPACE, TuneFolder, build_full


def _listing(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_build_report_writes_nothing(tmp_path: Path) -> None:
    f = build_full(tmp_path)
    before = _listing(tmp_path)
    report = build_report(f.results)
    assert _listing(tmp_path) == before and report.files == {}
    # An older netsep's folder (no config_id): each trial is a configuration of one seed, named by its trial.
    assert [c.config_id for c in report.configs] == [f"a{n:07d}" for n in range(1, 11)]
    assert all(len(c.replicates) == 1 and c.replicates[0].trial_id == c.config_id for c in report.configs)
    assert [c.config_id for c in report.pareto] == ["a0000002", "a0000001", "a0000003"]
    # Every complete configuration is paired with the one baseline (a9 too: its accuracy is finite).
    assert {c.config_id: c.baseline for c in report.configs if c.baseline} == {
        f"a{n:07d}": "baseline" for n in (1, 2, 3, 4, 9)
    }
    assert [g.trial_ids for g in report.baseline_groups] == [["b0000001"]]
    assert all(report.baseline_for(c) is report.baseline_groups[0] for c in report.pareto)
    a1 = next(c for c in report.pareto if c.config_id == "a0000001")
    assert a1.paired["ensemble_acc"].mean == pytest.approx(0.90 - 0.89) and a1.paired["ensemble_acc"].n == 1
    # One seed: no interval, and nothing is claimed, not even for a1 (better on both objectives).
    assert math.isnan(a1.paired["ensemble_acc"].low) and [c.beats_baseline for c in report.pareto] == [False] * 3
    assert all(math.isnan(v) for v in report.noise_floor().values())


def test_build_report_groups_replicates_into_configurations(tmp_path: Path) -> None:
    f = build_replicated(tmp_path)
    report = build_report(f.results)
    assert [c.config_id for c in report.configs] == ["c0", "c1", "c2", "c3", "c4"]
    assert [c.number for c in report.configs] == [0, 1, 2, 3, 4]
    assert [[t.trial_id for t in c.replicates] for c in report.configs] == [
        [trial_id(n, r) for r in range(3)] for n in range(5)
    ]
    assert {c.config_id: c.status for c in report.configs} == {
        "c0": "complete",
        "c1": "complete",
        "c2": "complete",
        "c3": "error",
        "c4": "complete",
    }
    assert report.counts == {"complete": 4, "stopped_early": 0, "error": 1, "interrupted": 0}
    c0 = report.configs[0]
    assert c0.seeds == [0, 1, 2] and c0.n == 3
    assert c0.value("ensemble_acc") == pytest.approx((0.900 + 0.922 + 0.909) / 3)
    # The front is over means; c2 is dominated by c0, c4 is an inert adversary, c3 failed on seed 1.
    assert [c.config_id for c in report.pareto] == ["c1", "c0"]
    assert [c.beats_baseline for c in report.pareto] == [False, True]
    assert report.configs[2].beats_baseline is None  # off the front: not compared
    assert report.configs[4].inert_adversary and not report.configs[4].feasible
    assert [g.trial_ids for g in report.baseline_groups] == [["b0000001", "b0000002", "b0000003"]]
    assert report.baseline_for(c0) is report.baseline_groups[0] and c0.paired["ensemble_acc"].n == 3
    assert report.noise_floor() == {"ensemble_acc": pytest.approx(0.01), "excess_agreement": pytest.approx(0.001)}


def test_a_search_trial_of_the_independent_objective_is_not_a_baseline(tmp_path: Path) -> None:
    # The objective itself may be searched (w_adv fixed at 0): a search trial can then train
    # an independent pair, with the baseline's own settings. The `arm` it was run as decides.
    space = {
        **SPACE,
        "fixed": {"classifier": "simple3", "epochs": 3, "batch_size": 64, "w_adv": 0.0},
        "params": {
            "objective": {"type": "categorical", "choices": ["independent", "dice"]},
            "disc_lr": {"type": "float", "low": 0.0001, "high": 0.01, "log": True},
        },
    }
    f = TuneFolder(tmp_path, space=space)
    f.sweep_trial("b0000001", "TERMINATED", {}, [(0.8, 0.1)] * 3, baseline={"objective": "independent", "w_adv": 0.0})
    f.sweep_trial("a0000001", "TERMINATED", {"objective": "independent", "disc_lr": 0.001}, [(0.85, 0.1)] * 3)
    f.sweep_trial("a0000002", "TERMINATED", {"objective": "dice", "disc_lr": 0.001}, [(0.82, 0.05)] * 3)
    f.save_state()
    report = build_report(f.results)
    assert [t.trial_id for t in report.search_trials] == ["a0000001", "a0000002"]
    assert [t.trial_id for t in report.baselines] == ["b0000001"]
    assert report.counts["complete"] == 2
    assert [c.config_id for c in report.configs] == ["a0000001", "a0000002"]
    assert [c.config_id for c in report.pareto] == ["a0000001", "a0000002"]
    assert {c.config_id: c.baseline for c in report.configs} == {"a0000001": "baseline", "a0000002": "baseline"}
    assert [g.trial_ids for g in report.baseline_groups] == [["b0000001"]]
    # The independent search trial has no discriminator, so it is no inert adversary either.
    assert all(c.feasible for c in report.configs)
