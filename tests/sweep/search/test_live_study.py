"""The live Optuna study: the searcher's own storage is the results folder's journal.

The real searcher in process (no Ray runtime): the study moves into
``optuna.journal`` before the first proposal, every ask and tell lands there, the
searcher still pickles (Tune writes it into ``tuner.pkl``), and a restore replaces
the journal's study with the saved state's trials: none twice, none lost.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import optuna
from optuna.trial import TrialState

from sweep.search.live_study import LIVE_STUDY_FILE, REPLACED_SUFFIX, LiveStudy, journal_storage
from sweep.search.relocate import resuming_at
from sweep.search.searcher import SweepSearcher
from tests.sweep.search.test_searcher import OBJECTIVES, make, result


def make_live(folder: Path, baselines: int = 1, seed: int = 0) -> SweepSearcher:
    live = LiveStudy(folder / LIVE_STUDY_FILE, "my-sweep", OBJECTIVES)
    return make(k=1, trials=10, baselines=baselines, seed=seed, live=live)


def journal_trials_at(path: Path) -> list[optuna.trial.FrozenTrial]:
    """What another process (the dashboard) reads from the file right now."""
    return optuna.load_study(study_name="my-sweep", storage=journal_storage(path)).get_trials(deepcopy=False)


def journal_trials(folder: Path) -> list[optuna.trial.FrozenTrial]:
    return journal_trials_at(folder / LIVE_STUDY_FILE)


def test_nothing_is_written_until_the_first_proposal_and_the_searcher_pickles(tmp_path):
    searcher = make_live(tmp_path)
    assert not (tmp_path / LIVE_STUDY_FILE).exists()
    pickle.loads(pickle.dumps(searcher))  # Tune's tuner.pkl holds the searcher
    searcher.suggest("b")  # the baseline: the study goes live, with no Optuna trial
    assert (tmp_path / LIVE_STUDY_FILE).exists()
    assert journal_trials(tmp_path) == []


def test_every_ask_and_tell_is_in_the_journal_as_it_happens(tmp_path):
    searcher = make_live(tmp_path)
    searcher.suggest("b")
    config = searcher.suggest("t1")
    searcher.suggest("t2")
    searcher.on_trial_result("t1", result(1, acc=0.7))
    running = journal_trials(tmp_path)
    assert [t.state for t in running] == [TrialState.RUNNING, TrialState.RUNNING]
    assert running[0].params["w_adv"] == config["w_adv"]
    searcher.on_trial_complete("t1", result(3, acc=0.9, dis=0.2))
    searcher.on_trial_complete("t2", result(2), error=True)
    searcher.on_trial_complete("b", result(3))  # the baseline never reaches Optuna
    done = journal_trials(tmp_path)
    assert [t.state for t in done] == [TrialState.COMPLETE, TrialState.FAIL]
    assert done[0].values == [0.9, 0.2]
    study = optuna.load_study(study_name="my-sweep", storage=journal_storage(tmp_path / LIVE_STUDY_FILE))
    assert study.metric_names == OBJECTIVES and len(study.best_trials) == 1


def test_a_restore_replaces_the_journal_study_with_the_saved_trials(tmp_path):
    # The driver saves its state after t1 and t2 were proposed, then tells t1, proposes
    # t3, and dies. Tune resumes from the saved state: t2 runs on, t1 and t3 are run
    # again. The journal must then hold the saved trials once each, not t3 as well.
    first = make_live(tmp_path, baselines=0)
    first.suggest("t1")
    first.suggest("t2")
    state = tmp_path / "searcher-state-0.json"
    first.save(str(state))
    first.on_trial_complete("t1", result(3))
    first.suggest("t3")
    assert len(journal_trials(tmp_path)) == 3

    resumed = make_live(tmp_path, baselines=0)
    resumed.restore(str(state))
    trials = journal_trials(tmp_path)
    assert [t.number for t in trials] == [0, 1] and {t.state for t in trials} == {TrialState.RUNNING}
    resumed.on_trial_complete("t2", result(3, acc=0.8))  # the running trial is still told
    assert journal_trials(tmp_path)[1].state == TrialState.COMPLETE
    resumed.suggest("t4")
    assert [t.number for t in journal_trials(tmp_path)] == [0, 1, 2]
    assert len(optuna.get_all_study_names(journal_storage(tmp_path / LIVE_STUDY_FILE))) == 1
    # The file before the resume is kept aside, once, and never read.
    assert len(journal_trials_at(tmp_path / (LIVE_STUDY_FILE + REPLACED_SUFFIX))) == 3


def test_a_damaged_journal_does_not_stop_a_resume(tmp_path):
    first = make_live(tmp_path, baselines=0)
    first.suggest("t1")
    state = tmp_path / "searcher-state-0.json"
    first.save(str(state))
    with (tmp_path / LIVE_STUDY_FILE).open("ab") as f:
        f.write(b'{"op_code": 5, "worker_id": "x", "trial_i')  # cut short on a full disk
    (tmp_path / LIVE_STUDY_FILE).write_bytes((tmp_path / LIVE_STUDY_FILE).read_bytes() + b"garbage\n{}\n")
    resumed = make_live(tmp_path, baselines=0)
    resumed.restore(str(state))
    assert [t.number for t in journal_trials(tmp_path)] == [0]


def test_a_searcher_without_a_live_study_writes_nothing(tmp_path):
    searcher = make(baselines=0)
    searcher.suggest("t1")
    assert list(tmp_path.iterdir()) == []


def test_a_resumed_copy_writes_its_own_journal_not_the_originals(tmp_path):
    # Tune unpickles the searcher made for the original folder; resuming the copy must
    # leave the original untouched (tests/test_faults.py resumes a real copy).
    original, copy = tmp_path / "original", tmp_path / "copy"
    original.mkdir()
    first = make_live(original, baselines=0)
    first.suggest("t1")
    state = original / "searcher-state-0.json"
    first.save(str(state))
    before = (original / LIVE_STUDY_FILE).read_bytes()
    restored = pickle.loads(pickle.dumps(make_live(original, baselines=0)))  # as tuner.pkl holds it
    with resuming_at(str(copy / "tune"), str(copy)):
        restored.restore(str(state))
        restored.suggest("t2")
    assert (original / LIVE_STUDY_FILE).read_bytes() == before
    assert not (original / (LIVE_STUDY_FILE + REPLACED_SUFFIX)).exists()
    assert [t.number for t in journal_trials(copy)] == [0, 1]


def test_the_live_journal_is_written_without_fsync_and_reads_back_whole(tmp_path, monkeypatch):
    """The driver's appends skip fsync (the journal is rebuilt on every resume); a reader sees every line."""
    import os

    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    searcher = make_live(tmp_path)
    searcher.suggest("b")
    for i in range(3):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", result(3, acc=0.5 + i / 10, dis=0.1))
    assert synced == []  # the searcher's own writes
    done = journal_trials(tmp_path)
    assert [t.values for t in done] == [[0.5, 0.1], [0.6, 0.1], [0.7, 0.1]]
    assert all(t.user_attrs["tune_trial_ids"] == [f"t{t.number}"] for t in done)
    text = (tmp_path / LIVE_STUDY_FILE).read_bytes()
    assert text.endswith(b"\n") and not (tmp_path / (LIVE_STUDY_FILE + ".lock")).exists()  # lock released

    # Any other writer through journal_storage (the default) still syncs each append.
    optuna.create_study(storage=journal_storage(tmp_path / "other.journal"), study_name="x").ask()
    assert synced
