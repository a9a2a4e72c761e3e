"""A sequential study end to end on digits (tiny budget, real Ray): it stops on its own at its first look.

The margin is wide (±90 pp) so that the first look decides whatever the tiny runs give:
their repeated interval (Pocock-type, |t| >= 5.6 with 2 df) fits inside it, or the
difference crosses the boundary. Either way the second look's runs never start. The runs must learn a little (batch 16,
lr 0.01: ~13-15 % test accuracy here): at chance every model answers one class, the paired
differences are all 0 and no test is possible.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import launch, read_csv

pytestmark = pytest.mark.slow

STUDY = """\
name: tiny-seq
description: one adversarial arm on digits with a registered interim look, a test budget
dataset: digits
seeds: 6
first_seed: 7
effect: 0.9
deep_ensemble: false
sequential: {looks: [3, 6], spending: pocock}
fixed: {classifier: simple3, width: 0.5, epochs: 2, batch_size: 16, lr: 0.01, train_size: 300, augment: false}
arms:
  dice-0.1: {objective: dice, w_adv: 0.1}
"""


def _run_study(study_file: Path, storage: Path, cwd: Path, ray_head) -> Any:
    """``launch.py study`` of the (uncommitted) ``study_file`` on the shared Ray head, 2 runs at a time."""
    return launch(
        "study",
        str(study_file),
        "--storage",
        str(storage),
        "--no-dashboard",
        "--max-concurrent",
        "2",
        "--unregistered",
        cwd=cwd,
        env=ray_head.env,
        timeout=600,
    )


def test_a_sequential_study_stops_at_its_first_look_and_reports_it(tmp_path: Path, ray_head) -> None:
    study_file = tmp_path / "tiny-seq.yaml"
    study_file.write_text(STUDY)
    storage = tmp_path / "exp"
    folder = storage / "tiny-seq"
    proc = _run_study(study_file, storage, tmp_path, ray_head)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "netsep: look 1 (3 seeds per arm): dice-0.1 " in proc.stdout
    assert "every registered comparison is decided: the study stops here" in proc.stdout
    runs = read_csv(folder / "runs.csv")
    assert sorted((r["arm"], r["seed"]) for r in runs) == sorted(
        (a, s) for a in ("dice-0.1", "baseline") for s in ("7", "8", "9")
    )
    assert all(r["status"] == "complete" for r in runs), runs
    assert len(list((folder / "tune").glob("trial_*"))) == 6  # look 2's runs never started
    summary = (folder / "summary.md").read_text()
    assert "**Stopped at look 1 of 2 (3 seeds per arm): every registered comparison was decided**" in summary
    with (folder / "sequential.csv").open(encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert (
        row["look"] == "1" and row["decision"] in ("better", "worse", "equivalent") and row["study_stopped_at"] == "1"
    )

    # --report-only rebuilds the same report, byte for byte, from the folder alone.
    before = {name: (folder / name).read_bytes() for name in ("summary.md", "sequential.csv", "paired.csv")}
    (folder / "sequential.csv").unlink()
    proc = launch("study", str(study_file), "--storage", str(storage), "--report-only", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert {name: (folder / name).read_bytes() for name in before} == before


def test_an_undecided_first_look_lets_the_next_look_run(tmp_path: Path, ray_head) -> None:
    """A margin of 0.01 pp cannot be met at 2 seeds: Tune waits at look 1, then runs look 2's seed."""
    study_file = tmp_path / "tiny-seq.yaml"
    study_file.write_text(
        STUDY.replace("seeds: 6", "seeds: 3").replace("looks: [3, 6]", "looks: [2, 3]").replace("0.9", "0.0001")
    )
    storage = tmp_path / "exp"
    folder = storage / "tiny-seq"
    proc = _run_study(study_file, storage, tmp_path, ray_head)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "netsep: look 1 (2 seeds per arm): dice-0.1 continue; on to look 2 (3 seeds)" in proc.stdout
    assert len(read_csv(folder / "runs.csv")) == 6 and len(list((folder / "tune").glob("trial_*"))) == 6
    summary = (folder / "summary.md").read_text()
    assert "**Ran to the last look (3 seeds per arm)**" in summary
    with (folder / "sequential.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["look"], r["decision"]) for r in rows][0] == ("1", "continue") and rows[-1]["study_stopped_at"] == "2"
