"""Compare's figures, read back from the axes: the bars, points, error bars and labels they show.

Hand-built arm summaries (values chosen so each number is recognisable) and a hand-built
sweep for the front's grey points; the figure functions are the ones the ``plot_*``
writers save.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sweep.compare.analysis import ArmSummary
from sweep.compare.plan import Arm, ComparePlan
from sweep.compare.plots import front_figure, plot_front, plot_tpa, plot_within_pair, tpa_figure, within_pair_figure
from sweep.stats.paired import MeanStd
from tests.sweep.compare.folders import sweep_folder

OBJECTIVES, DIRECTIONS = ["ensemble_acc", "excess_agreement"], ["max", "min"]


def _summary(
    name: str,
    config: dict[str, Any],
    *,
    baseline: bool = False,
    seeds: tuple[int, ...] = (1000, 1001),
    acc: tuple[float, float] = (0.9, 0.01),
    excess: tuple[float, float] = (0.05, 0.002),
    tpa: tuple[list[float], list[float]] = ([], []),
    within_pair: dict[int, list[float]] | None = None,
) -> ArmSummary:
    stats = {"ensemble_acc": MeanStd(*acc, len(seeds)), "excess_agreement": MeanStd(*excess, len(seeds))}
    return ArmSummary(
        Arm(name, "", config, baseline),
        list(seeds),
        stats,
        np.array(tpa[0]),
        np.array(tpa[1]),
        {s: np.array(v) for s, v in (within_pair or {}).items()},
    )


def _plan(arms: list[ArmSummary], sweep_dir: str = "") -> ComparePlan:
    return ComparePlan(sweep_dir, "/nonexistent/compare", [1000, 1001], [a.arm for a in arms], OBJECTIVES, DIRECTIONS)


def _points(values: Any) -> list[tuple[float, ...]]:
    return [tuple(round(float(v), 6) for v in p) for p in np.asarray(values)]


# ---------------------------------------------------------------- front.png
FRONT_ARMS = [
    _summary("baseline", {"objective": "independent"}, baseline=True, acc=(0.8, 0.02), excess=(0.04, 0.01)),
    _summary("front-1", {"objective": "dice", "w_adv": 0.1}, acc=(0.91, 0.005), excess=(0.03, float("nan"))),
    _summary("front-2", {"objective": "dice", "w_adv": 0.2}, seeds=(), acc=(0.5, 0.1)),  # no run completed
]


def _errorbars(ax: Any) -> dict[str, dict[str, Any]]:
    """Per error-bar label: its centre, the x and y extent of its bars, its marker and colour."""
    out = {}
    for container in ax.containers:
        line, _, (xbars, ybars) = container.lines[0], container.lines[1], container.lines[2]
        ((x, y),) = _points(line.get_xydata())
        (xseg,), (yseg,) = xbars.get_segments(), ybars.get_segments()
        out[container.get_label()] = {
            "centre": (x, y),
            "x": tuple(round(float(v), 6) for v in xseg[:, 0]),
            "y": tuple(round(float(v), 6) for v in yseg[:, 1]),
            "marker": line.get_marker(),
            "color": line.get_color(),
        }
    return out


def test_front_shows_the_sweep_trials_and_each_arm_s_mean_and_spread(tmp_path: Path) -> None:
    sweep = sweep_folder(tmp_path)  # complete search trials a1 (0.9, 0.1), a2 (0.85, 0.02), a3 (0.8, 0.2)
    fig = front_figure(_plan(FRONT_ARMS, str(sweep.results)), FRONT_ARMS)
    (ax,) = fig.axes
    (grey,) = ax.collections[:1]
    assert grey.get_label() == "sweep trials (sweep seed)"
    # The search trials only: the sweep's baseline (0.8, 0.05) is not one of them.
    assert _points(grey.get_offsets()) == [(0.9, 0.1), (0.85, 0.02), (0.8, 0.2)]
    bars = _errorbars(ax)
    assert list(bars) == ["baseline (mean ± std, 2 seeds)", "front-1 (mean ± std, 2 seeds)"]  # front-2 never ran
    base, arm = bars["baseline (mean ± std, 2 seeds)"], bars["front-1 (mean ± std, 2 seeds)"]
    assert base["centre"] == (0.8, 0.04) and base["x"] == (0.78, 0.82) and base["y"] == (0.03, 0.05)
    assert base["marker"] == "*" and base["color"] == "black"
    # One seed's worth of spread unknown (NaN std): no bar, rather than none drawn at all.
    assert arm["centre"] == (0.91, 0.03) and arm["x"] == (0.905, 0.915) and arm["y"] == (0.03, 0.03)
    assert arm["marker"] == "o"
    assert ax.get_xlabel() == "ensemble_acc (higher is better)"
    assert ax.get_ylabel() == "excess_agreement (lower is better)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "sweep trials (sweep seed)",
        "baseline (mean ± std, 2 seeds)",
        "front-1 (mean ± std, 2 seeds)",
    ]


def test_front_without_its_sweep_folder_still_shows_the_arms(tmp_path: Path) -> None:
    fig = front_figure(_plan(FRONT_ARMS, str(tmp_path / "moved")), FRONT_ARMS)
    (ax,) = fig.axes
    assert len(ax.collections[0].get_offsets()) == 0
    assert len(_errorbars(ax)) == 2


def test_front_with_one_objective_plots_the_diversity_metric_on_y(tmp_path: Path) -> None:
    plan = ComparePlan("", "/x", [1], [a.arm for a in FRONT_ARMS], ["ensemble_acc"], ["max"])
    (ax,) = front_figure(plan, FRONT_ARMS).axes
    assert ax.get_ylabel() == "excess_agreement (higher is better)"  # no direction of its own: the default
    assert _errorbars(ax)["front-1 (mean ± std, 2 seeds)"]["centre"] == (0.91, 0.03)


# ------------------------------------------------------- tpa_within_pair.png
SHARED_BASE = _summary(
    "baseline-shared",
    {"objective": "independent", "pairing": "shared"},
    baseline=True,
    within_pair={1000: [0.1, 0.2, 0.7], 1001: [0.2, 0.2, 0.6]},
)
SPLIT_BASE = _summary(
    "baseline-split",
    {"objective": "independent", "pairing": "split"},
    baseline=True,
    within_pair={1000: [0.05, 0.15, 0.8], 1001: [0.05, 0.25, 0.7]},
)
DICE = _summary("front-1", {"objective": "dice"}, within_pair={1000: [0.02, 0.3, 0.68], 1001: [0.04, 0.3, 0.66]})
SEED = _summary("front-2", {"objective": "seed"}, within_pair={1000: [0.01, 0.4, 0.59]}, seeds=(1000,))
NO_PAIRS = _summary("front-3", {"objective": "dice"})


def _bars(ax: Any) -> dict[str, list[tuple[float, float]]]:
    """Per bar series label: (bar centre, height) of each bar."""
    return {
        c.get_label(): [(round(p.get_x() + p.get_width() / 2, 6), round(p.get_height(), 6)) for p in c.patches]
        for c in ax.containers
    }


def test_within_pair_one_panel_per_compared_arm_beside_the_baseline_that_pairs_as_it_does() -> None:
    arms = [SHARED_BASE, SPLIT_BASE, DICE, SEED, NO_PAIRS]
    fig = within_pair_figure(_plan(arms), arms)
    assert [ax.get_title() for ax in fig.axes] == ["front-1 vs its baseline", "front-2 vs its baseline"]
    dice, seed = fig.axes
    assert _bars(dice) == {
        "front-1 (2 seeds)": [(-0.2, 0.03), (0.8, 0.3), (1.8, 0.67)],  # the mean over seeds
        "baseline-shared (2 seeds)": [(0.2, 0.15), (1.2, 0.2), (2.2, 0.65)],  # dice shares the batch
    }
    assert _bars(seed) == {
        "front-2 (1 seeds)": [(-0.2, 0.01), (0.8, 0.4), (1.8, 0.59)],
        "baseline-split (2 seeds)": [(0.2, 0.05), (1.2, 0.2), (2.2, 0.75)],  # seed splits it
    }
    # One dot per seed and member count, at its bar.
    dots = sorted(_points(line.get_xydata())[k] for line in dice.lines for k in range(3))
    assert dots == sorted(
        [(-0.2, 0.02), (0.8, 0.3), (1.8, 0.68), (-0.2, 0.04), (0.8, 0.3), (1.8, 0.66)]
        + [(0.2, 0.1), (1.2, 0.2), (2.2, 0.7), (0.2, 0.2), (1.2, 0.2), (2.2, 0.6)]
    )
    assert [t.get_text() for t in dice.get_xticklabels()] == ["both wrong", "one right", "both right"]
    assert dice.get_yscale() == "log" and dice.get_ylabel() == "fraction of test images"


# ------------------------------------------------------------- TP agreement
def test_tpa_one_panel_per_arm_with_observed_bars_and_the_independent_line() -> None:
    base = _summary("baseline", {}, baseline=True, tpa=([0.1, 0.2, 0.7], [0.05, 0.3, 0.65]))
    arm = _summary("front-1", {}, tpa=([0.05, 0.1, 0.15, 0.2, 0.5], [0.01, 0.09, 0.2, 0.3, 0.4]))
    empty = _summary("front-2", {})
    fig = tpa_figure([base, arm, empty])
    assert [ax.get_title() for ax in fig.axes] == ["baseline (2 models)", "front-1 (4 models)"]
    b, a = fig.axes
    assert _bars(b) == {"observed": [(0.0, 0.1), (0.5, 0.2), (1.0, 0.7)]}
    assert _bars(a) == {"observed": [(0.0, 0.05), (0.25, 0.1), (0.5, 0.15), (0.75, 0.2), (1.0, 0.5)]}
    (line,) = a.lines
    assert line.get_label() == "if independent"
    assert _points(line.get_xydata()) == [(0.0, 0.01), (0.25, 0.09), (0.5, 0.2), (0.75, 0.3), (1.0, 0.4)]
    # The baseline's bars grey, an arm's blue: which is which is visible.
    assert b.containers[0].patches[0].get_facecolor()[:3] == pytest.approx((0.498, 0.498, 0.498), abs=0.01)
    assert a.containers[0].patches[0].get_facecolor()[:3] == pytest.approx((0.122, 0.467, 0.706), abs=0.01)


def test_the_writers_save_the_figures_as_pngs(tmp_path: Path) -> None:
    arms = [SHARED_BASE, SPLIT_BASE, DICE, SEED]
    plan = _plan(arms)
    plot_front(tmp_path / "front.png", plan, arms)
    plot_within_pair(tmp_path / "pair.png", plan, arms)
    plot_tpa(tmp_path / "tpa.png", [_summary("b", {}, baseline=True, tpa=([0.5, 0.5], [0.4, 0.6]))])
    for name in ("front.png", "pair.png", "tpa.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not math.isnan(float(np.frombuffer((tmp_path / "front.png").read_bytes(), dtype=np.uint8).mean()))
