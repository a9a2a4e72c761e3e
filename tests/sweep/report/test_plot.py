"""pareto.png for one, two and more objectives: what each panel shows, read from the figure.

The figure is ``pareto_figure``'s (the one ``write_plot`` saves): each series is read
back from the axes (scatter offsets, line data, annotations, legend entries), on folders
built by hand, so every point, label and mark is checked against the trials it stands for.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from sweep.report import PARETO_PNG, build_report, write_report
from sweep.report.plot import pareto_figure, write_plot
from tests.sweep.report.replicated import BASELINE_FINAL, FINAL
from tests.sweep.tune_folders import SPACE, TuneFolder, build_full

EARLY = "stopped early (partial training)"
BASELINE = "baseline (independent, mean over seeds)"


def scatters(ax: Any) -> dict[str, list[tuple[float, float]]]:
    """Each labelled scatter of ``ax``: its points, rounded (the values are the folder's)."""
    return {
        c.get_label(): [(round(float(x), 6), round(float(y), 6)) for x, y in c.get_offsets()]
        for c in ax.collections
        if not c.get_label().startswith("_")
    }


def annotations(ax: Any) -> dict[str, tuple[float, float]]:
    """Each annotation's text and the point it marks."""
    return {t.get_text(): (round(float(t.xy[0]), 6), round(float(t.xy[1]), 6)) for t in ax.texts if hasattr(t, "xy")}


def legend_texts(legend: Any) -> list[str]:
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


# ---------------------------------------------------------------- two objectives
@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """build_full's folder: front a2, a1, a3; a4 complete; a5 stopped early; a6 error; a7 running;
    a8 pending; a9 complete with a NaN objective; baseline b1."""
    folder = build_full(tmp_path_factory.mktemp("full"))
    report = build_report(folder.results)
    return report, pareto_figure(report)


def test_two_objectives_one_panel_with_each_kind_of_trial_in_its_own_series(two: Any) -> None:
    report, fig = two
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    drawn = scatters(ax)
    # a5's series; where its point lies: test_a_stopped_early_configuration_is_drawn_at_its_partial_values
    assert EARLY in drawn
    assert {k: v for k, v in drawn.items() if k != EARLY} == {
        "complete": [(0.87, 0.06)],  # a4 only: a9's NaN cannot be drawn, the front has its own series
        "Pareto front": [(0.92, 0.08), (0.9, 0.05), (0.88, 0.02)],  # a2, a1, a3
        BASELINE: [(0.89, 0.06)],
    }
    assert [c.config_id for c in report.pareto] == ["a0000002", "a0000001", "a0000003"]


def test_two_objectives_the_front_is_connected_left_to_right(two: Any) -> None:
    _, fig = two
    (line,) = fig.axes[0].lines
    assert [tuple(round(v, 6) for v in p) for p in line.get_xydata()] == [(0.88, 0.02), (0.9, 0.05), (0.92, 0.08)]


def test_two_objectives_front_ids_baseline_labels_axes_and_title(two: Any) -> None:
    _, fig = two
    ax = fig.axes[0]
    assert annotations(ax) == {
        "a0000002": (0.92, 0.08),
        "a0000001": (0.9, 0.05),
        "a0000003": (0.88, 0.02),
        "baseline": (0.89, 0.06),  # the baseline's label: its seeds are one group
    }
    assert ax.get_xlabel() == "ensemble_acc (higher is better)"
    assert ax.get_ylabel() == "excess_agreement (lower is better)"
    assert legend_texts(ax.get_legend()) == [EARLY, "complete", "Pareto front", BASELINE]
    assert fig._suptitle.get_text() == "demo: 3 on the Pareto front of 5 complete configurations"


def test_configurations_over_seeds_are_drawn_at_their_means(replicated: tuple[TuneFolder, Any]) -> None:
    _, report = replicated
    fig = pareto_figure(report)
    (ax,) = fig.axes

    def mean(points: list[tuple[float, float]]) -> tuple[float, float]:
        return (round(sum(a for a, _ in points) / 3, 6), round(sum(e for _, e in points) / 3, 6))

    # c1 and c0 on the front; c2 and the inert c4 complete; c3 failed on one seed: not drawn.
    assert scatters(ax) == {
        "complete": [mean(FINAL[2]), mean(FINAL[4])],
        "Pareto front": [mean(FINAL[1]), mean(FINAL[0])],
        BASELINE: [mean(BASELINE_FINAL)],
    }
    assert annotations(ax) == {"c1": mean(FINAL[1]), "c0": mean(FINAL[0]), "baseline": mean(BASELINE_FINAL)}
    assert fig._suptitle.get_text() == "demo: 2 on the Pareto front of 4 complete configurations"


def test_an_unfinished_baseline_is_faded_and_says_so(tmp_path: Path) -> None:
    # Two seeds: the baseline's seed 1 was still running; its star is the mean of the seeds that completed.
    f = TuneFolder(tmp_path, space={**SPACE, "replicates": 2})
    base = {"objective": "independent", "w_adv": 0.0}
    mlp = {"w_adv": 0.1, "disc_arch": "mlp", "config_id": 0}
    f.sweep_trial("b0000001", "TERMINATED", {}, [(0.7, 0.2)] * 3, baseline={**base, "seed": 0, "replicate": 0})
    f.sweep_trial("b0000002", "RUNNING", {}, [(0.5, 0.4)], baseline={**base, "seed": 1, "replicate": 1}, start=1)
    f.sweep_trial("a0000001", "TERMINATED", {**mlp, "seed": 0, "replicate": 0}, [(0.8, 0.1)] * 3, start=2)
    f.sweep_trial("a0000002", "TERMINATED", {**mlp, "seed": 1, "replicate": 1}, [(0.82, 0.12)] * 3, start=3)
    f.save_state()
    report = build_report(f.results)
    assert [g.status for g in report.baseline_groups] == ["interrupted"]
    ax = pareto_figure(report).axes[0]
    (star,) = [c for c in ax.collections if c.get_label().startswith("baseline")]
    assert star.get_label() == f"{BASELINE}, interrupted"
    assert star.get_alpha() == pytest.approx(0.35)
    assert scatters(ax)[star.get_label()] == [(0.7, 0.2)]  # seed 1's partial values are not in it
    assert scatters(ax)["Pareto front"] == [(0.81, 0.11)]  # c0's mean over its two seeds


def test_a_folder_without_finished_search_trials_says_so(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path)
    f.sweep_trial("a0000001", "RUNNING", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.8, 0.1)])
    f.save_state()
    ax = pareto_figure(build_report(f.results)).axes[0]
    assert scatters(ax) == {}
    assert [t.get_text() for t in ax.texts] == ["no finished configuration yet"]


