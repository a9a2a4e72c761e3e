"""build_report: the folder read into a Report, nothing written."""

from __future__ import annotations

from pathlib import Path

from sweep.report.build import build_report
from tests.sweep.tune_folders import SPACE, TuneFolder, build_full


def _listing(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_build_report_writes_nothing(tmp_path: Path) -> None:
    f = build_full(tmp_path)
    before = _listing(tmp_path)
    report = build_report(f.results)
    assert _listing(tmp_path) == before and report.files == {}
    assert [t.trial_id for t in report.pareto] == ["a0000002", "a0000001", "a0000003"]
    assert report.baseline_of == {f"a{n:07d}": "b0000001" for n in (1, 2, 3, 4)}


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
    assert [t.trial_id for t in report.pareto] == ["a0000001", "a0000002"]
    assert report.baseline_of == {"a0000001": "b0000001", "a0000002": "b0000001"}
