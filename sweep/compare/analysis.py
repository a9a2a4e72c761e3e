"""Compare mode's numbers: per-arm summaries, each arm paired with its baseline, the headline.

Every number is a test-split number (each run's ``test_`` metrics, see
``sweep.compare.gather``). Pure given the runs and the saved correctness: nothing
is read or written here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sweep.compare.gather import Correctness, Run
from sweep.compare.plan import DEEP_ENSEMBLE_ARM, Arm, ComparePlan
from sweep.compare.verdict import POWER, Power, verdict_text
from sweep.stats.equivalence import TOST, judge_arms
from sweep.stats.paired import McNemar, MeanStd, PairedCI, mcnemar_exact, mean_std, paired_ci
from sweep.stats.power import minimum_detectable_difference, paired_t_p, seeds_needed
from trainable.metric_names import PAIR_METRIC_NAMES

__all__ = [
    "ARM_METRICS",
    "CI_METRICS",
    "DEFAULT_EFFECT",
    "ArmSummary",
    "PairedResult",
    "CompareReport",
    "diversity_metric",
    "summarise_arms",
    "pair_arms",
    "headline",
    "within_pair_tpa",
]


def _arm_metrics() -> tuple[str, ...]:
    """The per-arm table's columns: the pair metrics of the ensemble (not per member, not the
    TP-agreement bins), CKA beside the other diversity measures, then the adversary's two."""
    names = [n for n in PAIR_METRIC_NAMES if n not in ("acc_1", "acc_2") and not n.startswith("tpa_")]
    names.insert(names.index("q_statistic") + 1, "cka")
    return (*names, "disc_acc", "probe_acc")


ARM_METRICS = _arm_metrics()
# Paired intervals beside ensemble accuracy (docs/protocol.md section 6): the members'
# accuracy (an error-independence claim needs it not lower), the error-independence
# measures, the debiased CKA and the redundancy probe (lower = less shared information).
CI_METRICS = ("member_acc", "double_fault", "excess_agreement", "q_statistic", "cka", "probe_acc")
DEFAULT_EFFECT = 0.005  # the smallest ensemble-accuracy effect worth detecting: 0.5 pp


@dataclass
class ArmSummary:
    arm: Arm
    seeds: list[int]  # seeds whose run completed
    stats: dict[str, MeanStd]
    tpa_observed: np.ndarray  # [2K + 1]: fraction of test examples k of the arm's 2K models get right
    tpa_expected: np.ndarray  # the same if the models erred independently
    # seed -> [3]: fraction of test examples 0, 1, 2 of that seed's two members get right (M = 2)
    within_pair: dict[int, np.ndarray] = field(default_factory=dict)
    # The lowest test accuracy of any one of the arm's 2K members: "members at 88 %" needs the
    # weakest beside the mean, since an ensemble of a strong and a weak member reads well on average.
    lowest_member: float = math.nan


@dataclass(frozen=True)
class PairedResult:
    arm: str
    baseline: str
    seeds: list[int]  # seeds where both completed
    ensemble_acc: PairedCI  # the primary test: paired t interval over seeds
    p_value: float  # paired t, two-sided
    p_holm: float  # Holm-adjusted over the compared arms
    power: Power
    mcnemar: dict[int, McNemar]  # seed -> exact McNemar on that seed's test examples (descriptive only)
    deep_ensemble: PairedCI | None  # ensemble accuracy against the deep ensemble; None when it did not run
    diversity_metric: str
    diversity: PairedCI
    metrics: dict[str, PairedCI]  # CI_METRICS name -> paired interval against the baseline
    text: str  # the verdict paragraph
    # Equivalence against the smallest effect worth detecting (sweep.stats.equivalence):
    tost: TOST | None = None  # the two one-sided tests against ±effect
    p_tost_holm: float = math.nan  # TOST p, Holm-adjusted over the compared arms
    simultaneous: PairedCI | None = None  # ensemble_acc interval at Bonferroni's level over the arms
    verdict: str = ""  # better | worse | equivalent within ±X pp | undecided


@dataclass
class CompareReport:
    plan: ComparePlan
    runs: list[Run]
    arms: list[ArmSummary]
    paired: list[PairedResult]
    headline: str
    files: dict[str, Path] = field(default_factory=dict)


def diversity_metric(plan: ComparePlan) -> str:
    """The sweep's diversity objective (its first non-accuracy one), else excess_agreement."""
    return next((m for m in plan.objectives if "acc" not in m), "excess_agreement")


def _complete_by_arm(runs: list[Run]) -> dict[str, dict[int, Run]]:
    by_arm: dict[str, dict[int, Run]] = {}
    for run in runs:
        if run.status == "complete":
            by_arm.setdefault(run.arm, {})[run.seed] = run
    return by_arm


def within_pair_tpa(member_correct: np.ndarray) -> np.ndarray:
    """[3]: the fraction of examples 0, 1 and 2 of the pair's members get right, from bool [2, N]."""
    right = np.asarray(member_correct, dtype=bool).sum(axis=0)
    return np.array([np.mean(right == k) for k in range(3)], dtype=float)


