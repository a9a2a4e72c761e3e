"""Compare mode's report: tables, figures and the verdict, from the compare folder alone.

Writes into ``<sweep>/compare/``:

* ``runs.csv``, ``correctness.npz``  every run, and every model's per-example test
  correctness (``sweep.compare.gather``);
* ``arms.csv``      per arm, mean and std over seeds of every pair metric;
* ``paired.csv``    each arm against its baseline: ensemble-accuracy difference with
  a 95% CI over seeds, exact McNemar on the pooled per-example ensemble
  correctness, and the difference in the sweep's diversity objective;
* ``tpa.csv``, ``tpa_histograms.png``  the TP-agreement histogram of each arm over all
  its 2K models, with the histogram expected if they erred independently;
* ``front.png``     the sweep's front with the compare arms (mean ± std) and the
  baseline marked;
* ``summary.md``    all of the above and a verdict written from the numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sweep.compare.analysis import (
    ARM_METRICS,
    ArmSummary,
    CompareReport,
    PairedResult,
    headline,
    pair_arms,
    summarise_arms,
)
from sweep.compare.gather import gather_runs, read_correctness
from sweep.compare.plan import ComparePlan
from sweep.compare.plots import plot_front, plot_tpa
from sweep.compare.summary import SUMMARY_MD, summary_text, terminal_text
from sweep.errors import UserError
from sweep.formatting import write_csv

__all__ = ["ARMS_CSV", "PAIRED_CSV", "TPA_CSV", "write_compare_report", "print_compare"]

ARMS_CSV = "arms.csv"
PAIRED_CSV = "paired.csv"
TPA_CSV = "tpa.csv"


def _write_arms_csv(path: Path, arms: list[ArmSummary]) -> None:
    stats = [f"{m}_{s}" for m in ARM_METRICS for s in ("mean", "std")]
    header = ["arm", "source_trial", "objective", "n_seeds", *stats]
    rows = [[a.arm.name, a.arm.source_trial, a.arm.config.get("objective", ""), len(a.seeds),
             *[v for m in ARM_METRICS for v in (a.stats[m].mean, a.stats[m].std)]] for a in arms]
    write_csv(path, header, rows)


def _write_paired_csv(path: Path, paired: list[PairedResult]) -> None:
    header = ["arm", "baseline", "n_seeds", "ensemble_acc_diff", "ci95_low", "ci95_high",
              "mcnemar_only_arm", "mcnemar_only_baseline", "mcnemar_p", "diversity_metric",
              "diversity_diff", "diversity_ci95_low", "diversity_ci95_high"]
    rows = [[p.arm, p.baseline, len(p.seeds), p.ensemble_acc.mean, p.ensemble_acc.low, p.ensemble_acc.high,
             p.mcnemar.only_arm, p.mcnemar.only_baseline, p.mcnemar.p_value, p.diversity_metric,
             p.diversity.mean, p.diversity.low, p.diversity.high] for p in paired]
    write_csv(path, header, rows)


def _write_tpa_csv(path: Path, arms: list[ArmSummary]) -> None:
    rows = []
    for a in arms:
        m = len(a.tpa_observed) - 1  # models of the arm: 2 per completed seed
        rows += [[a.arm.name, m, k, k / m if m else None, float(a.tpa_observed[k]), float(a.tpa_expected[k])]
                 for k in range(len(a.tpa_observed))]
    write_csv(path, ["arm", "models", "k_right", "tpa", "observed", "expected_if_independent"], rows)


def write_compare_report(plan: ComparePlan) -> CompareReport:
    """Gather the runs and (re)write every compare file; see the module doc."""
    folder = Path(plan.compare_dir)
    runs = gather_runs(plan)
    correctness = read_correctness(plan)
    arms, paired = summarise_arms(plan, runs, correctness), pair_arms(plan, runs, correctness)
    report = CompareReport(plan, runs, arms, paired, headline(paired))
    writers: dict[str, Callable[[Path], None]] = {
        ARMS_CSV: lambda p: _write_arms_csv(p, arms),
        PAIRED_CSV: lambda p: _write_paired_csv(p, paired),
        TPA_CSV: lambda p: _write_tpa_csv(p, arms),
        "tpa_histograms.png": lambda p: plot_tpa(p, arms),
        "front.png": lambda p: plot_front(p, plan, arms),
        SUMMARY_MD: lambda p: p.write_text(summary_text(report), encoding="utf-8"),
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
