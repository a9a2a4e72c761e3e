"""The compare mode's report: tables, figures and the verdict, from the compare folder alone.

Writes into ``<sweep>/compare/``:

* ``runs.csv``, ``correctness.npz``  every run, and every model's per-example test
  correctness (``sweep.compare.write_runs``);
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

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sweep.compare import CORRECTNESS_NPZ, Arm, ComparePlan, Run, collect_runs, write_runs
from sweep.compare_stats import McNemar, MeanStd, PairedCI, mcnemar_exact, mean_std, paired_ci, verdict

__all__ = ["ARM_METRICS", "ArmSummary", "PairedResult", "CompareReport", "write_compare_report", "print_compare"]

# Per-arm table, in DESIGN §4's order.
ARM_METRICS = ("member_acc", "min_member_acc", "ensemble_acc", "ensemble_gain", "disagreement", "double_fault",
               "excess_agreement", "q_statistic", "cka", "ensemble_nll", "ece", "disc_acc")


@dataclass
class ArmSummary:
    arm: Arm
    seeds: list[int]  # seeds whose run completed
    stats: dict[str, MeanStd]
    tpa_observed: np.ndarray  # [2K + 1]
    tpa_expected: np.ndarray


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


def _diversity_metric(plan: ComparePlan) -> str:
    """The sweep's diversity objective (its first non-accuracy one), else disagreement."""
    for metric in plan.objectives:
        if "acc" not in metric:
            return metric
    return "disagreement"


def _correctness(plan: ComparePlan) -> tuple[dict[tuple[str, int], int], np.ndarray, np.ndarray]:
    data = np.load(Path(plan.compare_dir) / CORRECTNESS_NPZ, allow_pickle=False)
    index = {(key.rsplit("/", 1)[0], int(key.rsplit("/", 1)[1])): i for i, key in enumerate(data["run_index"])}
    return index, data["member_correct"], data["ensemble_correct"]


def _summarise(plan: ComparePlan, runs: list[Run]) -> tuple[list[ArmSummary], list[PairedResult]]:
    from trainable.outputs import tpa_histograms

    index, member, ensemble = _correctness(plan)
    by_arm: dict[str, dict[int, Run]] = {}
    for run in runs:
        if run.status == "complete":
            by_arm.setdefault(run.arm, {})[run.seed] = run
    summaries = []
    for arm in plan.arms:
        done = by_arm.get(arm.name, {})
        seeds = sorted(done)
        stats = {m: mean_std([done[s].metrics.get(m, math.nan) for s in seeds]) for m in ARM_METRICS}
        if seeds:
            models = np.concatenate([member[index[(arm.name, s)]] for s in seeds])  # [2K, N]
            observed, expected = tpa_histograms(models)
        else:
            observed = expected = np.zeros(0)
        summaries.append(ArmSummary(arm, seeds, stats, observed, expected))

    metric = _diversity_metric(plan)
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
            test = mcnemar_exact(np.concatenate([ensemble[index[(arm.name, s)]] for s in seeds]),
                                 np.concatenate([ensemble[index[(base.name, s)]] for s in seeds]))
        else:
            test = McNemar(0, 0, math.nan)
        text = verdict(arm.name, base.name, acc, test, metric, div)
        paired.append(PairedResult(arm.name, base.name, seeds, acc, test, metric, div, text))
    return summaries, paired


def _headline(paired: list[PairedResult]) -> str:
    """The verdict for the arm with the largest mean ensemble-accuracy difference."""
    usable = [p for p in paired if p.ensemble_acc.n]
    if not usable:
        return "No adversarial arm finished paired runs with its baseline; nothing can be concluded yet."
    best = max(usable, key=lambda p: p.ensemble_acc.mean)
    return ("The best adversarial arm by mean ensemble accuracy is " + best.arm + ". " + best.text)


# -------------------------------------------------------------------------- files
def _num(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "nan"


def _write_arms_csv(path: Path, arms: list[ArmSummary]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arm", "source_trial", "objective", "n_seeds",
                    *[f"{m}_{s}" for m in ARM_METRICS for s in ("mean", "std")]])
        for a in arms:
            w.writerow([a.arm.name, a.arm.source_trial, a.arm.config.get("objective", ""), len(a.seeds),
                        *[v for m in ARM_METRICS for v in (_num(a.stats[m].mean, 6), _num(a.stats[m].std, 6))]])


