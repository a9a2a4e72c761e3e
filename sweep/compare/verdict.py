"""Compare mode's verdict: one paragraph per arm, written from its paired numbers. Pure: numbers in, text out.

The paired t interval over seeds is the primary evidence; with several arms the
decision uses Holm's adjusted p-value. Every verdict also says which effects the
interval excludes, the minimum detectable difference at 80 % power for the seeds
run, and how many seeds would detect the smallest effect worth detecting
(docs/protocol.md section 6). With several arms the "excluded" sentence quotes the
simultaneous (Bonferroni) interval, which holds for all arms at once, and every
paragraph ends its evidence with the arm's word: better, worse, equivalent within the
registered margin (TOST, Holm over the arms), or undecided (``sweep.stats.equivalence``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sweep.stats.equivalence import ArmJudgement
from sweep.stats.paired import PairedCI
from sweep.stats.power import MAX_SEEDS, excluded_effects

__all__ = ["Power", "verdict_text"]

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True)
class Power:
    sd: float  # sample sd of the per-seed differences (fraction); NaN with < 2 seeds
    mde: float  # minimum detectable difference at POWER for the seeds run (fraction)
    effect: float  # the smallest effect worth detecting (fraction)
    seeds_needed: int | None  # seeds that detect `effect` at POWER; None: not estimable or > MAX_SEEDS


def _pp(x: float) -> str:
    return f"{100 * x:+.2f} pp"


def _ci(diff: PairedCI) -> str:
    return f"{100 * diff.confidence:.0f}% CI [{100 * diff.low:+.2f}, {100 * diff.high:+.2f}] pp"


def _head(arm: str, baseline: str, diff: PairedCI, p: float, p_holm: float, n_arms: int) -> str:
    tests = f"paired t p = {p:.3g}" + (f", Holm-adjusted over {n_arms} arms p = {p_holm:.3g}" if n_arms > 1 else "")
    evidence = f"{_ci(diff)}, {tests}" if math.isfinite(diff.low) else "no CI"
    significant = (
        math.isfinite(p_holm) and p_holm < ALPHA and math.isfinite(diff.low) and (diff.low > 0 or diff.high < 0)
    )
    over = f"over {diff.n} paired seeds ({evidence})"
    if significant and diff.mean > 0:
        return f"{arm} beats the {baseline} ensemble by {_pp(diff.mean)} in test ensemble accuracy {over}."
    if significant and diff.mean < 0:
        return f"{arm} is worse than the {baseline} ensemble by {_pp(-diff.mean)[1:]} in test ensemble accuracy {over}."
    if diff.n >= 2 and not math.isfinite(diff.low):
        return (
            f"No test is possible between {arm} and the {baseline} ensemble: every one of {diff.n} paired seeds "
            f"gave the same difference, {_pp(diff.mean)}, so the data give no interval (identical runs, or too "
            "few test images to differ?); check that the arms really differ before reading anything into it."
        )
    head = (
        f"No significant difference in test ensemble accuracy between {arm} and the {baseline} ensemble: "
        f"{_pp(diff.mean)} {over}."
    )
    return head + (" More seeds are needed for an interval." if not math.isfinite(diff.low) else "")


def _excluded(diff: PairedCI, judgement: ArmJudgement | None) -> str:
    """What the data exclude: from the simultaneous interval when several arms were compared.

    One-at-a-time 95 % intervals of m arms do not all hold together with 95 %
    probability; a reader takes "excluded" as a statement about the family, so it
    quotes Bonferroni's interval (each at 1 - 0.05 / m), which does.
    """
    if judgement is None or judgement.m < 2:
        excluded = excluded_effects(diff.low, diff.high, confidence=diff.confidence)
        return " " + excluded[0].upper() + excluded[1:] + "."
    sim = judgement.simultaneous
    excluded = excluded_effects(sim.low, sim.high, confidence=diff.confidence)
    if not (math.isfinite(sim.low) and math.isfinite(sim.high)):
        return " " + excluded[0].upper() + excluded[1:] + "."
    return (
        f" {excluded[0].upper() + excluded[1:]} simultaneously over the {judgement.m} arms (Bonferroni: "
        f"each arm's interval at {100 * sim.confidence:.4g} %)."
    )


def _word(judgement: ArmJudgement) -> str:
    tost = judgement.tost
    if not math.isfinite(tost.p):
        return f" Verdict: {judgement.verdict} (no equivalence test without two seeds that vary)."
    holm_part = f", Holm-adjusted over {judgement.m} arms p = {judgement.p_tost_holm:.3g}" if judgement.m > 1 else ""
    return f" Verdict: {judgement.verdict} (TOST against ±{100 * tost.delta:.2f} pp: p = {tost.p:.3g}{holm_part})."


def _power(power: Power, n: int) -> str:
    if not math.isfinite(power.mde):
        return " Power cannot be estimated without two seeds that vary."
    needed = f"detecting {_pp(power.effect)} would take {power.seeds_needed or f'more than {MAX_SEEDS}'} seeds"
    return (
        f" With {n} seeds (sd of the paired differences {100 * power.sd:.2f} pp) the minimum detectable "
        f"difference at {100 * POWER:.0f} % power is {100 * power.mde:.2f} pp; {needed}."
    )


def verdict_text(
    arm: str,
    baseline: str,
    diff: PairedCI,
    p: float,
    p_holm: float,
    n_arms: int,
    power: Power,
    deep: PairedCI | None = None,
    diversity: tuple[str, PairedCI] | None = None,
    judgement: ArmJudgement | None = None,
) -> str:
    """The paragraph on ``arm`` vs ``baseline`` (and the deep ensemble, when it ran).

    ``judgement`` (``sweep.stats.equivalence.judge_arms``) adds the simultaneous
    interval to the "excluded" sentence and the arm's verdict word with its TOST p.
    """
    if diff.n == 0:
        return f"No paired runs of {arm} and {baseline} finished, so nothing can be said."
    text = _head(arm, baseline, diff, p, p_holm, n_arms)
    text += _excluded(diff, judgement)
    if judgement is not None:
        text += _word(judgement)
    text += _power(power, diff.n)
    if deep is not None and deep.n:
        span = f" ({_ci(deep)})" if math.isfinite(deep.low) else ""
        text += f" Against the deep ensemble: {_pp(deep.mean)}{span}."
    if diversity is not None and diversity[1].n:
        name, d = diversity
        span = f" (CI [{d.low:+.4f}, {d.high:+.4f}])" if math.isfinite(d.low) else ""
        text += f" Its {name} differs by {d.mean:+.4f}{span}."
    return text
