"""Compare's summary.md and terminal text from a CompareReport (no files)."""

from __future__ import annotations

import numpy as np

from sweep.compare.analysis import CompareReport, headline, pair_arms, summarise_arms
from sweep.compare.gather import Correctness, Run
from sweep.compare.plan import Arm, ComparePlan
from sweep.compare.summary import summary_text, terminal_text


def _report() -> CompareReport:
    arms = [Arm("front-1", "a1", {"objective": "dice"}, False), Arm("baseline", "", {"objective": "independent"}, True)]
    plan = ComparePlan("/x/sweep", "/x/sweep/compare", [7, 8], arms, ["ensemble_acc"], ["max"])
    runs = [
        Run("front-1", 7, "t1", "complete", "", {"ensemble_acc": 0.75}, "/c1"),
        Run("baseline", 7, "t2", "complete", "", {"ensemble_acc": 0.5}, "/c2"),
        Run("front-1", 8, "t3", "error", "ValueError: boom", {}, ""),
        Run("baseline", 8, "t4", "interrupted", "PENDING when the compare run stopped", {}, ""),
    ]
    ensemble = np.array([[True, True, True, False], [True, True, False, False]])
    correctness = Correctness({("front-1", 7): 0, ("baseline", 7): 1}, np.stack([ensemble, ensemble], axis=1), ensemble)
    paired = pair_arms(plan, runs, correctness)
    return CompareReport(plan, runs, summarise_arms(plan, runs, correctness), paired, headline(paired))


def test_summary_names_arms_seeds_failed_runs_and_tables() -> None:
    report = _report()
    text = summary_text(report)
    assert text.startswith("# Compare: sweep\n\n## Verdict\n\n" + report.headline)
    assert "- arms: `front-1` (sweep trial a1), `baseline`" in text
    assert "- seeds: 7, 8 (paired" in text and "- runs: 2 complete of 4 planned" in text
    assert "- front-1 seed 8: error (ValueError: boom)" in text
    assert "- baseline seed 8: interrupted (PENDING when the compare run stopped)" in text
    # One seed: a mean, no std (shown as -), no interval; the verdict says more seeds are needed.
    assert "| front-1 | 1 | - ± - | - ± - | 0.7500 ± - |" in text
    assert "| front-1 | baseline | 1 | 0.2500 [-, -] | nan | nan | - | - | - |" in text
    assert "| front-1 | 7 | 1 / 0 | 1 |" in text  # McNemar of seed 7, descriptive
    assert "More seeds are needed for an interval." in report.headline


def test_terminal_text_is_a_table_the_headline_and_the_folder() -> None:
    report = _report()
    lines = terminal_text(report).splitlines()
    # Members as their mean and the lowest one (never the mean alone).
    header = ["arm", "seeds", "ensemble_acc", "member_acc_mean", "member_acc_lowest", "disagreement"]
    assert lines[1].split() == header
    assert lines[3].startswith("front-1") and "0.7500 ± -" in lines[3]
    assert report.headline in lines and lines[-1].startswith("Compare results: /x/sweep/compare  (summary.md")
    # One seed: no test, no equivalence test either.
    assert "Verdicts (against the matched baseline):" in lines and "  front-1: undecided" in lines


def test_members_are_stated_as_mean_and_lowest() -> None:
    arms = [Arm("front-1", "a1", {"objective": "dice"}, False), Arm("baseline", "", {"objective": "independent"}, True)]
    plan = ComparePlan("/x/sweep", "/x/sweep/compare", [7, 8], arms, ["ensemble_acc"], ["max"])
    members = {("front-1", 7): (0.9, 0.8), ("front-1", 8): (0.85, 0.88), ("baseline", 7): (0.9, 0.9)}
    runs = [
        Run(
            arm,
            seed,
            f"t{i}",
            "complete",
            "",
            {"ensemble_acc": 0.9, "acc_1": a1, "acc_2": a2, "member_acc": (a1 + a2) / 2},
            "/c",
        )
        for i, ((arm, seed), (a1, a2)) in enumerate(members.items())
    ]
    ensemble = np.ones((3, 4), dtype=bool)
    correctness = Correctness({k: i for i, k in enumerate(members)}, np.stack([ensemble, ensemble], axis=1), ensemble)
    summaries = summarise_arms(plan, runs, correctness)
    assert [a.lowest_member for a in summaries] == [0.8, 0.9]  # the weakest of 2K members, not a mean of pairs
    paired = pair_arms(plan, runs, correctness)
    report = CompareReport(plan, runs, summaries, paired, headline(paired))
    text = summary_text(report)
    assert "| disc_acc (test pairs) | probe_acc | lowest member |" in text
    assert "| front-1 | 2 | 0.8575 ± 0.0106 |" in text and text.count("| 0.8000 |") == 1
    assert "front-1   2      0.9000 ± 0.0000  0.8575 ± 0.0106  0.8000" in terminal_text(report)
