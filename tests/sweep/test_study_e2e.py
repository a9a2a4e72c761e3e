"""``launch.py study`` end to end on digits (tiny budget): dry run, run, interrupt, resume, report."""

from __future__ import annotations

import json
import os
import signal
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sweep.compare.plan import load_compare_plan
from tests.helpers import launch, read_csv, trial_results
from tests.processes import Driver, poll

pytestmark = pytest.mark.slow

STUDY = """\
name: tiny
description: two adversarial arms on digits, a test budget
dataset: digits
seeds: 2
first_seed: 7
effect: 0.01
fixed: {classifier: simple3, width: 0.5, epochs: 2, batch_size: 64, train_size: 300}
arms:
  dice-0.1: {objective: dice, w_adv: 0.1}
  seed-0.1: {objective: seed, w_adv: 0.1}
"""
ARMS = ["dice-0.1", "seed-0.1", "baseline-shared", "baseline-split", "deep-ensemble"]


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(STUDY)
    return path


def test_dry_run_prints_the_plan_and_runs_nothing(study_file: Path, tmp_path: Path) -> None:
    proc = launch("study", str(study_file), "--storage", str(tmp_path / "exp"), "--dry-run", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "planned runs: 10 (5 arms x 2 seeds)" in proc.stdout
    assert "estimated wall time:" in proc.stdout and "minimum detectable difference: unknown" in proc.stdout
    assert "nothing was run" in proc.stdout
    assert not (tmp_path / "exp").exists()


def test_bad_study_files_exit_2_before_ray(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(STUDY.replace("seeds: 2", "seeds: 1").replace("w_adv: 0.1}", "w_adv: -0.1}"))
    proc = launch("study", str(bad), "--storage", str(tmp_path / "exp"), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and all(str(bad) in line for line in lines), lines
    assert any("seeds" in line for line in lines) and any("arms.dice-0.1.w_adv" in line for line in lines)
    assert not (tmp_path / "exp").exists()


def _run_until_interrupted(study_file: Path, storage: Path, ray_head, log: Path) -> None:
    """Start the study on the test's head and Ctrl-C it once one run has reported."""
    env = {**os.environ, **ray_head.env, "NETSEP_CACHE_DIR": os.environ["NETSEP_CACHE_DIR"]}
    driver = Driver(
        [
            "study",
            str(study_file),
            "--storage",
            str(storage),
            "--no-dashboard",
            "--max-concurrent",
            "1",
            "--unregistered",  # a file in a temporary folder, not committed: run anyway, and say so
            *ray_head.client_args(),
        ],
        log,
        env=env,
    )
    try:
        tune = storage / "tiny" / "tune"
        poll(lambda: any(trial_results(tune).values()), 300, "a first result", every_s=0.5, alive=driver)
        os.kill(driver.pid, signal.SIGINT)
        assert driver.wait(180) == 130, driver.tail()
    finally:
        driver.stop()


def test_study_runs_resumes_after_an_interrupt_and_reports(study_file: Path, tmp_path: Path, ray_head) -> None:
    storage = tmp_path / "exp"
    folder = storage / "tiny"
    _run_until_interrupted(study_file, storage, ray_head, tmp_path / "first.log")
    assert (folder / "study.yaml").read_text() == STUDY  # the registered file, as it ran

    # The file may not change between the start and the resume (pre-registration).
    changed = tmp_path / "changed" / "tiny.yaml"
    changed.parent.mkdir()
    changed.write_text(STUDY.replace("effect: 0.01", "effect: 0.02"))
    proc = launch("study", str(changed), "--storage", str(storage), "--resume", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "differs from" in proc.stderr and "Traceback" not in proc.stderr

    proc = launch(
        "study",
        str(study_file),
        "--storage",
        str(storage),
        "--resume",
        "--no-dashboard",
        "--unregistered",
        cwd=tmp_path,
        env=ray_head.env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = read_csv(folder / "runs.csv")
    assert sorted((r["arm"], r["seed"]) for r in runs) == sorted((a, s) for a in ARMS for s in ("7", "8"))
    assert all(r["status"] == "complete" and r["split"] == "test" for r in runs), runs
    # Each (arm, seed) ran once: the interrupted run continued, nothing was proposed twice.
    assert len(list((folder / "tune").glob("trial_*"))) == len(ARMS) * 2
    plan = load_compare_plan(folder)
    assert plan.study == "tiny" and [a.name for a in plan.arms] == ARMS
    paired = {r["arm"]: r for r in read_csv(folder / "paired.csv")}
    assert paired["dice-0.1"]["baseline"] == "baseline-shared" and paired["seed-0.1"]["baseline"] == "baseline-split"
    summary = (folder / "summary.md").read_text()
    assert summary.startswith("**Not pre-registered**: the study file ") and "# Study: tiny" in summary
    assert "study: `tiny`" in summary and "## Provenance" in summary
    provenance = json.loads((folder / "provenance.json").read_text())["runs"]
    assert [r["resumed"] for r in provenance] == [False, True] and all(r["ended"] for r in provenance)
    assert all(r["study_registration"]["registered"] is False for r in provenance)
    for name in ("dose_response.png", "correctness.npz", "front.png", "tpa_within_pair.png"):
        assert (folder / name).is_file(), name
    with np.load(folder / "correctness.npz") as saved:
        assert saved["member_correct"].shape[0] == len(runs)

    # --report-only rebuilds the same report from the folder alone; a new start is refused.
    before = (folder / "paired.csv").read_text()
    (folder / "paired.csv").unlink()
    proc = launch("study", str(study_file), "--storage", str(storage), "--report-only", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (folder / "paired.csv").read_text() == before
    proc = launch("study", str(study_file), "--storage", str(storage), "--dry-run", cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and "exists already" in proc.stderr

    # A second study with the same baseline settings: its dry run knows the expected MDE.
    second = tmp_path / "again.yaml"
    second.write_text(textwrap.dedent(STUDY.replace("name: tiny", "name: again").replace("seeds: 2", "seeds: 8")))
    proc = launch("study", str(second), "--storage", str(storage), "--dry-run", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Tiny digits runs can give equal differences on both seeds (sd 0): no evidence, then.
    sds = [float(r["sd_diff"]) for r in read_csv(folder / "paired.csv")]
    if any(s > 0 for s in sds):
        assert "expected minimum detectable difference (80% power):" in proc.stdout and str(folder) in proc.stdout
    else:
        assert "expected minimum detectable difference: unknown" in proc.stdout, proc.stdout
