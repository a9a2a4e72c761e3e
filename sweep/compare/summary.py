"""Compare mode's ``summary.md`` and its terminal text, written from the numbers. Pure: text out."""
from __future__ import annotations

from pathlib import Path

from sweep.compare.analysis import ARM_METRICS, ArmSummary, CompareReport
from sweep.formatting import md_table, num, text_table

__all__ = ["SUMMARY_MD", "summary_text", "terminal_text"]

SUMMARY_MD = "summary.md"
_FILES = ("runs.csv, correctness.npz (per-model per-example correctness), arms.csv, paired.csv, tpa.csv.")


def _mean_std(a: ArmSummary, metric: str) -> str:
    return f"{num(a.stats[metric].mean)} ± {num(a.stats[metric].std)}"


def _what_ran(report: CompareReport) -> list[str]:
    plan = report.plan
    arms = ", ".join(f"`{a.name}`" + (f" (sweep trial {a.source_trial})" if a.source_trial else "") for a in plan.arms)
    lines = ["## What ran", "",
             f"- sweep: `{plan.sweep_dir}`",
             f"- arms: {arms}",
             f"- seeds: {', '.join(map(str, plan.seeds))} (paired: seed s of every arm shares data order, "
             "augmentation and the first classifier's initialisation)",
             f"- runs: {sum(r.status == 'complete' for r in report.runs)} complete of "
             f"{len(plan.arms) * len(plan.seeds)} planned",
             ""]
    failed = [r for r in report.runs if r.status != "complete"]
    if failed:
        lines += ["Runs that did not complete:", ""]
        lines += [f"- {r.arm} seed {r.seed}: {r.status} ({r.reason})" for r in failed] + [""]
    return lines


def _tables(report: CompareReport) -> list[str]:
    arm_rows = [[a.arm.name, str(len(a.seeds)), *(_mean_std(a, m) for m in ARM_METRICS)] for a in report.arms]
    paired_rows = [
        [p.arm, p.baseline, str(len(p.seeds)), num(p.ensemble_acc.mean),
         f"[{num(p.ensemble_acc.low)}, {num(p.ensemble_acc.high)}]",
         f"{p.mcnemar.only_arm} / {p.mcnemar.only_baseline}", f"{p.mcnemar.p_value:.3g}",
         f"{p.diversity_metric} {num(p.diversity.mean)}"]
        for p in report.paired
    ]
    paired_header = ["arm", "baseline", "seeds", "Δ ensemble_acc", "95% CI", "McNemar (arm only / baseline only)",
                     "p", "Δ diversity"]
    return ["## Arms (mean ± std over seeds)", "", md_table(["arm", "seeds", *ARM_METRICS], arm_rows),
            "", "## Paired against the baseline", "", md_table(paired_header, paired_rows),
            "", "McNemar pools (seed, example) pairs over the paired seeds; the t interval is over seeds.", ""]


def summary_text(report: CompareReport) -> str:
    """The whole summary.md."""
    lines = [f"# Compare: {Path(report.plan.sweep_dir).name}", "", "## Verdict", "", report.headline, ""]
    lines += [f"- {p.text}" for p in report.paired]
    lines += ["", *_what_ran(report), *_tables(report)]
    lines += ["## TP-agreement (Let's Agree to Agree)", "",
              "Fraction of test examples that k of an arm's 2K models get right, and the same if the models "
              "erred independently with their own accuracies (Poisson-binomial). Mass moved from the ends "
              "(all right / all wrong) towards the middle means more diverse errors.", "",
              "![TP-agreement histograms](tpa_histograms.png)", "", "![Front](front.png)", "",
              "Files: " + _FILES]
    return "\n".join(lines) + "\n"


def terminal_text(report: CompareReport) -> str:
    """The per-arm table, the headline and where the files are."""
    rows = [[a.arm.name, str(len(a.seeds)), *(_mean_std(a, m) for m in ("ensemble_acc", "member_acc", "disagreement"))]
            for a in report.arms]
    table = text_table(["arm", "seeds", "ensemble_acc", "member_acc", "disagreement"], rows)
    return (f"\n{table}\n\n{report.headline}\n\nCompare results: {report.plan.compare_dir}  (summary.md, arms.csv, "
            "paired.csv, tpa.csv, tpa_histograms.png, front.png, runs.csv, correctness.npz)")
