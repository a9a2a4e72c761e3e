"""A sequential study: its looks, the dry run's boundaries and expected cost, the report's decision.

A study file's ``sequential`` block (``sweep.study.file.Sequential``) registers looks;
each study arm against its matched baseline is a registered primary comparison, at
the study's family-wise alpha (``sweep.stats.equivalence.ALPHA``) split by Bonferroni,
with the study's ``effect`` as the equivalence margin (``sweep.stats.sequential``). The
runs stop at the first look where every comparison is decided (``sweep.search.look_gate``);
the report recomputes that decision from the gathered runs alone, so ``--report-only``
rebuilds it. Pure: numbers and text in and out (``write_sequential_csv`` writes one file).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sweep.compare.gather import Run
from sweep.compare.plan import ComparePlan
from sweep.folders import write_csv
from sweep.formatting import md_table
from sweep.search.looks import LookSchedule
from sweep.stats.equivalence import ALPHA
from sweep.stats.sequential import SequentialDesign, StudyDecision, look_table
from sweep.stats.sequential_simulation import simulate
from sweep.study.file import Study

__all__ = [
    "SEQUENTIAL_CSV",
    "COST_STUDIES",
    "schedule_of",
    "decision_of",
    "dry_run_lines",
    "summary_lines",
    "terminal_lines",
    "write_sequential_csv",
]

SEQUENTIAL_CSV = "sequential.csv"
COST_STUDIES = 10_000  # simulated studies behind the dry run's expected cost: its Monte-Carlo SE is < 0.1 seed
_COST_SEED = 20261204  # a fixed RNG seed: the same file gives the same dry run
_NAMES = {"obrien-fleming": "O'Brien-Fleming-type", "pocock": "Pocock-type"}


def schedule_of(study: Study, plan: ComparePlan) -> LookSchedule | None:
    """The study's looks over ``plan``'s runs; None for a study without a ``sequential`` block."""
    if study.sequential is None:
        return None
    compared = [arm for arm in plan.arms if not arm.is_baseline]
    design = SequentialDesign(
        looks=study.sequential.looks,
        margin=study.effect,
        alpha=ALPHA,
        spending=study.sequential.spending,
        comparisons=len(compared),
    )
    return LookSchedule(
        design=design,
        seeds=tuple(plan.seeds),
        arms=tuple(arm.name for arm in plan.arms),
        comparisons=tuple((arm.name, plan.baseline_for(arm).name) for arm in compared),
    )


def decision_of(schedule: LookSchedule, runs: list[Run]) -> StudyDecision:
    """The decision the gathered runs give: the same rule, on the same test metric, as the runner's gate."""
    values = {(r.arm, r.seed): float(r.metrics["ensemble_acc"]) for r in runs if r.status == "complete"}
    values = {key: v for key, v in values.items() if math.isfinite(v)}
    ended = {(r.arm, r.seed) for r in runs if r.status != "interrupted"}
    return schedule.decision(values, ended)


def _registered(design: SequentialDesign) -> str:
    each = f" ({design.alpha_each:.4g} each, Bonferroni)" if design.comparisons > 1 else ""
    return (
        f"looks at {', '.join(map(str, design.looks))} paired seeds per arm; {_NAMES[design.spending]} alpha "
        f"spending (Lan-DeMets); two-sided alpha {design.alpha:g} over {design.comparisons} "
        f"comparison{'s' if design.comparisons > 1 else ''}{each}; equivalence margin "
        f"±{100 * design.margin:.2f} pp (the study's effect)"
    )


def dry_run_lines(schedule: LookSchedule, sds: list[tuple[float, str]]) -> list[str]:
    """The boundaries per look and the expected cost, for ``launch.py study --dry-run``.

    ``sds``: (sd of paired differences, where it comes from) to simulate the cost with;
    without one only the maximum is known (the equivalence stops depend on the sd).
    """
    design, per_seed = schedule.design, len(schedule.arms)
    out = [f"sequential design: {_registered(design)}"]
    for k, look in enumerate(look_table(design)):
        out.append(
            f"  look {k + 1}: {look.seeds} seeds (information {look.fraction:.2f}): alpha spent {look.alpha_spent:.4g}, "
            f"nominal level {look.nominal:.4g}, stop when |z| >= {look.z:.3f}, i.e. |t| >= {look.t:.3f} "
            f"({look.seeds - 1} df), or when the repeated CI lies inside ±{100 * design.margin:.2f} pp"
        )
    most = design.max_seeds
    if not sds:
        out.append(
            f"expected cost: at most {most} seeds per arm ({most * per_seed} runs); the expected number needs "
            "the sd of the paired differences (none measured in this storage folder: register "
            "sequential.planning_sd to see it)"
        )
    for sd, source in sds:
        rng = np.random.default_rng(_COST_SEED)
        null = simulate(design, 0.0, sd, COST_STUDIES, rng)
        alt = simulate(design, design.margin, sd, COST_STUDIES, rng)
        out.append(
            f"expected cost ({COST_STUDIES:,} simulated studies, paired sd {100 * sd:.2f} pp from {source}): "
            f"{null.expected_seeds:.1f} seeds per arm ({null.expected_seeds * per_seed:.0f} runs) if no arm "
            f"differs, {alt.expected_seeds:.1f} ({alt.expected_seeds * per_seed:.0f} runs) if every arm differs "
            f"by the smallest effect; at most {most} ({most * per_seed} runs); power at the smallest effect "
            f"{100 * alt.better:.0f} %"
        )
    return out


