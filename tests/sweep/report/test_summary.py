"""summary.md, written from the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweep.report import OPTUNA_DB, SUMMARY_MD, build_report, write_report
from tests.sweep.report.replicated import build_replicated
from tests.sweep.tune_folders import SPACE, TuneFolder


def _section(text: str, title: str) -> str:
    """The body of ``## title``, up to the next section."""
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_summary_is_written_from_the_numbers(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    text = (folder.results / SUMMARY_MD).read_text()
    assert text.startswith("# Sweep `demo`")
    # The noise floor comes first, before what ran.
    assert text.index("## Noise floor") < text.index("## What ran") < text.index("## Pareto front of configurations")
    for expected in [
        "Dataset: digits; classifier: simple3; training objective: dice; 3 epochs per trial",
        "Objectives: ensemble_acc (maximize), excess_agreement (minimize)",
        "Sampler: tpe (seed 0)",
        "Configurations: 9 requested, 10 started, 7 finished (5 complete, 1 stopped early, 1 failed), 3 interrupted; "
        "seeds per configuration: 1 (seed 0 + r, the baseline's seeds); 10 search trials in all",
        "Baseline (`independent`, same fixed settings, same seeds): 1 planned; baseline: 1 of 1 seeds complete",
        "Resources per trial: 1 CPU, 0 GPU; at most 2 at once",
        "disc_depth int in [1, 4] (only when disc_arch in siamese_pool)",
        "3 of 4 rankable configurations are non-dominated by their means over seeds",
        "`a0000006` (w_adv=0.8, disc_arch=siamese_pool, disc_depth=4): seed 0: DivergedError: diverged at epoch 2",
        "1 configuration was stopped early (all seeds together), after 1 of 3 epochs",
        "`a0000009` complete but objective excess_agreement is not a finite number",
        f'optuna.load_study(study_name="demo", storage="sqlite:///{folder.results / OPTUNA_DB}")',
    ]:
        assert expected in text, expected
    front = _section(text, "Pareto front of configurations")
    rows = [line for line in front.splitlines() if line.startswith("| ") and not line.startswith("| config ")]
    # Best first on ensemble_acc (a2), the best excess_agreement (a3, 0.0200) last; then the baseline.
    assert rows == [
        "| a0000002 | 1 | 0.9200 | 0.0800 | +0.0300 (no interval) | +0.0200 (no interval) | no | 0.5 | siamese_pool | 2 |",
        "| a0000001 | 1 | 0.9000 | 0.0500 | +0.0100 (no interval) | -0.0100 (no interval) | no | 0.01 | mlp | - |",
        "| a0000003 | 1 | 0.8800 | 0.0200 | -0.0100 (no interval) | -0.0400 (no interval) | no | 0.9 | mlp | - |",
        "| baseline | 1 | 0.8900 | 0.0600 | 0 | 0 |  | 0 | - | - |",
    ]
    # a0000001 is better than the baseline on both objectives, but on one seed: nothing is claimed.
    noise = _section(text, "Noise floor")
    assert "Every configuration ran **one seed**" in noise and "no configuration is said to beat the baseline" in noise
    assert "would train 3 seeds of every configuration and baseline, 33 trials instead of 11" in noise
    claims = _section(text, "What this sweep can claim")
    assert "- Nothing: with one seed per configuration no difference can be told from seed noise." in claims
    assert "beats the baseline on every objective" not in text


def test_summary_claims_the_configuration_that_beats_the_baseline_over_seeds(
    replicated: tuple[TuneFolder, Any],
) -> None:
    folder, _ = replicated
    text = (folder.results / SUMMARY_MD).read_text()
    noise = _section(text, "Noise floor")
    assert "ensemble_acc: seed sd 0.0100, spread of the front 0.0351" in noise
    assert "excess_agreement: seed sd 0.0010, spread of the front 0.0288" in noise
    assert "1 of 2 front members beat the baseline beyond seed noise (paired by seed, Holm-adjusted over the 2" in noise
    assert "Configurations: 5 requested, 5 started, 5 finished (4 complete, 0 stopped early, 1 failed)" in text
    assert "seeds per configuration: 3 (seed 0 + r, the baseline's seeds); 15 search trials in all" in text
    assert "baseline: 3 of 3 seeds complete" in text
    front = _section(text, "Pareto front of configurations")
    assert "2 of 3 rankable configurations are non-dominated by their means over seeds" in front
    assert "| c1 | 3 | 0.9600 | 0.0615 | +0.1500 [+0.1376, +0.1624] | +0.0005 [-0.0038, +0.0048] | no |" in front
    assert "| c0 | 3 | 0.9103 | 0.0208 | +0.1003 [+0.0965, +0.1041] | -0.0402 [-0.0421, -0.0383] | yes |" in front
    assert "| baseline | 3 | 0.8100 | 0.0610 | 0 | 0 |" in front
    claims = _section(text, "What this sweep can claim")
    assert (
        "- `c0` beats the baseline on every objective over 3 paired seeds: ensemble_acc +0.1003 [+0.0965, +0.1041], "
        "excess_agreement -0.0402 [-0.0421, -0.0383] (w_adv=0.1, disc_arch=mlp)"
    ) in claims
    assert "`c1`" not in claims and "Nothing" not in claims
    assert "- `c3` (w_adv=0.4, disc_arch=mlp): seed 1: DivergedError: diverged at epoch 2" in _section(text, "Failed")
    inert = _section(text, "Infeasible (inert adversary, constraints)")
    assert "- `c4`: disc_acc >= 0.55 (mean 0.500: an inert adversary) (w_adv=0.5, disc_arch=mlp)" in inert


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
    report = write_report(f.results)
    text = (f.results / SUMMARY_MD).read_text()
    assert [c.config_id for c in report.pareto] == ["a0000001", "a0000002"]
    assert [c.beats_baseline for c in report.pareto] == [False, False]
    assert "- Nothing: with one seed per configuration no difference can be told from seed noise." in text
    # The best ensemble_acc (a0000001, first) and its difference from the baseline's 0.9500.
    front = _section(text, "Pareto front of configurations")
    assert (
        "| a0000001 | 1 | 0.9000 | 0.0500 | -0.0500 (no interval) | +0.0400 (no interval) | no | 0.1 | mlp | - |"
        in front
    )
    assert front.index("| a0000001 |") < front.index("| a0000002 |") < front.index("| baseline | 1 | 0.9500 | 0.0100 |")


def test_summary_when_no_front_member_beats_the_baseline_over_seeds(tmp_path: Path) -> None:
    f = build_replicated(tmp_path, configs=(2,))  # within seed noise of the baseline on both objectives
    write_report(f.results)
    text = (f.results / SUMMARY_MD).read_text()
    assert "0 of 1 front members beat the baseline beyond seed noise" in _section(text, "Noise floor")
    assert "| c2 | 3 | 0.8107 | 0.0610 | +0.0007 [-0.0121, +0.0134] | +0.0000 [-0.0043, +0.0043] | no |" in text
    claims = _section(text, "What this sweep can claim")
    assert "- No configuration is better than the baseline on every objective beyond seed noise with 3 seeds" in claims
    assert "beats the baseline on every objective" not in claims


def test_summary_without_a_baseline(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path, space={**SPACE, "baseline": False}, baseline=False)
    f.sweep_trial("a0000001", "TERMINATED", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.90, 0.05)] * 3)
    f.save_state()
    write_report(f.results)
    text = (f.results / SUMMARY_MD).read_text()
    assert "- Baseline: not run (the space sets `baseline: false`)" in text
    assert "- No baseline ran: nothing is compared with it." in text
    front = _section(text, "Pareto front of configurations")
    assert "| a0000001 | 1 | 0.9000 | 0.0500 | 0.1 | mlp | - |" in front
    assert "Δ" not in front and "beats baseline" not in front  # no difference columns


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
    assert (
        "Baseline (`independent`, same fixed settings, same seeds): 1 planned; baseline: 0 of 1 seeds complete" in text
    )
    # No complete baseline seed: no difference to show, and its row has no values.
    assert "| a0000001 | 1 | 0.9000 | 0.0500 | - | - |" in text
    assert "| baseline (0 of 1 complete) | 0 | - | - |" in text
    assert "- baseline `b0000001` (seed 0): ValueError: boom" in _section(text, "Failed")


def test_a_baseline_without_a_complete_seed_compares_nothing(tmp_path: Path) -> None:
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
    report = build_report(f.results)
    assert [c.beats_baseline for c in report.pareto] == [None]
