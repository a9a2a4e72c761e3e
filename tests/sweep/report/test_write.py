"""write_report and print_final on whole folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from sweep.report import OPTUNA_DB, PARETO_CSV, PARETO_PNG, SUMMARY_MD, TRIALS_CSV, print_final, write_report
from tests.sweep.tune_folders import TuneFolder, read_csv


def test_every_file_is_written(full: tuple[TuneFolder, Any]) -> None:
    folder, report = full
    for name in (TRIALS_CSV, PARETO_CSV, PARETO_PNG, OPTUNA_DB, SUMMARY_MD):
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
    base_line = next(i for i, line in enumerate(lines) if line.startswith("baseline b0000001"))
    assert len(front_lines) == 3 and base_line > max(front_lines)
    assert "ensemble_acc ↑" in out and "excess_agreement ↓" in out and "w_adv" in out and "disc_depth" in out
    assert "5 complete, 1 stopped early, 1 error, 3 interrupted (of 9 requested)" in out
    assert "error a0000006 (search): DivergedError: diverged at epoch 2, step 7" in out
    assert str(folder.results) in out


def test_rebuilding_gives_the_same_files(full: tuple[TuneFolder, Any]) -> None:
    folder, _ = full
    names = (TRIALS_CSV, PARETO_CSV, PARETO_PNG, SUMMARY_MD)
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
    assert optuna.load_study(study_name="demo", storage=f"sqlite:///{f.results / OPTUNA_DB}").trials == []
    print_final(report)
    assert "Pareto front: empty" in capsys.readouterr().out