# ----------------------------------------------------------------- one objective
def test_one_objective_plots_value_by_trial_number_with_the_best_so_far(tmp_path: Path) -> None:
    space = {**SPACE, "objectives": [{"metric": "ensemble_acc", "direction": "max"}]}
    f = TuneFolder(tmp_path, space=space)
    p = {"disc_arch": "mlp"}
    f.sweep_trial("b0000001", "TERMINATED", {}, [(0.84, 0.1)] * 3, baseline={"objective": "independent", "w_adv": 0})
    f.sweep_trial("a0000001", "TERMINATED", {**p, "w_adv": 0.1}, [(0.80, 0.1)] * 3)
    f.sweep_trial("a0000002", "TERMINATED", {**p, "w_adv": 0.2}, [(0.85, 0.1)] * 3)
    f.sweep_trial("a0000003", "TERMINATED", {**p, "w_adv": 0.3}, [(0.95, 0.1)])  # stopped after 1 of 3 epochs
    f.sweep_trial("a0000004", "TERMINATED", {**p, "w_adv": 0.4}, [(0.83, 0.1)] * 3)
    f.sweep_trial("a0000005", "TERMINATED", {**p, "w_adv": 0.5}, [(0.90, 0.1)] * 3)
    f.sweep_trial("a0000006", "TERMINATED", {**p, "w_adv": 0.6}, [(0.70, 0.1)] * 3)
    f.save_state()
    report = build_report(f.results)
    fig = pareto_figure(report)
    (ax,) = fig.axes
    # x is the configuration's number (0-based, the baseline is not one of them); where the
    # stopped-early a3 lies: test_a_stopped_early_configuration_is_drawn_at_its_partial_values
    drawn = scatters(ax)
    assert {k: v for k, v in drawn.items() if k != EARLY} == {
        "complete": [(0.0, 0.8), (1.0, 0.85), (3.0, 0.83), (5.0, 0.7)],
        "best": [(4.0, 0.9)],
    }
    lines = {line.get_label(): line for line in ax.lines}
    # The best so far among rankable trials (not the stopped one's 0.95), held to the last trial.
    best = lines["best so far"]
    assert list(best.get_xdata()) == [0, 1, 4, 5] and list(best.get_ydata()) == [0.8, 0.85, 0.9, 0.9]
    assert best.get_drawstyle() == "steps-post"
    baseline = lines[BASELINE]
    assert list(baseline.get_ydata()) == [0.84, 0.84] and baseline.get_linestyle() == "--"
    assert ax.get_xlabel() == "configuration (the order Optuna proposed them)"
    assert ax.get_ylabel() == "ensemble_acc (higher is better)"
    assert fig._suptitle.get_text() == "demo: ensemble_acc of 5 complete configurations"


