"""sweep.study.plots: the dose-response lines (one per objective, by w_adv) and the figure file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.colors import to_rgb

from sweep.compare.analysis import ArmSummary
from sweep.compare.plan import Arm, ComparePlan
from sweep.stats.paired import MeanStd
from sweep.study.plots import dose_response_figure, dose_response_points, plot_dose_response


def _arm(
    name: str, objective: str, w_adv: float, acc: float, baseline: bool = False, seeds: int = 2, **settings
) -> ArmSummary:
    config = {"objective": objective, "w_adv": w_adv, **settings}
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


def test_an_arm_with_another_pairing_than_its_objective_s_is_its_own_line() -> None:
    arms = [
        _arm("seed-0.1", "seed", 0.1, 0.87),
        _arm("seed-split-0.3", "seed", 0.3, 0.86, pairing="split"),  # seed's own pairing, spelled out
        _arm("seed-shared-0.1", "seed", 0.1, 0.89, pairing="shared"),
    ]
    assert dose_response_points(arms, "ensemble_acc") == {
        "seed": [(0.1, 0.87, 0.01), (0.3, 0.86, 0.01)],
        "seed (shared)": [(0.1, 0.89, 0.01)],
    }


def _plan(tmp_path: Path, arms: list[ArmSummary]) -> ComparePlan:
    return ComparePlan("", str(tmp_path), [1, 2], [a.arm for a in arms], ["ensemble_acc"], ["max"], study="s")


def _errorbars(ax) -> dict[str, dict[str, list]]:
    """Per objective line: its points and each point's vertical bar (low, high)."""
    out = {}
    for container in ax.containers:
        line, _, (ybars,) = container.lines
        out[container.get_label()] = {
            "xy": [tuple(round(float(v), 6) for v in p) for p in line.get_xydata()],
            "bars": [tuple(round(float(v), 6) for v in np.asarray(seg)[:, 1]) for seg in ybars.get_segments()],
        }
    return out


def test_each_objective_is_a_line_over_w_adv_with_its_spread(tmp_path: Path) -> None:
    fig = dose_response_figure(_plan(tmp_path, ARMS), ARMS)
    acc, probe = fig.axes
    zero = 0.01  # w_adv = 0 is drawn a decade below the smallest positive w_adv (0.1)
    assert _errorbars(acc) == {
        "dice": {"xy": [(zero, 0.88), (0.1, 0.89), (0.3, 0.9)], "bars": [(0.87, 0.89), (0.88, 0.9), (0.89, 0.91)]},
        "seed": {"xy": [(0.1, 0.87)], "bars": [(0.86, 0.88)]},
    }
    # probe_acc has no spread (one seed's NaN std): a bar of zero length, the point still drawn.
    assert _errorbars(probe)["dice"]["bars"] == [(0.6, 0.6)] * 3
    for ax in (acc, probe):
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "w_adv"
        ticks = dict(zip((round(float(t), 6) for t in ax.get_xticks()), (t.get_text() for t in ax.get_xticklabels())))
        assert ticks == {zero: "0", 0.1: "0.1", 0.3: "0.3"}  # the zero arm labelled 0, not 0.01
    assert acc.get_ylabel() == "ensemble accuracy (test)" and probe.get_ylabel() == "redundancy probe (0.5 = none)"
    assert fig._suptitle.get_text() == "Study s: mean ± std over 2 seeds"


def test_each_baseline_is_a_band_of_its_mean_plus_minus_std(tmp_path: Path) -> None:
    second = _arm("baseline-split", "independent", 0.0, 0.86, baseline=True)
    arms = [*ARMS, second]
    acc, _ = dose_response_figure(_plan(tmp_path, arms), arms).axes
    bands = {p.get_label(): p for p in acc.patches}
    assert list(bands) == ["baseline (± std)", "baseline-split (± std)"]
    for label, (low, high) in {"baseline (± std)": (0.875, 0.895), "baseline-split (± std)": (0.85, 0.87)}.items():
        band = bands[label]  # a Rectangle or a Polygon, by matplotlib's version: read its outline
        ys = band.get_path().transformed(band.get_patch_transform()).vertices[:, 1]
        assert (round(float(ys.min()), 6), round(float(ys.max()), 6)) == (low, high), label
    # The dashed mean line of each, in its band's colour, none in an objective's colour.
    means = [line for line in acc.lines if line.get_linestyle() == "--"]
    assert [round(float(line.get_ydata()[0]), 6) for line in means] == [0.885, 0.86]
    for band, mean in zip(bands.values(), means):
        assert to_rgb(band.get_facecolor()) == to_rgb(mean.get_color())
    objective_colors = {to_rgb(c.lines[0].get_color()) for c in acc.containers}
    assert not objective_colors & {to_rgb(m.get_color()) for m in means}
    legend = [t.get_text() for t in acc.get_legend().get_texts()]
    assert sorted(legend) == ["baseline (± std)", "baseline-split (± std)", "dice", "seed"]


def test_the_figure_is_written(tmp_path: Path) -> None:
    plot_dose_response(tmp_path / "dose.png", _plan(tmp_path, ARMS), ARMS)
    assert (tmp_path / "dose.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
