"""``pareto.png``: the objectives plotted, the front highlighted, the baseline marked.

One objective: its value per search trial in the order Optuna proposed them, with
the best so far. Two: the plane, the front connected. More: every pair of
objectives in a lower-triangle grid. Agg and no pyplot: no global backend choice,
no figure left open in a registry.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sweep.formatting import arrow, plural
from sweep.report.build import Report, rankable
from sweep.report.configs import BaselineGroup, ConfigRecord
from sweep.report.pareto import better

__all__ = ["PARETO_PNG", "pareto_figure", "write_plot"]

PARETO_PNG = "pareto.png"


def write_plot(report: Report, path: Path) -> None:
    """pareto.png. One objective: value per trial number. Two: the plane. More: every pair."""
    pareto_figure(report).savefig(path, metadata={"Software": None})


def pareto_figure(report: Report) -> Any:
    """The matplotlib Figure ``write_plot`` saves, laid out and not yet written.

    Its axes hold what was drawn (each series a labelled scatter or line, the front's
    trial ids and the baseline as annotations), which is what the tests read.
    """
    # Agg, and no pyplot: no global backend choice, no figure left open in a registry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    objectives = report.objectives
    k = len(objectives)
    if k <= 2:
        fig = Figure(figsize=(7.5, 5.5), dpi=110)
        ax = fig.add_subplot(1, 1, 1)
        if k == 1:
            _draw_single(report, ax)
        else:
            _draw_pair(report, ax, 0, 1, connect=True)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", fontsize=8)
    else:
        # A lower-triangle grid of every pair of objectives; the front is non-dominated in
        # all of them at once, so it is highlighted in each panel but not connected.
        n = k - 1
        fig = Figure(figsize=(3.6 * n + 1, 3.3 * n + 1), dpi=100)
        handles: Any = None
        for row in range(n):
            for col in range(n):
                if col > row:
                    continue
                ax = fig.add_subplot(n, n, row * n + col + 1)
                _draw_pair(report, ax, col, row + 1, connect=False, small=True)
                handles = ax.get_legend_handles_labels()
        if handles and handles[0]:
            # Into the empty upper-right corner of the triangle, below the title.
            fig.legend(*handles, loc="upper right", bbox_to_anchor=(0.97, 0.9), fontsize=8)
    complete = plural(report.counts["complete"], "complete configuration")
    if k == 1:
        title = f"{report.plan.name}: {objectives[0]} of {complete}"
    else:
        title = f"{report.plan.name}: {len(report.pareto)} on the Pareto front of {complete}"
    fig.suptitle(title, fontsize=10)
    FigureCanvasAgg(fig)
    fig.tight_layout()
    return fig


def _draw_pair(report: Report, ax: Any, i: int, j: int, connect: bool, small: bool = False) -> None:
    objectives, directions = report.objectives, report.directions
    xm, ym = objectives[i], objectives[j]

    def xy(trials: Iterable[ConfigRecord | BaselineGroup]) -> tuple[list[float], list[float]]:
        pts = [(t.value(xm), t.value(ym)) for t in trials]
        pts = [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]
        return [p[0] for p in pts], [p[1] for p in pts]

    front_ids = {t.trial_id for t in report.pareto}
    complete = [c for c in report.configs if c.status == "complete" and c.trial_id not in front_ids]
    early = [c for c in report.configs if c.status == "stopped_early"]
    size = 14 if small else 28
    if early:
        ax.scatter(*xy(early), s=size, color="tab:gray", alpha=0.3, label="stopped early (partial training)")
    if complete:
        ax.scatter(*xy(complete), s=size, color="tab:blue", alpha=0.75, label="complete")
    if report.pareto:
        fx, fy = xy(report.pareto)
        ax.scatter(
            fx, fy, s=size * 2, color="tab:red", edgecolor="black", linewidth=0.6, zorder=3, label="Pareto front"
        )
        if connect and len(fx) > 1:
            order = sorted(range(len(fx)), key=lambda n: (fx[n], fy[n]))
            ax.plot([fx[n] for n in order], [fy[n] for n in order], color="tab:red", linewidth=1.2, zorder=2)
        if not small:
            for t, x, y in zip(report.pareto, fx, fy):
                ax.annotate(t.trial_id, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    for base in report.baseline_groups:
        bx, by = xy([base])
        if bx:
            faded = base.status != "complete"
            ax.scatter(
                bx,
                by,
                s=size * 4,
                marker="*",
                color="black",
                alpha=0.35 if faded else 1.0,
                zorder=4,
                label="baseline (independent, mean over seeds)" + (f", {base.status}" if faded else ""),
            )
            if not small:
                ax.annotate(base.label, (bx[0], by[0]), textcoords="offset points", xytext=(5, -11), fontsize=7)
    ax.set_xlabel(f"{xm} ({arrow(directions[i])})", fontsize=8 if small else 10)
    ax.set_ylabel(f"{ym} ({arrow(directions[j])})", fontsize=8 if small else 10)
    ax.grid(True, alpha=0.3)
    if not report.pareto and not complete and not early:
        ax.text(0.5, 0.5, "no finished configuration yet", transform=ax.transAxes, ha="center", va="center")


def _draw_single(report: Report, ax: Any) -> None:
    metric, direction = report.objectives[0], report.directions[0]
    front_ids = {t.trial_id for t in report.pareto}
    search = report.configs
    points: dict[str, list[tuple[int, float]]] = {"complete": [], "front": [], "stopped_early": []}
    for number, t in enumerate(search):
        value = t.value(metric)
        if not math.isfinite(value):
            continue
        if t.trial_id in front_ids:
            points["front"].append((number, value))
        elif t.status in ("complete", "stopped_early"):
            points[t.status].append((number, value))
    if points["stopped_early"]:
        ax.scatter(
            *zip(*points["stopped_early"]), s=28, color="tab:gray", alpha=0.3, label="stopped early (partial training)"
        )
    if points["complete"]:
        ax.scatter(*zip(*points["complete"]), s=28, color="tab:blue", alpha=0.75, label="complete")
    if points["front"]:
        ax.scatter(*zip(*points["front"]), s=60, color="tab:red", edgecolor="black", zorder=3, label="best")
    # The best value so far among rankable trials, as a step line.
    best: list[tuple[int, float]] = []
    for number, t in enumerate(search):
        if rankable(t, [metric]):
            value = t.value(metric)
            if not best or better(value, best[-1][1], direction):
                best.append((number, value))
    if best:
        xs = [b[0] for b in best] + [len(search) - 1]
        ys = [b[1] for b in best] + [best[-1][1]]
        ax.step(xs, ys, where="post", color="tab:red", linewidth=1.2, label="best so far")
    for base in report.baseline_groups:
        value = base.value(metric)
        if math.isfinite(value):
            ax.axhline(
                value,
                color="black",
                linestyle="--",
                linewidth=1.2,
                label=f"{base.label} (independent, mean over seeds)",
            )
            ax.scatter([-0.5], [value], marker="*", s=120, color="black", zorder=4)
    ax.set_xlabel("configuration (the order Optuna proposed them)")
    ax.set_ylabel(f"{metric} ({arrow(direction)})")
    ax.grid(True, alpha=0.3)
    if any(points.values()) or report.baseline_groups:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished configuration yet", transform=ax.transAxes, ha="center", va="center")
