"""summary.md, written from the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweep.report import OPTUNA_DB, SUMMARY_MD, write_report
from tests.sweep.tune_folders import SPACE, TuneFolder


def test_summary_is_written_from_the_numbers(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    text = (folder.results / SUMMARY_MD).read_text()
    assert text.startswith("# Sweep `demo`")
    for expected in [
        "Dataset: digits; classifier: simple3; training objective: dice; 3 epochs per trial",
        "Objectives: ensemble_acc (maximize), excess_agreement (minimize)",
        "Sampler: tpe (seed 0)",
        "Search trials: 9 requested, 10 started, 7 finished (5 complete, 1 stopped early, 1 failed), 3 interrupted",
        "Resources per trial: 1 CPU, 0 GPU; at most 2 at once",
        "disc_depth int in [1, 4] (only when disc_arch in siamese_pool)",
        "| a0000002 | 0.9200 | 0.0800 | +0.0300 | +0.0200 | 0.5 | siamese_pool | 2 | 3 |",
        "| baseline b0000001 | 0.8900 | 0.0600 |",
        "Best ensemble_acc: `a0000002` with 0.9200",
        "Best excess_agreement: `a0000003` with 0.0200",
        "Beat the baseline on every objective: `a0000001` (1 of 3 front members)",
        "`a0000006` (search; w_adv=0.8, disc_arch=siamese_pool, disc_depth=4), after 1 epoch: DivergedError",
        "1 search trial was stopped early, after 1 of 3 epochs",
        "`a0000009` complete but objective excess_agreement is not a finite number",
        f'optuna.load_study(study_name="demo", storage="sqlite:///{folder.results / OPTUNA_DB}")',
    ]:
        assert expected in text, expected


def test_summary_when_no_front_member_beats_the_baseline(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path)
    f.sweep_trial(
        "b0000001",
        "TERMINATED",
        {},
        [(0.95, 0.01)] * 3,
        baseline={"objective": "independent", "w_adv": 0.0, "pairing": "shared"},
    )
    f.sweep_trial("a0000001", "TERMINATED", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.90, 0.05)] * 3, start=1)
    f.sweep_trial("a0000002", "TERMINATED", {"w_adv": 0.2, "disc_arch": "mlp"}, [(0.80, 0.02)] * 3, start=2)
    f.save_state()
    write_report(f.results)
    text = (f.results / SUMMARY_MD).read_text()
    assert "- None of the 2 front members beats the baseline on every objective." in text
    assert "Best ensemble_acc: `a0000001` with 0.9000 (w_adv=0.1, disc_arch=mlp); baseline 0.9500, -0.0500" in text


def test_summary_without_a_baseline(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path, space={**SPACE, "baseline": False}, baseline=False)
    f.sweep_trial("a0000001", "TERMINATED", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.90, 0.05)] * 3)
    f.save_state()
    write_report(f.results)
    text = (f.results / SUMMARY_MD).read_text()
    assert "- Baseline: not run (the space sets `baseline: false`)" in text
    assert "- No complete baseline to compare with." in text
    assert "Δ" not in text.split("## Pareto front")[1].split("## Best")[0]  # no difference columns


def test_summary_with_a_failed_baseline(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path)
    f.sweep_trial(
        "b0000001",
        "ERROR",
        {},
        [(0.95, 0.01)],
        error="ValueError: boom\n",
        baseline={"objective": "independent", "w_adv": 0.0, "pairing": "shared"},
    )
    f.sweep_trial("a0000001", "TERMINATED", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.90, 0.05)] * 3, start=1)
    f.save_state()
    write_report(f.results)
    text = (f.results / SUMMARY_MD).read_text()
    assert "Baseline (`independent`, same fixed settings): 1 planned; b0000001 error" in text
    assert "- No complete baseline to compare with." in text
    assert "| baseline b0000001 (error) | 0.9500 | 0.0100 | - | - |" in text
    assert "- `b0000001` (baseline; w_adv=0), after 1 epoch: ValueError: boom" in text
