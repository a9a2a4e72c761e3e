"""Compare mode's numbers: per-arm summaries, each arm paired with its baseline, the headline.

Pure given the runs and the saved correctness: nothing is read or written here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sweep.compare.gather import Correctness, Run
from sweep.compare.plan import Arm, ComparePlan
from sweep.compare.stats import McNemar, MeanStd, PairedCI, mcnemar_exact, mean_std, paired_ci, verdict

__all__ = ["ARM_METRICS", "ArmSummary", "PairedResult", "CompareReport", "diversity_metric", "summarise_arms",
           "pair_arms", "headline"]

# Per-arm table, in DESIGN §4's order.
ARM_METRICS = ("member_acc", "min_member_acc", "ensemble_acc", "ensemble_gain", "disagreement", "double_fault",
               "excess_agreement", "q_statistic", "cka", "ensemble_nll", "ece", "disc_acc")


@dataclass
class ArmSummary:
    arm: Arm
    seeds: list[int]  # seeds whose run completed
    stats: dict[str, MeanStd]
    tpa_observed: np.ndarray  # [2K + 1]: fraction of test examples k of the arm's 2K models get right
    tpa_expected: np.ndarray  # the same if the models erred independently


@dataclass
class PairedResult:
    arm: str
    baseline: str
    seeds: list[int]  # seeds where both completed
    ensemble_acc: PairedCI
    mcnemar: McNemar
    diversity_metric: str
    diversity: PairedCI
    text: str  # the verdict paragraph


@dataclass
class CompareReport:
    plan: ComparePlan
    runs: list[Run]
    arms: list[ArmSummary]
    paired: list[PairedResult]
    headline: str
    files: dict[str, Path] = field(default_factory=dict)


def diversity_metric(plan: ComparePlan) -> str:
    """The sweep's diversity objective (its first non-accuracy one), else disagreement."""
    return next((m for m in plan.objectives if "acc" not in m), "disagreement")


def _complete_by_arm(runs: list[Run]) -> dict[str, dict[int, Run]]:
    by_arm: dict[str, dict[int, Run]] = {}
    for run in runs:
        if run.status == "complete":
            by_arm.setdefault(run.arm, {})[run.seed] = run
    return by_arm


def summarise_arms(plan: ComparePlan, runs: list[Run], correctness: Correctness) -> list[ArmSummary]:
    """Mean and std over seeds of every ARM_METRICS, and the TP-agreement of the arm's 2K models."""
    from trainable.outputs import tpa_histograms

    by_arm = _complete_by_arm(runs)
    summaries = []
    for arm in plan.arms:
        done = by_arm.get(arm.name, {})
        seeds = sorted(done)
        stats = {m: mean_std([done[s].metrics.get(m, math.nan) for s in seeds]) for m in ARM_METRICS}
        if seeds:
            models = np.concatenate([correctness.member[correctness.index[(arm.name, s)]] for s in seeds])  # [2K, N]
            observed, expected = tpa_histograms(models)
        else:
            observed = expected = np.zeros(0)
        summaries.append(ArmSummary(arm, seeds, stats, observed, expected))
    return summaries


def pair_arms(plan: ComparePlan, runs: list[Run], correctness: Correctness) -> list[PairedResult]:
    """Each non-baseline arm against its baseline over the seeds both completed."""
    by_arm = _complete_by_arm(runs)
    metric = diversity_metric(plan)
    paired = []
    for arm in plan.arms:
        if arm.is_baseline:
            continue
        base = plan.baseline_for(arm)
        a, b = by_arm.get(arm.name, {}), by_arm.get(base.name, {})
        seeds = sorted(set(a) & set(b))
        acc = paired_ci([a[s].metrics.get("ensemble_acc", math.nan) for s in seeds],
                        [b[s].metrics.get("ensemble_acc", math.nan) for s in seeds])
        div = paired_ci([a[s].metrics.get(metric, math.nan) for s in seeds],
                        [b[s].metrics.get(metric, math.nan) for s in seeds])
        if seeds:
            rows = correctness.ensemble
            test = mcnemar_exact(np.concatenate([rows[correctness.index[(arm.name, s)]] for s in seeds]),
                                 np.concatenate([rows[correctness.index[(base.name, s)]] for s in seeds]))
        else:
            test = McNemar(0, 0, math.nan)
        text = verdict(arm.name, base.name, acc, test, metric, div)
        paired.append(PairedResult(arm.name, base.name, seeds, acc, test, metric, div, text))
    return paired


def headline(paired: list[PairedResult]) -> str:
    """The verdict for the arm with the largest mean ensemble-accuracy difference."""
    usable = [p for p in paired if p.ensemble_acc.n]
    if not usable:
        return "No adversarial arm finished paired runs with its baseline; nothing can be concluded yet."
    best = max(usable, key=lambda p: p.ensemble_acc.mean)
    return "The best adversarial arm by mean ensemble accuracy is " + best.arm + ". " + best.text
