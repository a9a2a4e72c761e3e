"""Compare's per-arm and paired numbers from Run lists (no files)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sweep.compare.analysis import diversity_metric, headline, pair_arms, summarise_arms
from sweep.compare.gather import Correctness, Run
from sweep.compare.plan import Arm, ComparePlan


def _plan(objectives: list[str]) -> ComparePlan:
    arms = [Arm("front-1", "a", {"objective": "dice"}, False), Arm("baseline", "b", {"objective": "independent"}, True)]
    return ComparePlan("/s", "/s/compare", [1, 2, 3], arms, objectives, ["max"] * len(objectives))


def _run(arm: str, seed: int, acc: float, status: str = "complete") -> Run:
    return Run(arm, seed, f"{arm}{seed}", status, "", {"ensemble_acc": acc, "disagreement": acc / 10}, "")


def _correctness(runs: list[Run], n: int = 4) -> Correctness:
    done = [r for r in runs if r.status == "complete"]
    ensemble = np.array(
        [
            [True] * round(r.metrics["ensemble_acc"] * n) + [False] * (n - round(r.metrics["ensemble_acc"] * n))
            for r in done
        ]
    )
    return Correctness(
        {(r.arm, r.seed): i for i, r in enumerate(done)}, np.stack([ensemble, ensemble], axis=1), ensemble
    )


def test_diversity_metric_is_the_first_non_accuracy_objective() -> None:
    assert diversity_metric(_plan(["ensemble_acc", "cka", "disagreement"])) == "cka"
    assert diversity_metric(_plan(["ensemble_acc", "member_acc"])) == "excess_agreement"


def test_only_seeds_both_completed_are_paired() -> None:
    runs = [
        _run("front-1", 1, 0.75),
        _run("baseline", 1, 0.5),
        _run("front-1", 2, 1.0),
        _run("baseline", 2, 0.5),
        _run("front-1", 3, 1.0),
        _run("baseline", 3, 0.0, status="error"),
    ]
    plan = _plan(["ensemble_acc", "disagreement"])
    correctness = _correctness(runs)
    (paired,) = pair_arms(plan, runs, correctness)
    assert paired.seeds == [1, 2] and paired.ensemble_acc.mean == pytest.approx(0.375)
    # Per seed: 1 example (seed 1) and 2 examples (seed 2) only the arm gets right.
    assert {s: (m.only_arm, m.only_baseline) for s, m in paired.mcnemar.items()} == {1: (1, 0), 2: (2, 0)}
    assert paired.deep_ensemble is None  # a plan without the deep-ensemble arm
    assert paired.diversity_metric == "disagreement" and paired.diversity.mean == pytest.approx(0.0375)
    arms = summarise_arms(plan, runs, correctness)
    assert [a.seeds for a in arms] == [[1, 2, 3], [1, 2]]
    assert arms[0].stats["ensemble_acc"].mean == pytest.approx(0.25 * 11 / 3)
    assert len(arms[0].tpa_observed) == 7  # 2 models x 3 seeds, 0..6 right
    # Within-pair, per seed: seed 1's two members both get 3 of 4 right (the same ones).
    assert arms[0].within_pair[1].tolist() == [0.25, 0.0, 0.75] and sorted(arms[0].within_pair) == [1, 2, 3]
    assert headline([paired]).startswith("The best adversarial arm by mean ensemble accuracy is front-1. ")


def test_no_paired_runs_say_nothing_can_be_concluded() -> None:
    runs = [_run("front-1", 1, 0.75), _run("baseline", 1, 0.5, status="interrupted")]
    plan = _plan(["ensemble_acc"])
    (paired,) = pair_arms(plan, runs, _correctness(runs))
    assert paired.seeds == [] and paired.ensemble_acc.n == 0 and paired.mcnemar == {}
    assert paired.text == "No paired runs of front-1 and baseline finished, so nothing can be said."
    assert headline([paired]) == (
        "No adversarial arm finished paired runs with its baseline; nothing can be concluded yet."
    )
    arms = summarise_arms(plan, runs, _correctness(runs))
    assert arms[1].seeds == [] and len(arms[1].tpa_observed) == 0 and math.isnan(arms[1].stats["ensemble_acc"].mean)
