"""The sweep benchmarks: the hypervolume they score with, and each script end to end with ``--quick``.

The script runs check that each one drives the real sweep, reads its trials back
and prints and saves a complete table; they never look at timings, ratios or
hypervolumes as such, which depend on the machine and its load.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from bench.search_quality import hypervolume_2d, reference_point
from tests.helpers import run_module

MAXMAX = ("max", "max")


# ------------------------------------------------------------------ hypervolume
def test_hypervolume_of_one_point_is_its_box() -> None:
    assert hypervolume_2d([(0.5, 0.4)], (0.0, 0.0), MAXMAX) == pytest.approx(0.2)


def test_hypervolume_of_a_staircase_counts_the_overlap_once() -> None:
    # Boxes 0.8 x 0.2 and 0.3 x 0.6 overlap in 0.3 x 0.2: 0.16 + 0.18 - 0.06.
    assert hypervolume_2d([(0.8, 0.2), (0.3, 0.6)], (0.0, 0.0), MAXMAX) == pytest.approx(0.28)


def test_dominated_duplicate_and_out_of_reference_points_add_nothing() -> None:
    front = [(0.8, 0.2), (0.3, 0.6)]
    extra = [(0.2, 0.1), (0.8, 0.2), (0.9, 0.0), (-0.1, 0.9)]  # dominated, duplicate, on the edge, outside
    assert hypervolume_2d(front + extra, (0.0, 0.0), MAXMAX) == pytest.approx(0.28)
    assert hypervolume_2d([], (0.0, 0.0), MAXMAX) == 0.0
    assert hypervolume_2d([(0.5, 0.5)], (0.6, 0.0), MAXMAX) == 0.0


def test_hypervolume_respects_the_reference_and_a_minimized_objective() -> None:
    # Maximize x, minimize y, reference (0.1, 1.0): gains (0.4, 0.7) and (0.7, 0.2).
    points = [(0.5, 0.3), (0.8, 0.8)]
    expected = 0.7 * 0.2 + 0.4 * (0.7 - 0.2)
    assert hypervolume_2d(points, (0.1, 1.0), ("max", "min")) == pytest.approx(expected)


def test_hypervolume_matches_optunas_own_calculator() -> None:
    from optuna._hypervolume import (
        compute_hypervolume,  # private, but the reference implementation
    )

    rng = random.Random(3)
    for n in (1, 2, 5, 16, 40):
        points = [(rng.random(), rng.random()) for _ in range(n)]
        # Optuna minimizes: negate both maximized objectives and the reference.
        theirs = compute_hypervolume(-np.array(points), np.array([0.0, 0.0]))
        assert hypervolume_2d(points, (0.0, 0.0), MAXMAX) == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize(
    "points, reference, directions, fragment",
    [
        ([(0.1, 0.2, 0.3)], (0.0, 0.0), MAXMAX, "point 0 must have 2 values"),
        ([(0.1, math.nan)], (0.0, 0.0), MAXMAX, "not finite"),
        ([(0.1, 0.2)], (0.0, 0.0, 0.0), MAXMAX, "needs 2 objectives"),
        ([(0.1, 0.2)], (0.0, math.inf), MAXMAX, "reference point must be finite"),
        ([(0.1, 0.2)], (0.0, 0.0), ("max", "maximize"), "'max' or 'min'"),
    ],
)
def test_hypervolume_rejects_bad_input(points, reference, directions, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        hypervolume_2d(points, reference, directions)


def test_idle_breakdown_lays_trials_on_slots_and_accounts_for_every_idle_second() -> None:
    from bench.sweep_efficiency import idle_breakdown

    spans = [(1.0, 5.0), (2.0, 6.0), (5.5, 9.0), (6.5, 8.0)]
    idle = idle_breakdown(10.0, spans, 2)
    # Slot A: waits 1, runs 1-5, waits 0.5, runs 5.5-9, then 1 to the end; slot B: 2, 2-6, 0.5, 6.5-8, 2.
    assert idle == pytest.approx({"startup": 3.0, "between": 1.0, "tail": 3.0})
    assert sum(idle.values()) == pytest.approx(2 * 10.0 - sum(end - start for start, end in spans))


# ----------------------------------------------------------------- the scripts
def _run(module: str, *args: str) -> str:
    return run_module(module, *args, timeout=600)


def _verdicts(stdout: str, first_column: str) -> dict[str, str]:
    """First cell -> last cell of each row of the printed table whose header starts with ``first_column``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first_column))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        rows[cells[0]] = cells[-1]
    return rows


