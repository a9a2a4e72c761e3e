"""sweep.study.plots: the dose-response lines (one per objective, by w_adv) and the figure file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sweep.compare.analysis import ArmSummary
from sweep.compare.plan import Arm, ComparePlan
from sweep.stats.paired import MeanStd
from sweep.study.plots import dose_response_points, plot_dose_response


def _arm(name: str, objective: str, w_adv: float, acc: float, baseline: bool = False, seeds: int = 2) -> ArmSummary:
    config = {"objective": objective, "w_adv": w_adv}
    stats = {"ensemble_acc": MeanStd(acc, 0.01, seeds), "probe_acc": MeanStd(0.6, math.nan, seeds)}
    return ArmSummary(Arm(name, "", config, baseline), list(range(seeds)), stats, np.zeros(3), np.zeros(3))


ARMS = [
    _arm("dice-0.3", "dice", 0.3, 0.90),
    _arm("dice-0", "dice", 0.0, 0.88),
    _arm("seed-0.1", "seed", 0.1, 0.87),
    _arm("dice-0.1", "dice", 0.1, 0.89),
    _arm("never-ran", "seed", 1.0, 0.5, seeds=0),
    _arm("baseline", "independent", 0.0, 0.885, baseline=True),
]


def test_lines_per_objective_sorted_by_w_adv_without_baselines_or_empty_arms() -> None:
    assert dose_response_points(ARMS, "ensemble_acc") == {
        "dice": [(0.0, 0.88, 0.01), (0.1, 0.89, 0.01), (0.3, 0.90, 0.01)],
        "seed": [(0.1, 0.87, 0.01)],
    }


def test_the_figure_is_written(tmp_path: Path) -> None:
    plan = ComparePlan("", str(tmp_path), [1, 2], [a.arm for a in ARMS], ["ensemble_acc"], ["max"], study="s")
    plot_dose_response(tmp_path / "dose.png", plan, ARMS)
    assert (tmp_path / "dose.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
