"""Compare mode's report: tables, figures and the verdict, from the compare folder alone.

Writes into ``<sweep>/compare/``:

* ``runs.csv``, ``correctness.npz``  every run, and every model's per-example test
  correctness (``sweep.compare.gather``);
* ``arms.csv``      per arm, mean and std over seeds of every pair metric (``disc_acc``:
  the trained discriminator's balanced accuracy on *test* pairs, read with the test
  metrics), and ``lowest_member_acc``, the weakest of the arm's 2K members;
* ``paired.csv``    each arm against its matched baseline, all on the test split: the
  ensemble-accuracy difference with its paired t 95% CI over seeds (the primary
  test), its p-value and Holm's adjustment over the arms, the sd of the paired
  differences, the minimum detectable difference at 80 % power and the seeds that
  would detect ``effect``; the difference against the deep ensemble; paired CIs of
  CI_METRICS and of the sweep's diversity objective; then (added at the end) the TOST
  p-value against ±``effect`` and its Holm adjustment, the simultaneous (Bonferroni)
  interval over the arms with its per-arm level, and the arm's verdict word;
* ``mcnemar.csv``   exact McNemar per seed, arm against baseline (descriptive only);
* ``tpa_within_pair.csv``, ``tpa_within_pair.png``  per seed, the fraction of test
  images 0, 1 or 2 of the pair's members get right, arm beside its baseline (M = 2);
* ``tpa.csv``       the pooled TP-agreement histogram of each arm over all its 2K
  models, with the one expected if they erred independently (kept as a table);
* ``front.png``     the sweep's front with the compare arms (mean ± std) and the
  baseline marked;
* ``summary.md``    all of the above and a verdict written from the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sweep.compare.analysis import (
    ARM_METRICS,
    CI_METRICS,
    DEFAULT_EFFECT,
    ArmSummary,
    CompareReport,
    PairedResult,
    headline,
    pair_arms,
    summarise_arms,
)
from sweep.compare.gather import gather_runs, read_correctness
from sweep.compare.plan import ComparePlan
from sweep.compare.plots import plot_front, plot_within_pair
from sweep.compare.summary import SUMMARY_MD, summary_text, terminal_text
from sweep.errors import UserError
from sweep.folders import replacing, write_csv, write_text_atomically
from sweep.report.provenance_block import provenance_block, registration_lead
from sweep.stats.paired import PairedCI

__all__ = [
    "ARMS_CSV",
    "PAIRED_CSV",
    "MCNEMAR_CSV",
    "TPA_CSV",
    "WITHIN_PAIR_CSV",
    "WITHIN_PAIR_PNG",
    "write_compare_report",
    "print_compare",
]

ARMS_CSV = "arms.csv"
PAIRED_CSV = "paired.csv"
MCNEMAR_CSV = "mcnemar.csv"
TPA_CSV = "tpa.csv"
WITHIN_PAIR_CSV = "tpa_within_pair.csv"
WITHIN_PAIR_PNG = "tpa_within_pair.png"


def _write_arms_csv(path: Path, arms: list[ArmSummary]) -> None:
    stats = [f"{m}_{s}" for m in ARM_METRICS for s in ("mean", "std")]
    header = ["arm", "source_trial", "objective", "n_seeds", *stats]
    rows = [
        [
            a.arm.name,
            a.arm.source_trial,
            a.arm.config.get("objective", ""),
            len(a.seeds),
            *[v for m in ARM_METRICS for v in (a.stats[m].mean, a.stats[m].std)],
            a.lowest_member,
        ]
        for a in arms
    ]
    write_csv(path, [*header, "lowest_member_acc"], rows)


def _ci_cells(ci: PairedCI | None) -> list[float | None]:
    return [None, None, None] if ci is None else [ci.mean, ci.low, ci.high]


def _write_paired_csv(path: Path, paired: list[PairedResult]) -> None:
    header = [
        "arm",
        "baseline",
        "n_seeds",
        "ensemble_acc_diff",
        "ci95_low",
        "ci95_high",
        "t_p",
        "holm_p",
        "sd_diff",
        "mde80",
        "effect",
        "seeds_needed",
        "deep_ensemble_diff",
        "deep_ensemble_ci95_low",
        "deep_ensemble_ci95_high",
        *(f"{m}_{k}" for m in CI_METRICS for k in ("diff", "ci95_low", "ci95_high")),
        "diversity_metric",
        "diversity_diff",
        "diversity_ci95_low",
        "diversity_ci95_high",
        # Added after the columns above, so readers of older files find those where they were.
        "tost_p",
        "tost_holm_p",
        "sim_ci_low",
        "sim_ci_high",
        "sim_ci_level",
        "verdict",
    ]
    rows = [
        [
            p.arm,
            p.baseline,
            len(p.seeds),
            *_ci_cells(p.ensemble_acc),
            p.p_value,
            p.p_holm,
            p.power.sd,
            p.power.mde,
            p.power.effect,
            p.power.seeds_needed,
            *_ci_cells(p.deep_ensemble),
            *(v for m in CI_METRICS for v in _ci_cells(p.metrics[m])),
            p.diversity_metric,
            *_ci_cells(p.diversity),
            p.tost.p if p.tost else None,
            p.p_tost_holm,
            *(_ci_cells(p.simultaneous)[1:]),
            p.simultaneous.confidence if p.simultaneous else None,
            p.verdict,
        ]
        for p in paired
    ]
    write_csv(path, header, rows)


def _write_mcnemar_csv(path: Path, paired: list[PairedResult]) -> None:
    rows = [
        [p.arm, p.baseline, seed, m.only_arm, m.only_baseline, m.p_value]
        for p in paired
        for seed, m in sorted(p.mcnemar.items())
    ]
    write_csv(path, ["arm", "baseline", "seed", "only_arm", "only_baseline", "exact_p"], rows)


def _write_within_pair_csv(path: Path, arms: list[ArmSummary]) -> None:
    rows = [
        [a.arm.name, seed, *(float(v) for v in fractions)]
        for a in arms
        for seed, fractions in sorted(a.within_pair.items())
    ]
    write_csv(path, ["arm", "seed", "both_wrong", "one_right", "both_right"], rows)


def _write_tpa_csv(path: Path, arms: list[ArmSummary]) -> None:
    rows = []
    for a in arms:
        m = len(a.tpa_observed) - 1  # models of the arm: 2 per completed seed
        rows += [
            [a.arm.name, m, k, k / m if m else None, float(a.tpa_observed[k]), float(a.tpa_expected[k])]
            for k in range(len(a.tpa_observed))
        ]
    write_csv(path, ["arm", "models", "k_right", "tpa", "observed", "expected_if_independent"], rows)


def _whole(path: Path, write: Callable[[Path], None]) -> None:
    """``write`` into a temporary file, renamed over ``path`` when it is done (never through a link)."""
    with replacing(path) as tmp:
        write(tmp)


def write_compare_report(
    plan: ComparePlan, effect: float = DEFAULT_EFFECT, first: Callable[[CompareReport], list[str]] | None = None
) -> CompareReport:
    """Gather the runs and (re)write every compare file; see the module doc.

    ``effect`` is the smallest ensemble-accuracy difference worth detecting (a fraction);
    ``first`` gives summary.md's lines before the verdict from the report (a sequential study's decision).
    """
    folder = Path(plan.compare_dir)
    runs = gather_runs(plan)
    correctness = read_correctness(plan)
    arms, paired = summarise_arms(plan, runs, correctness), pair_arms(plan, runs, correctness, effect)
    report = CompareReport(plan, runs, arms, paired, headline(paired))
    writers: dict[str, Callable[[Path], None]] = {
        ARMS_CSV: lambda p: _write_arms_csv(p, arms),
        PAIRED_CSV: lambda p: _write_paired_csv(p, paired),
        MCNEMAR_CSV: lambda p: _write_mcnemar_csv(p, paired),
        TPA_CSV: lambda p: _write_tpa_csv(p, arms),
        WITHIN_PAIR_CSV: lambda p: _write_within_pair_csv(p, arms),
        WITHIN_PAIR_PNG: lambda p: _whole(p, lambda tmp: plot_within_pair(tmp, plan, arms)),
        "front.png": lambda p: _whole(p, lambda tmp: plot_front(tmp, plan, arms)),
        SUMMARY_MD: lambda p: write_text_atomically(
            p, summary_text(report, registration_lead(folder), provenance_block(folder), first(report) if first else ())
        ),
    }
    try:
        for name, write in writers.items():
            write(folder / name)
            report.files[name] = folder / name
    except OSError as error:
        raise UserError(f"{folder}: cannot write the compare report there ({type(error).__name__}: {error})") from None
    return report


def print_compare(report: CompareReport) -> None:
    print(terminal_text(report))
