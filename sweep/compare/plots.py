"""Compare mode's figures: ``tpa_within_pair.png`` (``plot_tpa``: the pooled histogram) and ``front.png``.

Each ``plot_*`` saves the Figure its ``*_figure`` twin returns, so what a figure shows
(bars, points, error bars, labels) can be read from its axes before it becomes pixels.
Agg and no pyplot, as the sweep report's plot: no global backend choice, no figure
left open in a registry.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from sweep.compare.analysis import ArmSummary, diversity_metric
from sweep.compare.plan import ComparePlan
from sweep.errors import UserError
from sweep.formatting import arrow

__all__ = ["front_figure", "plot_front", "plot_tpa", "plot_within_pair", "tpa_figure", "within_pair_figure"]


def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def plot_tpa(path: Path, arms: list[ArmSummary]) -> None:
    """One panel per arm: the observed TP-agreement histogram and the one if models erred independently."""
    tpa_figure(arms).savefig(path, dpi=120)


def tpa_figure(arms: list[ArmSummary]) -> Any:
    """The Figure ``plot_tpa`` saves."""
    shown = [a for a in arms if len(a.tpa_observed)]
    panels = max(1, len(shown))
    fig = _figure((4.2 * panels, 3.6))
    axes = fig.subplots(1, panels, squeeze=False, sharey=True)
    for ax, a in zip(axes[0], shown):
        m = len(a.tpa_observed) - 1
        x = np.arange(m + 1) / m
        ax.bar(
            x,
            a.tpa_observed,
            width=0.8 / m,
            color="tab:blue" if not a.arm.is_baseline else "tab:gray",
            label="observed",
        )
        ax.plot(x, a.tpa_expected, "o--", color="tab:red", label="if independent")
        ax.set_yscale("log")
        ax.set_title(f"{a.arm.name} ({m} models)")
        ax.set_xlabel("TP-agreement (fraction of models right)")
    axes[0][0].set_ylabel("fraction of test examples")
    if shown:
        axes[0][0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_within_pair(path: Path, plan: ComparePlan, arms: list[ArmSummary]) -> None:
    """One panel per compared arm: per seed, the fraction of test images 0/1/2 members get right, beside its baseline.

    Bars are the mean over seeds, dots the seeds. Within-pair (M = 2) only: the model
    pairs the adversarial term acted on (docs/protocol.md section 7).
    """
    within_pair_figure(plan, arms).savefig(path, dpi=120)


def within_pair_figure(plan: ComparePlan, arms: list[ArmSummary]) -> Any:
    """The Figure ``plot_within_pair`` saves."""
    by_name = {a.arm.name: a for a in arms}
    shown = [a for a in arms if not a.arm.is_baseline and a.within_pair]
    fig = _figure((4.6 * max(1, len(shown)), 3.6))
    axes = fig.subplots(1, max(1, len(shown)), squeeze=False, sharey=True)
    for ax, a in zip(axes[0], shown):
        base = by_name.get(plan.baseline_for(a.arm).name)
        for offset, s, color in ((-0.2, a, "tab:blue"), (0.2, base, "tab:gray")):
            if s is None or not s.within_pair:
                continue
            values = np.array(list(s.within_pair.values()))  # [seeds, 3]
            ax.bar(
                np.arange(3) + offset,
                values.mean(axis=0),
                width=0.38,
                color=color,
                alpha=0.6,
                label=f"{s.arm.name} ({len(values)} seeds)",
            )
            for row in values:
                ax.plot(np.arange(3) + offset, row, "o", color=color, markersize=3)
        ax.set_yscale("log")
        ax.set_xticks(range(3), ["both wrong", "one right", "both right"])
        ax.set_title(f"{a.arm.name} vs its baseline")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("fraction of test images")
    fig.tight_layout()
    return fig


def _sweep_points(plan: ComparePlan, x_metric: str, y_metric: str) -> tuple[list[float], list[float]]:
    """The sweep's complete search trials (on the sweep's seed); none when its folder cannot be read."""
    from sweep.report.reading import read_trials

    try:
        _, _, trials, _ = read_trials(plan.sweep_dir)
    except (UserError, OSError, ValueError):  # the sweep folder moved: the arms alone still make the figure
        trials = []
    done = [t for t in trials if t.status == "complete" and not t.is_baseline]
    return [t.value(x_metric) for t in done], [t.value(y_metric) for t in done]


def plot_front(path: Path, plan: ComparePlan, arms: list[ArmSummary]) -> None:
    """The sweep's trials with each arm's mean ± std over seeds, the baseline as a star."""
    front_figure(plan, arms).savefig(path, dpi=120)


def front_figure(plan: ComparePlan, arms: list[ArmSummary]) -> Any:
    """The Figure ``plot_front`` saves."""
    x_metric = plan.objectives[0]
    y_metric = plan.objectives[1] if len(plan.objectives) > 1 else diversity_metric(plan)
    fig = _figure((6.4, 4.8))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(*_sweep_points(plan, x_metric, y_metric), s=18, color="0.75", label="sweep trials (sweep seed)")
    for a in arms:
        sx, sy = a.stats.get(x_metric), a.stats.get(y_metric)
        if not a.seeds or sx is None or sy is None:
            continue
        ax.errorbar(
            sx.mean,
            sy.mean,
            xerr=0 if math.isnan(sx.std) else sx.std,
            yerr=0 if math.isnan(sy.std) else sy.std,
            fmt="*" if a.arm.is_baseline else "o",
            markersize=12 if a.arm.is_baseline else 8,
            capsize=3,
            color="black" if a.arm.is_baseline else None,
            label=f"{a.arm.name} (mean ± std, {len(a.seeds)} seeds)",
        )
    directions = dict(zip(plan.objectives, plan.directions))
    ax.set_xlabel(f"{x_metric} ({arrow(directions.get(x_metric, 'max'))})")
    ax.set_ylabel(f"{y_metric} ({arrow(directions.get(y_metric, 'max'))})")
    ax.legend(fontsize=8)
    ax.set_title("Sweep front and retrained arms")
    fig.tight_layout()
    return fig
