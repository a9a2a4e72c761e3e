"""Compare mode end to end on digits (K = 2, short), checked against an independent recomputation."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sweep.compare.plan import load_compare_plan
from tests.helpers import copy_results, fingerprint, launch
from trainable.outputs import read_test_outputs, tpa_histograms

pytestmark = pytest.mark.slow


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def compared(smoke_sweep, ray_head, tmp_path_factory) -> Iterator[Path]:
    """One compare of the smoke sweep, read by every test here (in any order).

    Read it only: a test that writes into it (``--report-only``, ``--resume``) takes
    ``compared_copy``. The module errors at the end if the folder changed.
    """
    tmp = tmp_path_factory.mktemp("cmp")
    folder = copy_results(smoke_sweep[0], tmp / "smoke")  # compare writes into the folder: a copy of it
    proc = launch(
        "compare",
        str(folder),
        "--seeds",
        "2",
        "--top",
        "1",
        "--no-dashboard",
        *ray_head.client_args(),
        cwd=tmp,
        env=ray_head.env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Compare results" in proc.stdout
    before = fingerprint(folder)
    yield folder / "compare"
    changed = sorted(set(before.items()) ^ set(fingerprint(folder).items()))
    assert not changed, f"a test wrote into the shared compare folder (use compared_copy): {changed[:10]}"


@pytest.fixture
def compared_copy(compared: Path, tmp_path: Path) -> Path:
    """A private copy of the compare (inside its sweep folder's copy), for a test that writes into it."""
    return copy_results(compared.parent, tmp_path / "smoke") / compared.name


def test_compare_writes_every_artifact(compared):
    for name in (
        "compare.json",
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
    ):
        assert (compared / name).is_file(), name
    runs = _rows(compared / "runs.csv")
    assert sorted((r["arm"], r["seed"]) for r in runs) == [
        ("baseline", "1000"),
        ("baseline", "1001"),
        ("deep-ensemble", "1000"),
        ("deep-ensemble", "1001"),
        ("front-1", "1000"),
        ("front-1", "1001"),
    ]
    assert all(r["status"] == "complete" for r in runs)
    # Every run scored the test split once, after its last epoch (final_test), and compare read those values.
    assert all(r["split"] == "test" for r in runs)
    summary = (compared / "summary.md").read_text()
    # The test statistic, or (two seeds whose paired differences are equal, which tiny digits
    # runs can give: 5 of 450 test images both times) the statement that no test is possible.
    paired = _rows(compared / "paired.csv")[0]
    constant = float(paired["sd_diff"]) == 0
    assert "## Verdict" in summary and ("No test is possible" in summary if constant else "paired t p =" in summary)
    # The power sentence: an MDE, or (two seeds whose paired differences are equal: sd 0,
    # which tiny digits runs can give) the statement that power cannot be estimated.
    assert "minimum detectable difference" in summary or "Power cannot be estimated" in summary


def test_seeds_are_paired_across_arms(compared):
    """Seed s of both arms starts its first classifier from the same weights."""
    import torch

    from trainable.checkpoint import read_state  # noqa: F401  (the files are real checkpoints)
    from trainable.config import TrialConfig
    from trainable.data import load_dataset
    from trainable.loop import build_models

    plan = load_compare_plan(compared)
    info, _, _ = load_dataset("digits")
    firsts = []
    for arm in plan.arms:
        net_1, _, _ = build_models(TrialConfig.from_dict({**arm.config, "seed": 1000}), info)
        firsts.append(torch.cat([p.flatten() for p in net_1.parameters()]))
    assert torch.equal(firsts[0], firsts[1])


def test_statistics_match_a_recomputation_from_the_saved_correctness(compared):
    data = np.load(compared / "correctness.npz", allow_pickle=False)
    index = {key: i for i, key in enumerate(data["run_index"])}
    ens, member, labels = data["ensemble_correct"], data["member_correct"], data["labels"]
    runs = {(r["arm"], r["seed"]): r for r in _rows(compared / "runs.csv")}

    # Per-run metrics reported by the trials equal what the saved correctness gives.
    for (arm, seed), row in runs.items():
        i = index[f"{arm}/{seed}"]
        assert ens[i].mean() == pytest.approx(float(row["ensemble_acc"]), abs=1e-9)
        assert member[i, 0].mean() == pytest.approx(float(row["acc_1"]), abs=1e-9)
        assert member[i, 1].mean() == pytest.approx(float(row["acc_2"]), abs=1e-9)
        # ... and what the checkpoint itself holds.
        outputs = read_test_outputs(row["checkpoint"])
        assert np.array_equal(outputs.ensemble_correct, ens[i]) and np.array_equal(outputs.labels, labels)

    # Recomputed without the functions under test: scipy's paired t interval, McNemar's exact p by hand.
    paired = _rows(compared / "paired.csv")[0]
    seeds = ["1000", "1001"]
    arm_acc = [ens[index[f"front-1/{s}"]].mean() for s in seeds]
    base_acc = [ens[index[f"baseline/{s}"]].mean() for s in seeds]
    diff = float(np.mean(np.subtract(arm_acc, base_acc)))
    assert float(paired["ensemble_acc_diff"]) == pytest.approx(diff, abs=1e-9)
    if arm_acc[0] - base_acc[0] != arm_acc[1] - base_acc[1]:
        interval = stats.ttest_rel(arm_acc, base_acc).confidence_interval(0.95)
        assert float(paired["ci95_low"]) == pytest.approx(interval.low, abs=1e-9)
        assert float(paired["ci95_high"]) == pytest.approx(interval.high, abs=1e-9)
    else:  # equal differences have no spread: no interval and no test (not a point "interval")
        assert math.isnan(float(paired["ci95_low"])) and math.isnan(float(paired["ci95_high"]))
        assert math.isnan(float(paired["t_p"])) and float(paired["sd_diff"]) == 0
    mcnemar = {r["seed"]: r for r in _rows(compared / "mcnemar.csv") if r["arm"] == "front-1"}
    for s in seeds:  # exact McNemar per seed, descriptive
        a, b = ens[index[f"front-1/{s}"]], ens[index[f"baseline/{s}"]]
        only_arm, only_base = int(np.sum(a & ~b)), int(np.sum(~a & b))
        assert (int(mcnemar[s]["only_arm"]), int(mcnemar[s]["only_baseline"])) == (only_arm, only_base)
        n = only_arm + only_base
        p = min(1.0, 2 * sum(math.comb(n, k) for k in range(min(only_arm, only_base) + 1)) / 2**n) if n else 1.0
        assert float(mcnemar[s]["exact_p"]) == pytest.approx(p, rel=1e-9)

    # The TP-agreement histogram of an arm pools its 2K models.
    tpa = [r for r in _rows(compared / "tpa.csv") if r["arm"] == "front-1"]
    models = np.concatenate([member[index[f"front-1/{s}"]] for s in seeds])
    observed, expected = tpa_histograms(models)
    assert len(tpa) == 5 and int(tpa[0]["models"]) == 4
    assert [float(r["observed"]) for r in tpa] == pytest.approx(observed.tolist(), abs=1e-6)
    assert [float(r["expected_if_independent"]) for r in tpa] == pytest.approx(expected.tolist(), abs=1e-6)
    assert math.isclose(sum(float(r["observed"]) for r in tpa), 1.0, abs_tol=1e-5)


def test_report_only_rebuilds_the_same_tables(compared_copy, tmp_path):
    before = (compared_copy / "paired.csv").read_text()
    (compared_copy / "paired.csv").unlink()
    proc = launch("compare", str(compared_copy.parent), "--report-only", cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (compared_copy / "paired.csv").read_text() == before


def test_a_second_compare_does_not_overwrite_the_first(compared_copy, tmp_path):
    before = fingerprint(compared_copy)
    proc = launch("compare", str(compared_copy.parent), "--seeds", "2", cwd=tmp_path, timeout=180)
    assert proc.returncode == 2 and "--resume" in proc.stderr and "Traceback" not in proc.stderr
    assert fingerprint(compared_copy) == before


def test_resume_of_a_finished_compare_runs_nothing_again(compared_copy, ray_head, tmp_path):
    """--resume restores the Tune experiment and its list searcher: no run repeats, the report is the same.

    The resumed compare joins the cluster its plan names (the test's head), so it needs that
    head's token in its environment, like any client of a token-authenticated cluster.
    """
    trials = sorted(p.name for p in (compared_copy / "tune").glob("trial_*"))
    before = (compared_copy / "paired.csv").read_text()
    proc = launch(
        "compare", str(compared_copy.parent), "--resume", "--no-dashboard", cwd=tmp_path, timeout=300, env=ray_head.env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in (compared_copy / "tune").glob("trial_*")) == trials
    assert (compared_copy / "paired.csv").read_text() == before