def test_a_stopped_early_configuration_is_drawn_at_its_partial_values(tmp_path: Path) -> None:
    (ax,) = pareto_figure(build_report(build_full(tmp_path / "two").results)).axes
    assert scatters(ax)[EARLY] == [(0.99, 0.0)]  # a5, after its single epoch
    space = {**SPACE, "objectives": [{"metric": "ensemble_acc", "direction": "max"}]}
    f = TuneFolder(tmp_path, space=space)
    f.sweep_trial("a0000001", "TERMINATED", {"disc_arch": "mlp", "w_adv": 0.1}, [(0.80, 0.1)] * 3)
    f.sweep_trial("a0000002", "TERMINATED", {"disc_arch": "mlp", "w_adv": 0.3}, [(0.95, 0.1)])  # 1 of 3 epochs
    f.save_state()
    (ax,) = pareto_figure(build_report(f.results)).axes
    assert scatters(ax)[EARLY] == [(1.0, 0.95)]


# -------------------------------------------------------------- three objectives
def test_three_objectives_plot_every_pair_with_the_front_in_each(tmp_path: Path) -> None:
    space = {**SPACE, "objectives": [*SPACE["objectives"], {"metric": "cka", "direction": "min"}]}
    f = TuneFolder(tmp_path, space=space)
    for n, (acc, excess) in enumerate([(0.9, 0.1), (0.8, 0.05), (0.85, 0.2)], start=1):
        f.sweep_trial(f"a{n:07d}", "TERMINATED", {"w_adv": 0.1 * n, "disc_arch": "mlp"}, [(acc, excess)] * 3)
    f.save_state()
    report = write_report(f.results)
    # cka is 0.5 for all three, so the third objective ties and the 2-D front decides.
    assert [t.trial_id for t in report.pareto] == ["a0000001", "a0000002"]
    fig = pareto_figure(report)
    pairs = [(ax.get_xlabel().split()[0], ax.get_ylabel().split()[0]) for ax in fig.axes]
    assert pairs == [("ensemble_acc", "excess_agreement"), ("ensemble_acc", "cka"), ("excess_agreement", "cka")]
    value = {"ensemble_acc": 0, "excess_agreement": 1, "cka": 2}
    points = {"a0000001": (0.9, 0.1, 0.5), "a0000002": (0.8, 0.05, 0.5), "a0000003": (0.85, 0.2, 0.5)}
    for ax, (x, y) in zip(fig.axes, pairs):
        on = lambda *ids, x=x, y=y: [(points[i][value[x]], points[i][value[y]]) for i in ids]
        assert scatters(ax) == {"complete": on("a0000003"), "Pareto front": on("a0000001", "a0000002")}
        assert len(ax.lines) == 0 and len(ax.texts) == 0  # small panels: not connected, not annotated
    assert legend_texts(fig.legends[0]) == ["complete", "Pareto front"]
    assert (f.results / PARETO_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_write_plot_writes_the_figure_as_a_png(tmp_path: Path) -> None:
    folder = build_full(tmp_path)
    path = tmp_path / "out.png"
    write_plot(build_report(folder.results), path)
    from matplotlib.image import imread

    height, width = imread(str(path)).shape[:2]
    assert (width, height) == (round(7.5 * 110), round(5.5 * 110))
    assert not math.isnan(float(imread(str(path)).mean()))
