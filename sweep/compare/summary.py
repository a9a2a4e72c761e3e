"""Compare mode's ``summary.md`` and its terminal text, written from the numbers. Pure: text out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sweep.compare.analysis import ARM_METRICS, CI_METRICS, ArmSummary, CompareReport, PairedResult
from sweep.formatting import md_table, num, text_table
from sweep.stats.paired import PairedCI

__all__ = ["SUMMARY_MD", "summary_text", "terminal_text"]

SUMMARY_MD = "summary.md"
_FILES = (
    "runs.csv, correctness.npz (per-model per-example correctness), arms.csv, paired.csv, mcnemar.csv, "
    "tpa_within_pair.csv, tpa.csv (pooled over an arm's 2K models)."
)


# compare's disc_acc is the trained D scored on test pairs (the run's test_disc_acc, sweep.compare.gather),
# not the validation pairs a sweep reports it on: the tables say so where they show it.
_ARM_LABELS = {"disc_acc": "disc_acc (test pairs)"}


def _mean_std(a: ArmSummary, metric: str) -> str:
    return f"{num(a.stats[metric].mean)} ± {num(a.stats[metric].std)}"


def _p(value: float) -> str:
    return f"{value:.3g}"


def _what_ran(report: CompareReport) -> list[str]:
    plan = report.plan
    arms = ", ".join(f"`{a.name}`" + (f" (sweep trial {a.source_trial})" if a.source_trial else "") for a in plan.arms)
    lines = [
        "## What ran",
        "",
        f"- study: `{plan.study}` (its file as run: `study.yaml` in this folder)"
        if plan.study
        else f"- sweep: `{plan.sweep_dir}`",
        f"- arms: {arms}",
        f"- seeds: {', '.join(map(str, plan.seeds))} (paired: seed s of every arm shares data order, "
        "augmentation and the first classifier's initialisation)",
        f"- runs: {sum(r.status == 'complete' for r in report.runs)} complete of "
        f"{len(plan.arms) * len(plan.seeds)} planned",
        "",
    ]
    failed = [r for r in report.runs if r.status != "complete"]
    if failed:
        lines += ["Runs that did not complete:", ""]
        lines += [f"- {r.arm} seed {r.seed}: {r.status} ({r.reason})" for r in failed] + [""]
    return lines


def _ci(ci: PairedCI | None) -> str:
    if ci is None or not ci.n:
        return "-"
    return f"{num(ci.mean)} [{num(ci.low)}, {num(ci.high)}]"


def _paired_rows(paired: list[PairedResult]) -> list[list[str]]:
    return [
        [
            p.arm,
            p.baseline,
            str(len(p.seeds)),
            _ci(p.ensemble_acc),
            f"{p.p_value:.3g}",
            f"{p.p_holm:.3g}",
            num(p.power.mde),
            str(p.power.seeds_needed or "-"),
            _ci(p.deep_ensemble),
            _p(p.tost.p) if p.tost else "-",
            _p(p.p_tost_holm),
            _ci(p.simultaneous),
            p.verdict or "-",
        ]
        for p in paired
    ]


def _tables(report: CompareReport) -> list[str]:
    arm_rows = [
        [a.arm.name, str(len(a.seeds)), *(_mean_std(a, m) for m in ARM_METRICS), num(a.lowest_member)]
        for a in report.arms
    ]
    paired_header = [
        "arm",
        "baseline",
        "seeds",
        "Δ ensemble_acc [95% CI]",
        "paired t p",
        "Holm p",
        "MDE 80%",
        "seeds for effect",
        "Δ vs deep ensemble [95% CI]",
        "TOST p",
        "TOST Holm p",
        "Δ ensemble_acc [simultaneous CI]",
        "verdict",
    ]
    metric_rows = [[p.arm, *(_ci(p.metrics[m]) for m in CI_METRICS)] for p in report.paired]
    mcnemar_rows = [
        [p.arm, str(seed), f"{m.only_arm} / {m.only_baseline}", f"{m.p_value:.3g}"]
        for p in report.paired
        for seed, m in sorted(p.mcnemar.items())
    ]
    return [
        "## Arms (mean ± std over seeds, test split)",
        "",
        md_table(["arm", "seeds", *(_ARM_LABELS.get(m, m) for m in ARM_METRICS), "lowest member"], arm_rows),
        "",
        "Members: `member_acc` is the mean of each pair's two members and `min_member_acc` the weaker of the "
        "two (each mean ± std over seeds); `lowest member` is the lowest test accuracy of any one of the "
        "arm's members. `disc_acc (test pairs)`: the trained discriminator's balanced accuracy on test pairs, "
        "scored once after the last epoch (a sweep reports it on validation pairs).",
        "",
        "## Paired against the matched baseline (test split)",
        "",
        md_table(paired_header, _paired_rows(report.paired)),
        "",
        "The paired t interval over seeds is the primary test; Holm's correction runs over the compared arms. "
        "MDE: the smallest true difference found with 80 % power with these seeds (from the observed sd "
        "of the paired differences).",
        "",
        "Verdict: *better* or *worse* when the Holm-adjusted paired t p is below 0.05 (the sign of the mean "
        "says which); else *equivalent within ±effect* when the Holm-adjusted TOST p is below 0.05 (the two "
        "one-sided paired t-tests against the smallest effect worth detecting both reject); else *undecided*. "
        "The simultaneous interval is Bonferroni's (each arm at 1 − 0.05 / m, m = arms with a test), so all "
        "arms' intervals hold together at 95 %; the verdicts' \"excluded\" sentences quote it.",
        "",
        "### Paired intervals of the diversity and redundancy measures (arm − baseline)",
        "",
        md_table(["arm", *CI_METRICS], metric_rows),
        "",
        "### Exact McNemar per seed (descriptive only)",
        "",
        md_table(["arm", "seed", "only arm / only baseline", "p"], mcnemar_rows),
        "",
        "Pooling (seed, example) pairs would treat the same test image under different seeds as independent, "
        "which is anti-conservative; these per-seed figures are not a test of the method.",
        "",
    ]


def _split_note(report: CompareReport) -> list[str]:
    old = [f"{r.arm} seed {r.seed}" for r in report.runs if r.status == "complete" and r.split != "test"]
    if not old:
        return []
    return [
        f"> **Note:** {', '.join(old)} reported no `test_` metrics (run before `final_test` existed); their "
        "plain metrics were used, which netsep measured on the test split before it had a validation split.",
        "",
    ]


def summary_text(
    report: CompareReport, lead: Sequence[str] = (), provenance: Sequence[str] = (), first: Sequence[str] = ()
) -> str:
    """The whole summary.md; ``lead`` opens it (a study that was not pre-registered), ``provenance``
    follows "What ran" (``sweep.report.provenance_block``), ``first`` comes before the verdict (a
    sequential study's registered decision, ``sweep.study.sequential``)."""
    lines = [
        *lead,
        f"# Study: {report.plan.study}" if report.plan.study else f"# Compare: {Path(report.plan.sweep_dir).name}",
        "",
        *_split_note(report),
        *first,
        "## Verdict",
        "",
        report.headline,
        "",
    ]
    lines += [f"- {p.text}" for p in report.paired]
    lines += ["", *_what_ran(report), *provenance, *_tables(report)]
    lines += [
        "## Within-pair TP-agreement (M = 2)",
        "",
        "Per seed, the fraction of test images both members get wrong, exactly one gets right, and both get "
        "right, each arm beside its matched baseline (bars: mean over seeds; dots: seeds). Only the two "
        "members of one pair are counted: those are the models the adversarial term acted on.",
        "",
        "![Within-pair TP-agreement](tpa_within_pair.png)",
        "",
        "![Front](front.png)",
        "",
        "Files: " + _FILES,
    ]
    return "\n".join(lines) + "\n"


def terminal_text(report: CompareReport) -> str:
    """The per-arm table (members as mean and lowest), the headline, each arm's verdict and where the files are."""
    rows = [
        [
            a.arm.name,
            str(len(a.seeds)),
            _mean_std(a, "ensemble_acc"),
            _mean_std(a, "member_acc"),
            num(a.lowest_member),
            _mean_std(a, "disagreement"),
        ]
        for a in report.arms
    ]
    table = text_table(["arm", "seeds", "ensemble_acc", "member_acc_mean", "member_acc_lowest", "disagreement"], rows)
    verdicts = "".join(f"\n  {p.arm}: {p.verdict}" for p in report.paired if p.verdict)
    verdicts = f"\n\nVerdicts (against the matched baseline):{verdicts}" if verdicts else ""
    return (
        f"\n{table}\n\n{report.headline}{verdicts}\n\nCompare results: {report.plan.compare_dir}  (summary.md, arms.csv, "
        "paired.csv, mcnemar.csv, tpa_within_pair.csv, tpa_within_pair.png, tpa.csv, front.png, runs.csv, "
        "correctness.npz)"
    )
