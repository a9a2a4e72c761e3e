"""Reading a Tune experiment folder: Tune's state through ExperimentAnalysis, the rest from the folder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sweep.errors import UserError
from sweep.report.tune_folder import epochs_done, experiment_exists, parse_results, read_experiment
from tests.sweep.tune_folders import DIVERGED_ERROR_TXT, T0, TuneExperimentWriter


def _rows(trial_id: str, epochs: int, start: float = 0.0) -> list[dict]:
    return [
        {"epoch": e, "trial_id": trial_id, "ensemble_acc": 0.5 + e / 10, "timestamp": T0 + start + 10 * e}
        for e in range(1, epochs + 1)
    ]


def test_parse_results_skips_a_torn_line_and_non_objects() -> None:
    text = '{"epoch": 1}\n\n[1, 2]\n{"epoch": 2}\n{"epoch": 3, "acc'
    assert parse_results(text) == [{"epoch": 1}, {"epoch": 2}]
    assert parse_results(None) == [] and parse_results("") == []


def test_epochs_done_prefers_the_trials_own_count() -> None:
    assert epochs_done({"epoch": 4, "training_iteration": 2}) == 4  # the epoch survives a resume
    assert epochs_done({"training_iteration": 2}) == 2
    assert epochs_done({"epoch": float("nan"), "training_iteration": True}) == 0
    assert epochs_done({}) == 0


def test_trials_come_in_creation_order_whatever_the_states_order(tmp_path: Path) -> None:
    """After a resume Tune re-adds trials newest result first; the experiment_tag counter still tells."""
    w = TuneExperimentWriter(tmp_path / "tune")
    for n, trial_id in enumerate(["c1", "a2", "b3", "d4"]):
        w.trial(trial_id, "TERMINATED", {"epochs": 2, "arm": ""}, _rows(trial_id, 2, start=n), start=n)
    w.save_state(entries=list(reversed(w.entries)))
    experiment = read_experiment(str(w.tune))
    assert [t.trial_id for t in experiment.trials] == ["c1", "a2", "b3", "d4"]
    assert experiment.notes == ()


def test_state_fields_folder_files_and_unlisted_trials(tmp_path: Path) -> None:
    w = TuneExperimentWriter(tmp_path / "tune")
    w.trial("done", "TERMINATED", {"epochs": 2, "lr": 0.1}, _rows("done", 2), start=1)
    w.trial("bad", "ERROR", {"epochs": 2}, _rows("bad", 1), error=DIVERGED_ERROR_TXT, start=2)
    w.trial("run", "RUNNING", {"epochs": 2}, _rows("run", 1), torn_tail=True, start=3)
    w.trial("wait", "PENDING", {"epochs": 2}, [], folder=False)
    w.save_state()
    w.trial("late", "RUNNING", {"epochs": 2}, _rows("late", 1, start=9), in_state=False, start=9)
    trials = {t.trial_id: t for t in read_experiment(str(w.tune)).trials}
    assert list(trials) == ["done", "bad", "run", "wait", "late"]
    done = trials["done"]
    assert (done.status, done.config, done.epochs, done.started) == ("TERMINATED", {"epochs": 2, "lr": 0.1}, 2, T0 + 1)
    assert done.checkpoints == tuple(str(w.tune / "trial_done" / f"checkpoint_{i:06d}") for i in (0, 1))
    assert done.ended == T0 + 20 and done.error_text is None
    assert trials["bad"].status == "ERROR" and trials["bad"].error_text == DIVERGED_ERROR_TXT
    # Tune reads a RUNNING trial back as PENDING; its start time tells it was running.
    assert trials["run"].status == "RUNNING" and trials["run"].epochs == 1  # the torn line is skipped
    assert trials["wait"].status == "PENDING" and trials["wait"].results == () and trials["wait"].checkpoints == ()
    assert trials["late"].status == "" and trials["late"].started == T0 + 9 + 10


def test_results_not_synced_fall_back_to_the_states_last_result(tmp_path: Path) -> None:
    w = TuneExperimentWriter(tmp_path / "tune")
    w.trial("far", "TERMINATED", {"epochs": 2}, _rows("far", 2))
    w.save_state()
    (w.tune / "trial_far" / "result.json").write_text("")  # a remote node's results never arrived
    (trial,) = read_experiment(str(w.tune)).trials
    assert trial.epochs == 2 and trial.last_result["ensemble_acc"] == pytest.approx(0.7)


def test_without_state_or_with_a_broken_one_the_folders_are_read(tmp_path: Path) -> None:
    w = TuneExperimentWriter(tmp_path / "tune")
    w.trial("x", "TERMINATED", {"epochs": 1}, _rows("x", 1))
    experiment = read_experiment(str(w.tune))
    assert [(t.trial_id, t.status) for t in experiment.trials] == [("x", "")]
    assert "saved no experiment state" in experiment.notes[0]
    (w.tune / "experiment_state-2026-01-01_00-00-00.json").write_text('{"trial_data": [["{not json')
    experiment = read_experiment(str(w.tune))
    assert [t.trial_id for t in experiment.trials] == ["x"] and "could not be read" in experiment.notes[0]


def test_an_older_state_is_not_read(tmp_path: Path) -> None:
    w = TuneExperimentWriter(tmp_path / "tune")
    w.trial("x", "TERMINATED", {"epochs": 1}, _rows("x", 1))
    w.save_state("2026-01-02_00-00-00")
    w.save_state("2026-01-01_00-00-00", entries=[replace(w.entries[0], status="ERROR")])
    assert read_experiment(str(w.tune)).trials[0].status == "TERMINATED"


def test_a_uri_is_read_and_named_as_given(tmp_path: Path) -> None:
    w = TuneExperimentWriter(tmp_path / "bucket" / "tune")
    w.trial("x", "TERMINATED", {"epochs": 1}, _rows("x", 1))
    w.save_state()
    uri = f"file://{w.tune}"
    assert experiment_exists(uri) and not experiment_exists(f"file://{tmp_path}/nothing")
    (trial,) = read_experiment(uri).trials
    assert trial.checkpoints == (f"{uri}/trial_x/checkpoint_000000",)
    assert json.loads((w.tune / "trial_x" / "params.json").read_text()) == trial.config


def test_an_unknown_uri_scheme_is_a_user_error() -> None:
    with pytest.raises(UserError, match="nosuch://bucket/tune: cannot open the Tune experiment there"):
        read_experiment("nosuch://bucket/tune")