def _write_paired_csv(path: Path, paired: list[PairedResult]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arm", "baseline", "n_seeds", "ensemble_acc_diff", "ci95_low", "ci95_high",
                    "mcnemar_only_arm", "mcnemar_only_baseline", "mcnemar_p", "diversity_metric",
                    "diversity_diff", "diversity_ci95_low", "diversity_ci95_high"])
        for p in paired:
            w.writerow([p.arm, p.baseline, len(p.seeds), _num(p.ensemble_acc.mean, 6), _num(p.ensemble_acc.low, 6),
                        _num(p.ensemble_acc.high, 6), p.mcnemar.only_arm, p.mcnemar.only_baseline,
                        f"{p.mcnemar.p_value:.6g}", p.diversity_metric, _num(p.diversity.mean, 6),
                        _num(p.diversity.low, 6), _num(p.diversity.high, 6)])


def _write_tpa_csv(path: Path, arms: list[ArmSummary]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arm", "models", "k_right", "tpa", "observed", "expected_if_independent"])
        for a in arms:
            m = len(a.tpa_observed) - 1
            for k in range(len(a.tpa_observed)):
                w.writerow([a.arm.name, m, k, _num(k / m, 4) if m else "", _num(a.tpa_observed[k], 6),
                            _num(a.tpa_expected[k], 6)])


def _plot_tpa(path: Path, arms: list[ArmSummary]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [a for a in arms if len(a.tpa_observed)]
    fig, axes = plt.subplots(1, max(1, len(shown)), figsize=(4.2 * max(1, len(shown)), 3.6), squeeze=False,
                             sharey=True)
    for ax, a in zip(axes[0], shown):
        m = len(a.tpa_observed) - 1
        x = np.arange(m + 1) / m
        ax.bar(x, a.tpa_observed, width=0.8 / m, color="tab:blue" if not a.arm.is_baseline else "tab:gray",
               label="observed")
        ax.plot(x, a.tpa_expected, "o--", color="tab:red", label="if independent")
        ax.set_yscale("log")
        ax.set_title(f"{a.arm.name} ({m} models)")
        ax.set_xlabel("TP-agreement (fraction of models right)")
    axes[0][0].set_ylabel("fraction of test examples")
    axes[0][0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _plot_front(path: Path, plan: ComparePlan, arms: list[ArmSummary]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sweep.results import read_trials

    x_metric = plan.objectives[0]
    y_metric = plan.objectives[1] if len(plan.objectives) > 1 else _diversity_metric(plan)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    try:
        _, _, trials, _ = read_trials(plan.sweep_dir)
    except Exception:  # the sweep folder moved: the arms alone still make the figure
        trials = []
    done = [t for t in trials if t.status == "complete" and not t.is_baseline]
    ax.scatter([t.value(x_metric) for t in done], [t.value(y_metric) for t in done], s=18, color="0.75",
               label="sweep trials (sweep seed)")
    for a in arms:
        if not a.seeds:
            continue
        sx, sy = a.stats.get(x_metric), a.stats.get(y_metric)
        if sx is None or sy is None:
            continue
        ax.errorbar(sx.mean, sy.mean, xerr=0 if math.isnan(sx.std) else sx.std,
                    yerr=0 if math.isnan(sy.std) else sy.std, fmt="*" if a.arm.is_baseline else "o",
                    markersize=12 if a.arm.is_baseline else 8, capsize=3,
                    color="black" if a.arm.is_baseline else None,
                    label=f"{a.arm.name} (mean ± std, {len(a.seeds)} seeds)")
    arrow = {"max": "higher is better", "min": "lower is better"}
    dirs = dict(zip(plan.objectives, plan.directions))
    ax.set_xlabel(f"{x_metric} ({arrow.get(dirs.get(x_metric, 'max'))})")
    ax.set_ylabel(f"{y_metric} ({arrow.get(dirs.get(y_metric, 'max'), '')})")
    ax.legend(fontsize=8)
    ax.set_title("Sweep front and retrained arms")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _summary_md(report: CompareReport) -> str:
    plan = report.plan
    lines = [f"# Compare: {Path(plan.sweep_dir).name}", "", "## Verdict", "", report.headline, ""]
    for p in report.paired:
        lines += [f"- {p.text}"]
    lines += ["", "## What ran", "",
              f"- sweep: `{plan.sweep_dir}`",
              f"- arms: " + ", ".join(f"`{a.name}`" + (f" (sweep trial {a.source_trial})" if a.source_trial else "")
                                      for a in plan.arms),
              f"- seeds: {', '.join(map(str, plan.seeds))} (paired: seed s of every arm shares data order, "
              "augmentation and the first classifier's initialisation)",
              f"- runs: {sum(r.status == 'complete' for r in report.runs)} complete of "
              f"{len(plan.arms) * len(plan.seeds)} planned",
              ""]
    failed = [r for r in report.runs if r.status != "complete"]
    if failed:
        lines += ["Runs that did not complete:", ""] + [f"- {r.arm} seed {r.seed}: {r.status} ({r.reason})"
                                                        for r in failed] + [""]
    lines += ["## Arms (mean ± std over seeds)", "",
              "| arm | seeds | " + " | ".join(ARM_METRICS) + " |",
              "|---|---|" + "---|" * len(ARM_METRICS)]
    for a in report.arms:
        cells = [f"{_num(a.stats[m].mean)} ± {_num(a.stats[m].std)}" for m in ARM_METRICS]
        lines.append(f"| {a.arm.name} | {len(a.seeds)} | " + " | ".join(cells) + " |")
    lines += ["", "## Paired against the baseline", "",
              "| arm | baseline | seeds | Δ ensemble_acc | 95% CI | McNemar (arm only / baseline only) | p | Δ diversity |",
              "|---|---|---|---|---|---|---|---|"]
    for p in report.paired:
        ci = f"[{_num(p.ensemble_acc.low)}, {_num(p.ensemble_acc.high)}]"
        lines.append(f"| {p.arm} | {p.baseline} | {len(p.seeds)} | {_num(p.ensemble_acc.mean)} | {ci} | "
                     f"{p.mcnemar.only_arm} / {p.mcnemar.only_baseline} | {p.mcnemar.p_value:.3g} | "
                     f"{p.diversity_metric} {_num(p.diversity.mean)} |")
    lines += ["", "McNemar pools (seed, example) pairs over the paired seeds; the t interval is over seeds.", "",
              "## TP-agreement (Let's Agree to Agree)", "",
              "Fraction of test examples that k of an arm's 2K models get right, and the same if the models "
              "erred independently with their own accuracies (Poisson-binomial). Mass moved from the ends "
              "(all right / all wrong) towards the middle means more diverse errors.", "",
              "![TP-agreement histograms](tpa_histograms.png)", "", "![Front](front.png)", "",
              "Files: runs.csv, correctness.npz (per-model per-example correctness), arms.csv, paired.csv, tpa.csv."]
    return "\n".join(lines) + "\n"


def write_compare_report(plan: ComparePlan) -> CompareReport:
    folder = Path(plan.compare_dir)
    runs = collect_runs(plan)
    write_runs(plan, runs)
    arms, paired = _summarise(plan, runs)
    report = CompareReport(plan, runs, arms, paired, _headline(paired))
    writers = {
        "arms.csv": lambda p: _write_arms_csv(p, arms),
        "paired.csv": lambda p: _write_paired_csv(p, paired),
        "tpa.csv": lambda p: _write_tpa_csv(p, arms),
        "tpa_histograms.png": lambda p: _plot_tpa(p, arms),
        "front.png": lambda p: _plot_front(p, plan, arms),
    }
    for name, write in writers.items():
        write(folder / name)
        report.files[name] = folder / name
    (folder / "summary.md").write_text(_summary_md(report), encoding="utf-8")
    report.files["summary.md"] = folder / "summary.md"
    return report


def print_compare(report: CompareReport) -> None:
    print()
    print(f"{'arm':<18}{'seeds':>6}  {'ensemble_acc':>16}  {'member_acc':>16}  {'disagreement':>16}")
    for a in report.arms:
        cell = lambda m: f"{_num(a.stats[m].mean)} ± {_num(a.stats[m].std)}"  # noqa: E731
        print(f"{a.arm.name:<18}{len(a.seeds):>6}  {cell('ensemble_acc'):>16}  {cell('member_acc'):>16}  "
              f"{cell('disagreement'):>16}")
    print()
    print(report.headline)
    print(f"\nCompare results: {report.plan.compare_dir}  (summary.md, arms.csv, paired.csv, tpa.csv, "
          "tpa_histograms.png, front.png, runs.csv, correctness.npz)")