@pytest.mark.slow
def test_overhead_quick_times_every_setting(tmp_path: Path) -> None:
    out = tmp_path / "overhead.json"
    stdout = _run("bench.sweep_overhead", "--quick", "--json", str(out))
    verdicts = _verdicts(stdout, "setting")
    assert verdicts["reuse_actors=True"] in ("PASS", "FAIL")
    assert verdicts["run_sweep()"] in ("PASS", "FAIL")
    saved = json.loads(out.read_text())
    assert [r["setting"] for r in saved["rows"]] == [
        "reuse_actors=True",
        "reuse_actors=False",
        "run_sweep()",
        "reuse_actors=True, 2x trials",
    ]
    assert saved["settings"]["trials"] == 4 and saved["settings"]["cluster_cpus"] == 2
    assert sorted((r["setting"], r["trials"]) for r in saved["runs"]) == [
        ("reuse_actors=False", 4),
        ("reuse_actors=True", 4),
        ("reuse_actors=True, 2x trials", 8),
        ("run_sweep()", 4),
    ]
    for run in saved["runs"]:
        assert run["per_trial_s"] == pytest.approx(run["wall_s"] / run["trials"])
    walls = {r["setting"]: r["wall_s"] for r in saved["runs"]}
    split = saved["fixed_and_marginal"]
    assert split["marginal_s_per_trial"] == pytest.approx(
        (walls["reuse_actors=True, 2x trials"] - walls["reuse_actors=True"]) / 4
    )
    assert split["fixed_s_per_fit"] + 4 * split["marginal_s_per_trial"] == pytest.approx(walls["reuse_actors=True"])


@pytest.mark.slow
def test_efficiency_quick_reads_both_clocks_of_real_trials(tmp_path: Path) -> None:
    out = tmp_path / "efficiency.json"
    stdout = _run("bench.sweep_efficiency", "--quick", "--json", str(out))
    assert set(_verdicts(stdout, "trial's own time").values()) <= {"PASS", "FAIL"}
    saved = json.loads(out.read_text())
    assert [r["clock"] for r in saved["rows"]] == ["train_seconds", "time_total_s"]
    (one,) = saved["rounds"]
    assert len(one["train_seconds"]) == len(one["time_total_s"]) == 2
    for own, tune_clock in zip(one["train_seconds"], one["time_total_s"]):
        # Tune's clock of a trial holds the trial's own training and evaluation.
        assert 0 < own <= tune_clock
    assert saved["rows"][0]["ratios"][0] == pytest.approx(one["wall_s"] / (sum(one["train_seconds"]) / 2))
    # Two trials on two slots: each slot waits, runs its trial, waits; nothing is lost or counted twice.
    assert sum(one["time_total_s"]) + sum(one["idle"].values()) == pytest.approx(2 * one["wall_s"])
    assert one["idle"]["startup"] > 0 and one["idle"]["between"] == 0
    assert sum(b["median_share_of_wall"] for b in saved["breakdown"]) == pytest.approx(1.0)


@pytest.mark.slow
def test_search_quality_quick_runs_both_samplers_and_scores_each(tmp_path: Path) -> None:
    out = tmp_path / "quality.json"
    stdout = _run("bench.search_quality", "--quick", "--json", str(out))
    assert _verdicts(stdout, "measure")  # the verdict row is printed
    saved = json.loads(out.read_text())
    sweeps = {s["sampler"]: s for s in saved["sweeps"]}
    assert set(sweeps) == {"tpe", "random"}
    for sweep in sweeps.values():
        assert sweep["statuses"] == ["complete"] * 3
        # the shipped space's objectives: ensemble_acc (a fraction, max) and excess_agreement
        # (a covariance of two 0/1 variables, min), scored against their worst values
        assert sweep["objectives"] == ["ensemble_acc", "excess_agreement"]
        assert sweep["directions"] == ["max", "min"]
        assert all(0.0 <= acc <= 1.0 and -0.25 <= excess <= 0.25 for acc, excess in sweep["values"])
        reference = reference_point(sweep["objectives"])
        assert reference == (0.0, 0.25) and saved["settings"]["reference_point"] == list(reference)
        assert sweep["hv"] == pytest.approx(hypervolume_2d(sweep["values"], reference, sweep["directions"]))
        assert sweep["hv"] > 0.0  # every trial beats the worst point
    # The script's count of leading trials both samplers proposed alike is the length
    # of the common prefix of the two saved proposal lists (whatever Optuna's samplers
    # draw: how TPE starts up is Optuna's business, not this test's).
    (row,) = saved["summary"]["per_seed"]
    tpe, rnd = sweeps["tpe"]["params"], sweeps["random"]["params"]
    assert len(tpe) == len(rnd) == 3
    common = next((i for i, (a, b) in enumerate(zip(tpe, rnd)) if a != b), len(tpe))
    assert row["identical_leading_trials"] == common


def test_tune_loggers_summary_is_the_median_and_the_same_round_ratio() -> None:
    from bench.tune_loggers import summarize

    runs = [
        {"setting": s, "round": k, "cpu_ms_per_trial": cpu, "wall_ms_per_trial": 2 * cpu}
        for k, (three, alone) in enumerate([(30.0, 15.0), (20.0, 16.0), (40.0, 36.0)])
        for s, cpu in (("three loggers", three), ("JSON alone", alone))
    ]
    summary = summarize(runs)
    assert summary["cpu_ms_per_trial"]["three loggers"] == 30.0
    assert summary["cpu_ms_per_trial"]["JSON alone"] == 16.0
    # ratios per round 0.5, 0.8, 0.9: their median, not the ratio of the medians (16 / 30)
    assert summary["cpu_ms_per_trial"]["ratio"] == pytest.approx(0.8)
    assert summary["wall_ms_per_trial"]["ratio"] == pytest.approx(0.8)
