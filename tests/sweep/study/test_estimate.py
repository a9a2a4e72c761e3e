"""sweep.study.estimate: the epoch timing, the wall time, and the MDE from an earlier study's paired sd."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from sweep.stats.power import minimum_detectable_difference
from sweep.study.estimate import (
    RUN_OVERHEAD_S,
    Estimate,
    estimate_study,
    previous_sd,
    time_epoch,
    time_final_test,
)
from sweep.study.file import load_study
from sweep.study.plan import plan_study
from tests.sweep.study.test_file import GOOD

SMALL = GOOD.replace("batch_size: 64}", "batch_size: 64, train_size: 200}")


def _plan(tmp_path: Path, text: str = SMALL, name: str = "dose"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.replace("name: dose", f"name: {name}"))
    return plan_study(load_study(str(path)), tmp_path / "exp")


def _finished(plan, sd_rows: list[str]) -> None:
    """What a finished study leaves for the estimate: compare.json and paired.csv."""
    plan.save()
    lines = ["arm,baseline,sd_diff", *(f"x,baseline,{sd}" for sd in sd_rows)]
    (Path(plan.compare_dir) / "paired.csv").write_text("\n".join(lines) + "\n")


def test_an_earlier_study_with_the_same_baseline_gives_the_largest_sd(tmp_path: Path) -> None:
    earlier = _plan(tmp_path, name="earlier")
    _finished(earlier, ["0.002", "0.004", "nan", ""])
    other = _plan(tmp_path, SMALL.replace("epochs: 2", "epochs: 5"), name="other")  # another baseline
    _finished(other, ["0.5"])
    junk = tmp_path / "exp" / "junk"
    junk.mkdir()
    (junk / "compare.json").write_text("{not json")  # someone else's file: ignored
    plan = _plan(tmp_path)
    assert previous_sd(plan, tmp_path / "exp") == (0.004, str(Path(earlier.compare_dir)))


def test_no_earlier_study_means_no_sd(tmp_path: Path) -> None:
    assert previous_sd(_plan(tmp_path), tmp_path / "exp") == (None, "")


def test_timing_an_epoch_is_positive_and_leaves_the_thread_count(tmp_path: Path) -> None:
    import torch

    before = torch.get_num_threads()
    plan = _plan(tmp_path)
    seconds_per_image = time_epoch(plan.arms[0].config, threads=1)
    assert 0 < seconds_per_image < 1
    assert 0 <= time_final_test(plan.arms[0].config, threads=1) < 60
    assert torch.get_num_threads() == before


def test_the_estimate_scales_runs_and_divides_by_concurrency(tmp_path: Path, monkeypatch) -> None:
    import sweep.study.estimate as estimate

    monkeypatch.setattr(estimate, "time_epoch", lambda config, threads: 0.01)  # 10 ms per image
    monkeypatch.setattr(estimate, "time_final_test", lambda config, threads: 4.0)  # test split + probe
    plan = _plan(tmp_path)
    one = estimate_study(plan, tmp_path / "exp", concurrent=1, threads=1)
    # 5 arms x 3 seeds; 200 images x 10 ms x epochs (2, or 3 for seed-0.1) + final test + overhead
    per_seed = 4 * (200 * 0.01 * 2 + 4.0 + RUN_OVERHEAD_S) + (200 * 0.01 * 3 + 4.0 + RUN_OVERHEAD_S)
    assert one.runs == 15 and one.wall_seconds == pytest.approx(3 * per_seed)
    assert estimate_study(plan, tmp_path / "exp", concurrent=3, threads=1).wall_seconds == pytest.approx(per_seed)
    assert one.sd is None and math.isnan(one.mde)


def test_the_estimate_lines_say_whether_the_effect_is_detectable() -> None:
    sd = 0.002
    base = Estimate(
        runs=16,
        concurrent=2,
        epoch_seconds={},
        wall_seconds=5400,
        sd=sd,
        sd_source="exp/a",
        mde=minimum_detectable_difference(sd, 8),
    )
    text = "\n".join(base.lines(effect=0.0025, seeds=8))
    assert "planned runs: 16 (2 arms x 8 seeds), 2 at a time" in text and "1.5 h" in text
    assert f"{100 * base.mde:.2f} pp with 8 seeds" in text and "exp/a" in text and "it can detect" in text
    weak = replace(base, mde=0.01)
    assert "it cannot detect the registered effect of 0.25 pp" in "\n".join(weak.lines(effect=0.0025, seeds=8))
    assert "unknown" in "\n".join(replace(base, sd=None).lines(effect=0.0025, seeds=8))
    json.dumps(asdict(base))  # plain data
