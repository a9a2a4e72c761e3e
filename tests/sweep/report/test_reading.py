"""Reading a results folder in every state it can be in: broken, crashed, behind a URI."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from sweep.errors import UserError
from sweep.report import OPTUNA_DB, PARETO_CSV, PARETO_PNG, SUMMARY_MD, write_report
from tests.sweep.tune_folders import DIVERGED_ERROR_TXT, SPACE, TuneFolder, read_csv


def test_missing_sweep_json_is_a_user_error(tmp_path: Path) -> None:
    folder = TuneFolder(tmp_path)
    (folder.results / "sweep.json").unlink()
    with pytest.raises(UserError, match=r"demo: not a netsep results folder \(sweep.json is missing\)"):
        write_report(folder.results)


def test_unknown_folder_missing_space_and_missing_tune_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="nowhere: no such results folder"):
        write_report(tmp_path / "nowhere")
    folder = TuneFolder(tmp_path)
    (folder.results / "space.yaml").unlink()
    with pytest.raises(UserError, match="space.yaml is missing"):
        write_report(folder.results)
    other = TuneFolder(tmp_path, name="other")
    other.tune.rmdir()
    with pytest.raises(UserError, match="no Ray Tune experiment at"):
        write_report(other.results)
    broken = TuneFolder(tmp_path, name="broken")
    (broken.results / "sweep.json").write_text("{not json")
    with pytest.raises(UserError, match="sweep.json: cannot be read as a sweep plan"):
        write_report(broken.results)


def test_no_experiment_state_yet_infers_statuses_from_folders(tmp_path: Path) -> None:
    f = TuneFolder(tmp_path)
    f.sweep_trial("a0000001", "RUNNING", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.8, 0.1)] * 3, start=1)
    f.sweep_trial(
        "a0000002", "RUNNING", {"w_adv": 0.2, "disc_arch": "mlp"}, [(0.9, 0.2)], start=2, error=DIVERGED_ERROR_TXT
    )
    # no save_state(): the driver died before Tune wrote one
    report = write_report(f.results)
    assert [(t.trial_id, t.status) for t in report.trials] == [("a0000001", "complete"), ("a0000002", "interrupted")]
    assert "an earlier attempt failed: DivergedError" in report.trials[1].reason
    assert [c.config_id for c in report.pareto] == ["a0000001"]
    assert [(c.config_id, c.status) for c in report.configs] == [("a0000001", "complete"), ("a0000002", "interrupted")]
    summary = (f.results / SUMMARY_MD).read_text()
    assert "Tune had saved no experiment state yet" in summary
    assert "Baseline (`independent`, same fixed settings, same seeds): 1 planned; none started" in summary


def test_tune_folder_behind_a_uri_is_read(tmp_path: Path) -> None:
    # --storage s3://...: the results folder is local, Tune's experiment is behind a URI.
    remote = tmp_path / "bucket" / "demo"
    f = TuneFolder(tmp_path / "local", tune_storage=f"file://{remote}")
    f.sweep_trial("a0000001", "TERMINATED", {"w_adv": 0.1, "disc_arch": "mlp"}, [(0.8, 0.1)] * 3)
    f.save_state()
    remote.mkdir(parents=True)
    f.tune.rename(remote / "tune")
    report = write_report(f.results)
    assert [(t.trial_id, t.status) for t in report.trials] == [("a0000001", "complete")]
    assert report.trials[0].checkpoint == f"file://{remote}/tune/trial_a0000001/checkpoint_000002"


def test_one_objective_and_several_baselines(tmp_path: Path) -> None:
    """The objective is searched: one baseline per pairing, each trial compared with its own."""
    space = {
        **SPACE,
        "name": "single",
        "objectives": [{"metric": "ensemble_acc", "direction": "max"}],
        "fixed": {"classifier": "simple3", "epochs": 2, "batch_size": 64},
        "params": {
            "objective": {"type": "categorical", "choices": ["seed", "dice"]},
            "w_adv": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
        },
    }
    f = TuneFolder(tmp_path, space=space)
    fixed = {"objective": "independent", "w_adv": 0.0}
    f.sweep_trial("b0000001", "TERMINATED", {}, [(0.7, 0.1), (0.80, 0.1)], baseline={**fixed, "pairing": "shared"})
    f.sweep_trial("b0000002", "TERMINATED", {}, [(0.7, 0.1), (0.75, 0.1)], baseline={**fixed, "pairing": "split"})
    f.sweep_trial("a0000001", "TERMINATED", {"objective": "seed", "w_adv": 0.1}, [(0.7, 0.1), (0.85, 0.1)])
    f.sweep_trial("a0000002", "TERMINATED", {"objective": "dice", "w_adv": 0.2}, [(0.7, 0.1), (0.85, 0.1)])
    f.sweep_trial("a0000003", "TERMINATED", {"objective": "dice", "w_adv": 0.3}, [(0.7, 0.1), (0.82, 0.1)])
    f.save_state()
    report = write_report(f.results)
    rows = {r["config_id"]: r for r in read_csv(f.results / PARETO_CSV)}
    assert set(rows) == {"a0000001", "a0000002"}  # a tie on the single objective: both best
    # One baseline per pairing, each named by it; every configuration meets the one that saw its batches.
    assert [(g.label, g.trial_ids) for g in report.baseline_groups] == [
        ("baseline-shared", ["b0000001"]),
        ("baseline-split", ["b0000002"]),
    ]
    assert rows["a0000001"]["baseline"] == "baseline-split"  # seed splits the batch
    assert rows["a0000002"]["baseline"] == "baseline-shared"  # dice shares it
    assert float(rows["a0000001"]["delta_ensemble_acc"]) == pytest.approx(0.10)
    assert float(rows["a0000002"]["delta_ensemble_acc"]) == pytest.approx(0.05)
    assert {r["beats_baseline"] for r in rows.values()} == {"no"}  # one seed each: no claim
    assert report.baselines and len(report.baselines) == 2
    assert (f.results / PARETO_PNG).read_bytes()[:4] == b"\x89PNG"
    study = optuna.load_study(study_name="demo", storage=f"sqlite:///{f.results / OPTUNA_DB}")
    assert {t.user_attrs["config_id"] for t in study.best_trials} == set(rows)
    assert {tuple(t.user_attrs["tune_trial_ids"]) for t in study.best_trials} == {(k,) for k in rows}