def _ci(low: float, high: float) -> str:
    return f"[{100 * low:+.2f}, {100 * high:+.2f}] pp" if math.isfinite(low) else "-"


def _status(schedule: LookSchedule, decision: StudyDecision) -> str:
    looks, k = schedule.design.looks, decision.stopped_at
    if k is not None and k < len(looks):
        return (
            f"**Stopped at look {k} of {len(looks)} ({looks[k - 1]} seeds per arm): every registered comparison "
            f"was decided**, so the remaining {looks[-1] - looks[k - 1]} seeds per arm were not run."
        )
    if k is not None:
        return f"**Ran to the last look ({looks[-1]} seeds per arm)**; its words are final."
    if decision.looks_reached == 0:
        return "**No look reached yet**: runs of the first look have not all ended."
    reached = decision.looks_reached
    return (
        f"**Look {reached} of {len(looks)} reached; not every comparison is decided**: the study goes on to "
        f"look {reached + 1} ({looks[reached]} seeds per arm)."
    )


def summary_lines(schedule: LookSchedule, decision: StudyDecision) -> list[str]:
    """The report's section: what was registered, where the study stopped and why, each comparison's look."""
    rows = [
        [
            arm,
            base,
            str(d.look),
            str(d.seeds),
            f"{100 * d.mean:+.2f} pp" if math.isfinite(d.mean) else "-",
            _ci(d.low, d.high),
            f"{d.t:.3g}" if math.isfinite(d.t) else "-",
            f"{d.critical:.3f}" if math.isfinite(d.critical) else "-",
            d.decision,
        ]
        for (arm, base), looks in zip(schedule.comparisons, decision.comparisons)
        for d in looks
    ]
    bounds = [
        [str(k + 1), str(lk.seeds), f"{lk.fraction:.2f}", f"{lk.alpha_spent:.4g}", f"{lk.nominal:.4g}"]
        + [f"{lk.z:.3f}", f"{lk.t:.3f} ({lk.seeds - 1})"]
        for k, lk in enumerate(look_table(schedule.design))
    ]
    return [
        "## Sequential decision (registered looks)",
        "",
        f"Registered: {_registered(schedule.design)}.",
        "",
        _status(schedule, decision),
        "",
        md_table(
            ["arm", "baseline", "look", "seeds", "Δ ensemble_acc", "repeated CI", "t", "critical |t|", "decision"],
            rows,
        )
        if rows
        else "(no look reached)",
        "",
        "At each look an arm is *better* or *worse* when its paired t statistic crosses the look's critical "
        "value, *equivalent* when its repeated confidence interval lies inside the margin, else the study "
        "continues (*undecided* at the last look); a decided arm keeps its word. The boundaries "
        "(docs/protocol.md section 11; with runs that failed, a look uses the seeds it has):",
        "",
        md_table(
            ["look", "seeds", "information", "alpha spent", "nominal level", "critical |z|", "critical |t| (df)"],
            bounds,
        ),
        "",
        "The fixed-sample figures below (paired t, Holm, TOST and their verdict words) treat the seeds run as "
        "if no look had been taken; the registered, confirmatory answer of this study is the decision above.",
        "",
    ]


def terminal_lines(schedule: LookSchedule, decision: StudyDecision) -> list[str]:
    """What the terminal says after the report: the status and each comparison's word and look."""
    status = _status(schedule, decision).replace("**", "")
    words = [
        f"  {arm}: {looks[-1].decision} (look {looks[-1].look}, {looks[-1].seeds} seeds)" if looks else f"  {arm}: -"
        for (arm, _), looks in zip(schedule.comparisons, decision.comparisons)
    ]
    return [f"Sequential decision: {status}", *words]


def write_sequential_csv(path: Path, schedule: LookSchedule, decision: StudyDecision) -> None:
    """One row per comparison per look it was judged at, with the study's stopping look."""
    header = ["arm", "baseline", "look", "seeds", "diff", "rci_low", "rci_high", "t", "critical_t", "decision"]
    rows = [
        [arm, base, d.look, d.seeds, d.mean, d.low, d.high, d.t, d.critical, d.decision]
        for (arm, base), looks in zip(schedule.comparisons, decision.comparisons)
        for d in looks
    ]
    write_csv(path, [*header, "study_stopped_at"], [[*row, decision.stopped_at] for row in rows])
