"""A study's dose-response figure: ensemble accuracy and the probe against ``w_adv``.

One line per objective and pairing (its arms ordered by ``w_adv``, mean ± std over seeds); the
baselines (w_adv is 0 for them by definition) as horizontal bands of mean ± std. An arm
at ``w_adv = 0`` is drawn at the left edge of the log axis, labelled "0".
Agg and no pyplot, as the other report figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from sweep.baselines import pairing_of
from sweep.compare.analysis import ArmSummary
from sweep.compare.plan import ComparePlan
from trainable.config import TrialConfig

__all__ = ["DOSE_RESPONSE_PNG", "dose_response_figure", "dose_response_points", "plot_dose_response"]

DOSE_RESPONSE_PNG = "dose_response.png"
_PANELS = (("ensemble_acc", "ensemble accuracy (test)"), ("probe_acc", "redundancy probe (0.5 = none)"))


def dose_response_points(arms: list[ArmSummary], metric: str) -> dict[str, list[tuple[float, float, float]]]:
    """line -> [(w_adv, mean, std)] of the non-baseline arms, by w_adv.

    A line is an objective, or "objective (pairing)" for arms that set a pairing other
    than the objective's own (`seed` with pairing shared): those see other data per step.
    """
    lines: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for a in arms:
        stat = a.stats.get(metric)
        if a.arm.is_baseline or stat is None or not a.seeds:
            continue
        w_adv = float(a.arm.config.get("w_adv", 0.0))
        objective = str(a.arm.config.get("objective", TrialConfig.objective))
        pairing = pairing_of(a.arm.config)
        line = objective if pairing == pairing_of({"objective": objective}) else f"{objective} ({pairing})"
        lines[line].append((w_adv, stat.mean, stat.std))
    return {k: sorted(v) for k, v in sorted(lines.items())}


def _figure(figsize: tuple[float, float]) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _zero_at(points: dict[str, list[tuple[float, float, float]]]) -> float:
    """Where w_adv = 0 is drawn on the log axis: a decade below the smallest positive value."""
    positive = [w for line in points.values() for w, _, _ in line if w > 0]
    return min(positive) / 10 if positive else 1e-3


_BASELINE_COLORS = ("tab:gray", "tab:green", "tab:purple", "tab:brown")


def plot_dose_response(path: Path, plan: ComparePlan, arms: list[ArmSummary]) -> None:
    dose_response_figure(plan, arms).savefig(path, dpi=120)


def dose_response_figure(plan: ComparePlan, arms: list[ArmSummary]) -> Any:
    """The Figure ``plot_dose_response`` saves: its axes hold the lines, bands and ticks, for reading back."""
    from matplotlib.ticker import NullFormatter

    fig = _figure((11.0, 4.4))
    axes = fig.subplots(1, len(_PANELS), squeeze=False)[0]
    for ax, (metric, label) in zip(axes, _PANELS):
        points = dose_response_points(arms, metric)
        zero = _zero_at(points)
        for objective, line in points.items():
            xs = [w if w > 0 else zero for w, _, _ in line]
            errs = [0.0 if math.isnan(s) else s for _, _, s in line]
            ax.errorbar(xs, [m for _, m, _ in line], yerr=errs, marker="o", capsize=3, label=objective)
        drawn = 0
        for a in arms:
            stat = a.stats.get(metric)
            if not a.arm.is_baseline or stat is None or not a.seeds or math.isnan(stat.mean):
                continue
            spread = 0.0 if math.isnan(stat.std) else stat.std
            # One colour per baseline, none of them an objective's line colour.
            color = _BASELINE_COLORS[drawn % len(_BASELINE_COLORS)]
            drawn += 1
            ax.axhspan(stat.mean - spread, stat.mean + spread, color=color, alpha=0.15, label=f"{a.arm.name} (± std)")
            ax.axhline(stat.mean, color=color, alpha=0.9, linewidth=1, linestyle="--")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # only the w_adv values are labelled
        ticks = sorted({w for line in points.values() for w, _, _ in line})
        if ticks:
            ax.set_xticks([w if w > 0 else zero for w in ticks], [f"{w:g}" for w in ticks])
        ax.set_xlabel("w_adv")
        ax.set_ylabel(label)
        ax.legend(fontsize=7)
    fig.suptitle(f"Study {plan.study or Path(plan.compare_dir).name}: mean ± std over {len(plan.seeds)} seeds")
    fig.tight_layout()
    return fig