def summarise_arms(plan: ComparePlan, runs: list[Run], correctness: Correctness) -> list[ArmSummary]:
    """Mean and std over seeds of every ARM_METRICS, the pooled and the within-pair TP-agreement."""
    from trainable.outputs import tpa_histograms

    by_arm = _complete_by_arm(runs)
    summaries = []
    for arm in plan.arms:
        done = by_arm.get(arm.name, {})
        seeds = sorted(done)
        stats = {m: mean_std([done[s].metrics.get(m, math.nan) for s in seeds]) for m in ARM_METRICS}
        pairs = {s: correctness.member[correctness.index[(arm.name, s)]] for s in seeds}  # seed -> [2, N]
        if seeds:
            observed, expected = tpa_histograms(np.concatenate(list(pairs.values())))  # all 2K models
        else:
            observed = expected = np.zeros(0)
        within = {s: within_pair_tpa(m) for s, m in pairs.items()}
        members = [done[s].metrics.get(k, math.nan) for s in seeds for k in ("acc_1", "acc_2")]
        lowest = float(np.nanmin(members)) if np.isfinite(members).any() else math.nan
        summaries.append(ArmSummary(arm, seeds, stats, observed, expected, within, lowest))
    return summaries


def _paired(a: dict[int, Run], b: dict[int, Run], seeds: list[int], metric: str) -> PairedCI:
    return paired_ci(
        [a[s].metrics.get(metric, math.nan) for s in seeds], [b[s].metrics.get(metric, math.nan) for s in seeds]
    )


def _differences(a: dict[int, Run], b: dict[int, Run], seeds: list[int]) -> list[float]:
    """Ensemble accuracy, arm minus baseline, per seed (NaN where either did not report it)."""
    return [a[s].metrics.get("ensemble_acc", math.nan) - b[s].metrics.get("ensemble_acc", math.nan) for s in seeds]


def _power(a: dict[int, Run], b: dict[int, Run], seeds: list[int], effect: float) -> tuple[float, Power]:
    """The paired t p-value of ensemble accuracy, and the power figures from its observed sd."""
    d = np.array(_differences(a, b, seeds), dtype=float)
    d = d[np.isfinite(d)]
    sd = float(d.std(ddof=1)) if d.size > 1 else math.nan
    mde = minimum_detectable_difference(sd, int(d.size), POWER)
    return paired_t_p(d), Power(sd, mde, effect, seeds_needed(effect, sd, POWER))


def _mcnemar(correctness: Correctness, arm: str, base: str, seeds: list[int]) -> dict[int, McNemar]:
    rows, index = correctness.ensemble, correctness.index
    return {s: mcnemar_exact(rows[index[(arm, s)]], rows[index[(base, s)]]) for s in seeds}


def _one_arm(
    plan: ComparePlan, arm: Arm, by_arm: dict[str, dict[int, Run]], correctness: Correctness, effect: float
) -> PairedResult:
    base = plan.baseline_for(arm)
    a, b = by_arm.get(arm.name, {}), by_arm.get(base.name, {})
    seeds = sorted(set(a) & set(b))
    p, power = _power(a, b, seeds, effect)
    deep = None
    if plan.deep_ensemble() is not None:
        d = by_arm.get(DEEP_ENSEMBLE_ARM, {})
        deep = _paired(a, d, sorted(set(a) & set(d)), "ensemble_acc")
    metric = diversity_metric(plan)
    return PairedResult(
        arm.name,
        base.name,
        seeds,
        _paired(a, b, seeds, "ensemble_acc"),
        p,
        math.nan,
        power,
        _mcnemar(correctness, arm.name, base.name, seeds),
        deep,
        metric,
        _paired(a, b, seeds, metric),
        {m: _paired(a, b, seeds, m) for m in CI_METRICS},
        "",
    )


def pair_arms(
    plan: ComparePlan, runs: list[Run], correctness: Correctness, effect: float = DEFAULT_EFFECT
) -> list[PairedResult]:
    """Each compared arm against its matched baseline over the seeds both completed; Holm over the arms.

    ``effect`` is also the equivalence margin: an arm is "equivalent" when the Holm-adjusted
    TOST against ±effect rejects (``sweep.stats.equivalence``).
    """
    by_arm = _complete_by_arm(runs)
    paired = [_one_arm(plan, arm, by_arm, correctness, effect) for arm in plan.arms if not arm.is_baseline]
    judged = judge_arms(
        [_differences(by_arm.get(p.arm, {}), by_arm.get(p.baseline, {}), p.seeds) for p in paired], effect
    )
    out = []
    for p, judgement in zip(paired, judged):
        p_holm = judgement.p_holm  # Holm over the arms' paired t p-values (each equals p.p_value)
        text = verdict_text(
            p.arm,
            p.baseline,
            p.ensemble_acc,
            p.p_value,
            p_holm,
            len(paired),
            p.power,
            p.deep_ensemble,
            (p.diversity_metric, p.diversity),
            judgement,
        )
        out.append(
            replace(
                p,
                p_holm=p_holm,
                text=text,
                tost=judgement.tost,
                p_tost_holm=judgement.p_tost_holm,
                simultaneous=judgement.simultaneous,
                verdict=judgement.verdict,
            )
        )
    return out


def headline(paired: list[PairedResult]) -> str:
    """The verdict for the arm with the largest mean ensemble-accuracy difference."""
    usable = [p for p in paired if p.ensemble_acc.n]
    if not usable:
        return "No adversarial arm finished paired runs with its baseline; nothing can be concluded yet."
    best = max(usable, key=lambda p: p.ensemble_acc.mean)
    return "The best adversarial arm by mean ensemble accuracy is " + best.arm + ". " + best.text
