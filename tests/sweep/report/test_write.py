"""write_report and print_final on whole folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from sweep.report import (
    CONFIGS_CSV,
    OPTUNA_DB,
    PARETO_CSV,
    PARETO_PNG,
    SUMMARY_MD,
    TRIALS_CSV,
    print_final,
    write_report,
)
from tests.sweep.tune_folders import TuneFolder, read_csv


def test_every_file_is_written(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    for name in (TRIALS_CSV, CONFIGS_CSV, PARETO_CSV, PARETO_PNG, OPTUNA_DB, SUMMARY_MD):
        assert (folder.results / name).is_file(), name
        assert report.files[name] == folder.results / name
    assert (folder.results / PARETO_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_print_final_shows_front_baseline_counts_and_folder(
    full: tuple[TuneFolder, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, report = full
    print_final(report)
    out = capsys.readouterr().out
    lines = out.splitlines()
    front_lines = [i for i, line in enumerate(lines) if line.startswith(("a0000002", "a0000001", "a0000003"))]
    assert [lines[i].split()[0] for i in front_lines] == ["a0000002", "a0000001", "a0000003"]
    base_line = next(i for i, line in enumerate(lines) if line.startswith("baseline "))
    assert len(front_lines) == 3 and base_line > max(front_lines)
    assert lines[base_line].split()[:4] == ["baseline", "1", "0.8900", "0.0600"]  # its seeds, then its values
    assert "ensemble_acc ↑" in out and "excess_agreement ↓" in out and "w_adv" in out and "disc_depth" in out
    assert "Pareto front: 3 non-dominated of 5 complete configurations (1 seeds each;" in out
    # One seed per configuration: no noise floor, and no configuration beats the baseline.
    assert "Noise floor (seed sd of the baseline): ensemble_acc -, excess_agreement -" in out
    assert "Beats the baseline beyond seed noise: nothing can be claimed with one seed per configuration" in out
    assert [lines[i].split()[-4] for i in front_lines] == ["no", "no", "no"]  # the beats-baseline column
    assert "Configurations: 5 complete, 1 stopped early, 1 error, 3 interrupted (of 9 requested)" in out
    assert "Baseline: baseline complete (1 seeds)" in out
    assert "error a0000006 (search, seed 0): DivergedError: diverged at epoch 2, step 7" in out
    assert str(folder.results) in out and CONFIGS_CSV in out


def test_print_final_names_the_configuration_that_beats_the_baseline(
    replicated: tuple[TuneFolder, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, report = replicated
    print_final(report)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "Noise floor (seed sd of the baseline): ensemble_acc 0.0100, excess_agreement 0.0010" in out
    assert "Pareto front: 2 non-dominated of 4 complete configurations (3 seeds each;" in out
    rows = [line.split() for line in lines if line.startswith(("c0 ", "c1 ", "baseline "))]
    assert [r[:4] for r in rows] == [
        ["c1", "3", "0.9600", "0.0615"],
        ["c0", "3", "0.9103", "0.0208"],
        ["baseline", "3", "0.8100", "0.0610"],
    ]
    assert rows[1][4:8] == ["+0.1003", "[+0.0965,", "+0.1041]", "-0.0402"]  # the paired difference and its interval
    assert "Beats the baseline beyond seed noise: c0\n" in out
    assert "Configurations: 4 complete, 0 stopped early, 1 error, 0 interrupted (of 5 requested)" in out
    assert "Baseline: baseline complete (3 seeds)" in out
    assert "Infeasible (inert adversary or a constraint; kept off the front): c4\n" in out
    assert "error c3s1 (search, seed 1): DivergedError: diverged at epoch 2, step 7" in out
    assert str(folder.results) in out


def test_rebuilding_gives_the_same_files(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    names = (TRIALS_CSV, CONFIGS_CSV, PARETO_CSV, PARETO_PNG, SUMMARY_MD)
    before = {n: (folder.results / n).read_bytes() for n in names}
    storage = f"sqlite:///{folder.results / OPTUNA_DB}"

    def study_content() -> list[tuple]:
        study = optuna.load_study(study_name="demo", storage=storage)
        return [
            (
                t.number,
                t.state,
                t.values,
                t.params,
                t.user_attrs,
                t.intermediate_values,
                t.datetime_start,
                t.datetime_complete,
            )
            for t in study.get_trials()
        ]

    first = study_content()
    write_report(folder.results)
    assert {n: (folder.results / n).read_bytes() for n in names} == before
    # Rebuilt from scratch: the same trials, not twice as many.
    assert len(optuna.get_all_study_summaries(storage)) == 1
    assert repr(study_content()) == repr(first)


def test_empty_experiment_writes_empty_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = TuneFolder(tmp_path)
    f.save_state()
    report = write_report(f.results)
    assert report.trials == [] and report.pareto == []
    assert read_csv(f.results / TRIALS_CSV) == [] and read_csv(f.results / PARETO_CSV) == []
    assert report.configs == [] and read_csv(f.results / CONFIGS_CSV) == []
    assert optuna.load_study(study_name="demo", storage=f"sqlite:///{f.results / OPTUNA_DB}").trials == []
    print_final(report)
    assert "Pareto front: empty" in capsys.readouterr().out
