"""Compare's report on hand-built runs, checked against an independent recomputation.

The paired interval and p-value are recomputed with ``scipy.stats.ttest_rel``, Holm by
hand, McNemar's exact p per seed by hand (binomial tail sums), from the predictions the
runs were built with; the verdict and headline text are checked against the numbers in
``paired.csv``.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sweep.compare.plan import ComparePlan, plan_compare
from sweep.compare.report import print_compare, write_compare_report
from sweep.stats.power import minimum_detectable_difference, seeds_needed
from tests.sweep.compare.folders import CompareRuns, sweep_folder
from tests.sweep.tune_folders import DIVERGED_ERROR_TXT, read_csv

FILES = (
    "runs.csv",
    "correctness.npz",
    "arms.csv",
    "paired.csv",
    "mcnemar.csv",
    "tpa.csv",
    "tpa_within_pair.csv",
    "tpa_within_pair.png",
    "front.png",
    "summary.md",
)


def _exact_mcnemar_p(only_arm: int, only_baseline: int) -> float:
    """Two-sided exact binomial p at 1/2: twice the smaller tail, capped at 1."""
    n = only_arm + only_baseline
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_arm, only_baseline) + 1)) / 2**n
    return min(1.0, 2 * tail)


def _compared(
    tmp_path: Path, p_right: dict[str, float], *, mixed: bool = False, top: int = 1, baseline: bool = True
) -> tuple[ComparePlan, CompareRuns]:
    plan = plan_compare(sweep_folder(tmp_path, mixed=mixed, baseline=baseline).results, seeds=3, top=top, first_seed=50)
    plan.save()
    runs = CompareRuns(plan)
    runs.all_complete(p_right)
    runs.writer.save_state()
    return plan, runs


def _check_paired_row(row: dict[str, str], runs: CompareRuns, seeds: list[int]) -> None:
    arm, base = row["arm"], row["baseline"]
    acc = {k: ens.mean() for k, (_, ens) in runs.predictions.items()}
    interval = stats.ttest_rel([acc[(arm, s)] for s in seeds], [acc[(base, s)] for s in seeds]).confidence_interval(
        0.95
    )
    assert float(row["ensemble_acc_diff"]) == pytest.approx(np.mean([acc[(arm, s)] - acc[(base, s)] for s in seeds]))
    assert float(row["ci95_low"]) == pytest.approx(interval.low) and float(row["ci95_high"]) == pytest.approx(
        interval.high
    )
    diffs = [acc[(arm, s)] - acc[(base, s)] for s in seeds]
    assert float(row["t_p"]) == pytest.approx(
        stats.ttest_rel([acc[(arm, s)] for s in seeds], [acc[(base, s)] for s in seeds]).pvalue
    )
    assert float(row["sd_diff"]) == pytest.approx(statistics.stdev(diffs))
    assert float(row["mde80"]) == pytest.approx(minimum_detectable_difference(statistics.stdev(diffs), len(seeds)))
    assert row["effect"] == "0.005" and row["seeds_needed"] == str(seeds_needed(0.005, statistics.stdev(diffs)) or "")
    # The redundancy probe (0.55 for an adversarial arm, 0.6 for an independent pair in these runs).
    assert float(row["probe_acc_diff"]) == pytest.approx(-0.05)
    assert int(row["n_seeds"]) == len(seeds)
    mcnemar = {int(r["seed"]): r for r in read_csv(runs.writer.tune.parent / "mcnemar.csv") if r["arm"] == arm}
    assert sorted(mcnemar) == seeds
    for seed in seeds:
        a, b = runs.predictions[(arm, seed)][1], runs.predictions[(base, seed)][1]
        only_arm, only_base = int(np.sum(a & ~b)), int(np.sum(~a & b))
        got = mcnemar[seed]
        assert (int(got["only_arm"]), int(got["only_baseline"]), got["baseline"]) == (only_arm, only_base, base)
        assert float(got["exact_p"]) == pytest.approx(_exact_mcnemar_p(only_arm, only_base), rel=1e-9)


def test_paired_statistics_match_an_independent_recomputation(tmp_path: Path) -> None:
    plan, runs = _compared(tmp_path, {"front-1": 0.95, "front-2": 0.45, "baseline": 0.5}, top=2)
    report = write_compare_report(plan)
    folder = Path(plan.compare_dir)
    assert all((folder / name).is_file() for name in FILES) and set(report.files) == set(FILES) - {
        "runs.csv",
        "correctness.npz",
    }
    paired = read_csv(folder / "paired.csv")
    assert [(r["arm"], r["baseline"]) for r in paired] == [("front-1", "baseline"), ("front-2", "baseline")]
    for row in paired:
        _check_paired_row(row, runs, [50, 51, 52])
    div = {k: v for k, v in ((r["arm"], r) for r in paired)}["front-1"]
    assert div["diversity_metric"] == "excess_agreement"  # the sweep's first non-accuracy objective
    # Holm over the two arms, by hand: the smaller p times 2, the larger times 1, kept monotone.
    p = sorted((float(r["t_p"]), r["arm"]) for r in paired)
    holm = {p[0][1]: min(1.0, 2 * p[0][0]), p[1][1]: min(1.0, max(2 * p[0][0], p[1][0]))}
    assert {r["arm"]: float(r["holm_p"]) for r in paired} == pytest.approx(holm)
    # TOST against ±0.005 and the simultaneous interval over the 2 arms, recomputed with scipy's own tests.
    acc = {k: ens.mean() for k, (_, ens) in runs.predictions.items()}
    tost = {}
    for row in paired:
        arm, d = row["arm"], [acc[(row["arm"], s)] - acc[("baseline", s)] for s in (50, 51, 52)]
        lower = stats.ttest_1samp(d, -0.005, alternative="greater").pvalue  # H0: mean <= -0.005
        upper = stats.ttest_1samp(d, 0.005, alternative="less").pvalue  # H0: mean >= +0.005
        tost[arm] = max(lower, upper)
        assert float(row["tost_p"]) == pytest.approx(tost[arm])
        both = stats.ttest_rel([acc[(arm, s)] for s in (50, 51, 52)], [acc[("baseline", s)] for s in (50, 51, 52)])
        sim = both.confidence_interval(1 - 0.05 / 2)
        assert (float(row["sim_ci_low"]), float(row["sim_ci_high"])) == pytest.approx((sim.low, sim.high))
    small, large = sorted(tost.values())
    assert sorted(float(r["tost_holm_p"]) for r in paired) == pytest.approx(
        sorted([min(1.0, 2 * small), min(1.0, max(2 * small, large))])
    )
    # Against the deep ensemble, from the predictions.
    acc = {k: ens.mean() for k, (_, ens) in runs.predictions.items()}
    assert float(div["deep_ensemble_diff"]) == pytest.approx(
        np.mean([acc[("front-1", s)] - acc[("deep-ensemble", s)] for s in (50, 51, 52)])
    )


def test_verdict_and_headline_follow_paired_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan, _ = _compared(tmp_path, {"front-1": 0.95, "front-2": 0.2, "baseline": 0.5}, top=2)
    report = write_compare_report(plan)
    rows = {r["arm"]: r for r in read_csv(Path(plan.compare_dir) / "paired.csv")}
    win, lose = rows["front-1"], rows["front-2"]
    pp = lambda x: f"{100 * float(x):+.2f}"  # noqa: E731
    assert report.headline.startswith(
        "The best adversarial arm by mean ensemble accuracy is front-1. "
        f"front-1 beats the baseline ensemble by {pp(win['ensemble_acc_diff'])} pp "
        "in test ensemble accuracy over 3 paired seeds (95% CI "
        f"[{pp(win['ci95_low'])}, {pp(win['ci95_high'])}] pp, paired t p = "
        f"{float(win['t_p']):.3g}, Holm-adjusted over 2 arms p = "
        f"{float(win['holm_p']):.3g})."
    )
    # What the data exclude, from the simultaneous interval (2 arms: Bonferroni, each at 97.5 %), the
    # verdict word with its TOST p, and the power, from the same row.
    low, high = 100 * float(win["sim_ci_low"]), 100 * float(win["sim_ci_high"])
    assert float(win["sim_ci_level"]) == pytest.approx(0.975) and float(win["sim_ci_low"]) < float(win["ci95_low"])
    assert (
        f"Gains above {high:+.2f} pp and any loss (the difference is above {low:+.2f} pp) are excluded at 95 % "
        "simultaneously over the 2 arms (Bonferroni: each arm's interval at 97.5 %"
    ) in report.headline
    assert win["verdict"] == "better" and lose["verdict"] == "worse"
    assert (
        f"Verdict: better (TOST against ±0.50 pp: p = {float(win['tost_p']):.3g}, Holm-adjusted "
        f"over 2 arms p = {float(win['tost_holm_p']):.3g})."
    ) in report.headline
    assert (
        f"With 3 seeds (sd of the paired differences {100 * float(win['sd_diff']):.2f} pp) the minimum "
        f"detectable difference at 80 % power is {100 * float(win['mde80']):.2f} pp; detecting +0.50 pp would "
        f"take {win['seeds_needed'] or 'more than 1000'} seeds."
    ) in report.headline
    assert (
        f"Against the deep ensemble: {pp(win['deep_ensemble_diff'])} pp (95% CI [{pp(win['deep_ensemble_ci95_low'])}, "
        f"{pp(win['deep_ensemble_ci95_high'])}] pp)."
    ) in report.headline
    assert f"Its excess_agreement differs by {float(win['diversity_diff']):+.4f}" in report.headline
    worse = report.paired[1].text
    assert worse.startswith(f"front-2 is worse than the baseline ensemble by {pp(lose['ensemble_acc_diff'])[1:]} pp")
    summary = (Path(plan.compare_dir) / "summary.md").read_text()
    assert report.headline in summary and f"- {worse}" in summary
    assert f"| front-1 | baseline | 3 | {float(win['ensemble_acc_diff']):.4f} [" in summary
    assert f" | {float(win['tost_p']):.3g} | {float(win['tost_holm_p']):.3g} | " in summary
    assert summary.count(" | better |") == 1 and summary.count(" | worse |") == 1  # the verdict column
    assert "![Within-pair TP-agreement](tpa_within_pair.png)" in summary and "tpa_histograms.png" not in summary
    print_compare(report)
    out = capsys.readouterr().out
    assert report.headline in out and f"Compare results: {plan.compare_dir}" in out


def test_no_significant_difference_is_said_so(tmp_path: Path) -> None:
    plan, _ = _compared(tmp_path, {"front-1": 0.8, "baseline": 0.8})
    report = write_compare_report(plan)
    row = read_csv(Path(plan.compare_dir) / "paired.csv")[0]
    text = report.paired[0].text
    assert float(row["ci95_low"]) < 0 < float(row["ci95_high"])  # equal accuracy: the interval straddles 0
    assert text.startswith(
        "No significant difference in test ensemble accuracy between front-1 and the baseline "
        f"ensemble: {100 * float(row['ensemble_acc_diff']):+.2f} pp over 3 paired seeds"
    )
    assert report.headline.endswith(text)


def test_mixed_pairings_are_compared_with_their_own_baseline(tmp_path: Path) -> None:
    plan, runs = _compared(
        tmp_path, {"front-1": 0.9, "front-2": 0.6, "baseline-split": 0.5, "baseline-shared": 0.7}, mixed=True, top=2
    )
    write_compare_report(plan)
    folder = Path(plan.compare_dir)
    paired = read_csv(folder / "paired.csv")
    assert [(r["arm"], r["baseline"]) for r in paired] == [
        ("front-1", "baseline-split"),
        ("front-2", "baseline-shared"),
    ]
    for row in paired:
        _check_paired_row(row, runs, [50, 51, 52])
    arms = {r["arm"]: r for r in read_csv(folder / "arms.csv")}
    assert list(arms) == ["front-1", "front-2", "baseline-shared", "baseline-split", "deep-ensemble"]
    assert arms["baseline-split"]["objective"] == "independent" and arms["front-1"]["objective"] == "seed"


def test_a_baseline_the_sweep_never_ran_is_reported_like_any_other(tmp_path: Path) -> None:
    plan, runs = _compared(tmp_path, {"front-1": 0.9, "baseline": 0.6}, baseline=False)
    report = write_compare_report(plan)
    folder = Path(plan.compare_dir)
    arms = {r["arm"]: r for r in read_csv(folder / "arms.csv")}
    assert (arms["baseline"]["source_trial"], arms["baseline"]["objective"], arms["baseline"]["n_seeds"]) == (
        "",
        "independent",
        "3",
    )
    _check_paired_row(read_csv(folder / "paired.csv")[0], runs, [50, 51, 52])
    assert (
        "- arms: `front-1` (sweep trial a0000001), `baseline`, `deep-ensemble`\n" in (folder / "summary.md").read_text()
    )
    assert report.paired[0].baseline == "baseline"


def test_arms_and_tpa_tables(tmp_path: Path) -> None:
    plan, runs = _compared(tmp_path, {"front-1": 0.9, "baseline": 0.6})
    write_compare_report(plan)
    folder = Path(plan.compare_dir)
    arms = {r["arm"]: r for r in read_csv(folder / "arms.csv")}
    acc = [runs.predictions[("front-1", s)][1].mean() for s in (50, 51, 52)]
    assert int(arms["front-1"]["n_seeds"]) == 3 and arms["front-1"]["source_trial"] == "a0000001"
    assert float(arms["front-1"]["ensemble_acc_mean"]) == pytest.approx(statistics.mean(acc))
    assert float(arms["front-1"]["ensemble_acc_std"]) == pytest.approx(statistics.stdev(acc))
    tpa = [r for r in read_csv(folder / "tpa.csv") if r["arm"] == "front-1"]
    models = np.concatenate([runs.predictions[("front-1", s)][0] for s in (50, 51, 52)])  # [6, N]
    right = models.sum(axis=0)
    assert [int(r["k_right"]) for r in tpa] == list(range(7)) and {r["models"] for r in tpa} == {"6"}
    assert [float(r["observed"]) for r in tpa] == pytest.approx([np.mean(right == k) for k in range(7)])
    assert sum(float(r["expected_if_independent"]) for r in tpa) == pytest.approx(1.0)
    # Within-pair (M = 2), per seed, for every arm: the seed's two members only.
    within = {(r["arm"], int(r["seed"])): r for r in read_csv(folder / "tpa_within_pair.csv")}
    assert set(within) == {(a, s) for a in ("front-1", "baseline", "deep-ensemble") for s in (50, 51, 52)}
    for (arm, seed), row in within.items():
        pair_right = runs.predictions[(arm, seed)][0].sum(axis=0)
        assert [float(row[c]) for c in ("both_wrong", "one_right", "both_right")] == pytest.approx(
            [np.mean(pair_right == k) for k in range(3)]
        )


def test_error_and_interrupted_runs_are_reported_and_left_out(tmp_path: Path) -> None:
    plan = plan_compare(sweep_folder(tmp_path).results, seeds=3, top=1)
    plan.save()
    runs = CompareRuns(plan)
    for seed in (1000, 1001):
        runs.run("front-1", seed, p_right=0.9)
        runs.run("baseline", seed, p_right=0.6)
        runs.run("deep-ensemble", seed, p_right=0.6)
    runs.run("front-1", 1002, status="ERROR", epochs=2, error=DIVERGED_ERROR_TXT)
    runs.run("baseline", 1002, status="RUNNING", epochs=1)
    runs.writer.save_state()
    report = write_compare_report(plan)
    folder = Path(plan.compare_dir)
    statuses = {(r["arm"], r["seed"]): r["status"] for r in read_csv(folder / "runs.csv")}
    assert statuses[("front-1", "1002")] == "error" and statuses[("baseline", "1002")] == "interrupted"
    row = read_csv(folder / "paired.csv")[0]
    assert row["n_seeds"] == "2"
    _check_paired_row(row, runs, [1000, 1001])
    assert {r["arm"]: r["n_seeds"] for r in read_csv(folder / "arms.csv")} == {
        "front-1": "2",
        "baseline": "2",
        "deep-ensemble": "2",
    }
    summary = (folder / "summary.md").read_text()
    assert "- runs: 6 complete of 9 planned" in summary
    assert "- front-1 seed 1002: error (DivergedError: diverged at epoch 2, step 7" in summary
    assert "- baseline seed 1002: interrupted (RUNNING when the compare run stopped, after 1 of 3 epochs" in summary
    assert report.paired[0].seeds == [1000, 1001]


def test_report_only_is_the_same_report_again(tmp_path: Path) -> None:
    plan, _ = _compared(tmp_path, {"front-1": 0.9, "baseline": 0.6})
    write_compare_report(plan)
    folder = Path(plan.compare_dir)
    before = {n: (folder / n).read_bytes() for n in ("runs.csv", "arms.csv", "paired.csv", "tpa.csv", "summary.md")}
    write_compare_report(plan)
    assert {n: (folder / n).read_bytes() for n in before} == before
