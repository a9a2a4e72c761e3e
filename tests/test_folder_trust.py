"""Reading a results folder never runs its code and never loses its data.

One test (or a few) per numbered defect of the folder-trust hardening; each is
named ``test_defect_N_...``. Results folders travel (copied from a colleague, pulled
from shared storage), so every command that reads a folder it did not just write
treats it as untrusted input. These run ``sweep.cli.main`` in-process on folders
written by hand in Tune's own layout (``tests.sweep.tune_folders``); Ray never starts
(``ray_never_starts``). The GPU-node check, which needs a Ray cluster, is in
``tests/test_gpu_node_check.py``.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sweep.backend.connection
from sweep.cli import main
from tests.helpers import read_csv
from tests.helpers import refused as _refused
from tests.sweep.compare.folders import CompareRuns, sweep_folder
from tests.sweep.tune_folders import build_full

MARKER = "planted-code-ran"


class _Planted:
    """Unpickling this creates ``MARKER`` in the folder it names: proof that a reader ran the pickle."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (os.path.join(self.folder, MARKER), "w"))


def _plant(tune_dir: Path, witness: Path) -> None:
    """Put a cloudpickle blob (Tune's CLOUDPICKLE_FALLBACK) into every experiment state of ``tune_dir``."""
    from ray import cloudpickle

    blob = {"_type": "CLOUDPICKLE_FALLBACK", "value": cloudpickle.dumps(_Planted(witness)).hex()}
    states = sorted(tune_dir.glob("experiment_state-*.json"))
    assert states, f"no experiment state in {tune_dir}"
    for path in states:
        data = json.loads(path.read_text())
        data["runner_data"]["planted"] = blob
        for entry in data["trial_data"]:
            trial, meta = json.loads(entry[0]), json.loads(entry[1])
            trial["config"]["planted"] = blob
            meta["last_result"]["planted"] = blob
            entry[0], entry[1] = json.dumps(trial), json.dumps(meta)
        path.write_text(json.dumps(data))


@pytest.fixture
def ray_never_starts(monkeypatch) -> None:
    def connect(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("Ray was started by a command that reads or refuses a folder")

    monkeypatch.setattr(sweep.backend.connection, "connect", connect)


def _compare_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A finished sweep with a finished compare run in it: (sweep folder, compare folder)."""
    from sweep.compare.plan import plan_compare

    f = sweep_folder(tmp_path / "s")
    plan = plan_compare(f.results, seeds=3, top=1)
    plan = plan.__class__(**{**plan.__dict__, "cpus_per_trial": 1.0, "gpus_per_trial": 0.0, "max_concurrent": 2})
    plan.save()
    runs = CompareRuns(plan)
    runs.all_complete({"front-1": 0.9, "baseline": 0.6})
    runs.writer.save_state()
    return f.results, Path(plan.compare_dir)


# ------------------------------------------------------------------ defect 1
def test_defect_1_report_reads_a_planted_state_without_running_it(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path)
    _plant(f.results / "tune", tmp_path)
    assert main(["report", str(f.results)]) == 0, capsys.readouterr().err
    assert not (tmp_path / MARKER).exists(), "report unpickled the folder's state"
    rows = read_csv(f.results / "trials.csv")
    assert {r["trial_id"] for r in rows} >= {"b0000001", "a0000001", "a0000002"}
    assert all(r["status"] for r in rows)  # statuses still come from Tune's state (plain JSON)


def test_defect_1_compare_report_only_never_runs_the_runs_state(tmp_path, ray_never_starts, capsys):
    sweep_dir, compare_dir = _compare_folder(tmp_path)
    _plant(compare_dir / "tune", tmp_path)
    assert main(["compare", str(sweep_dir), "--report-only"]) == 0, capsys.readouterr().err
    assert not (tmp_path / MARKER).exists(), "compare --report-only unpickled the runs' state"
    assert len([r for r in read_csv(compare_dir / "runs.csv") if r["status"] == "complete"]) == 9


# ------------------------------------------------------------------ defect 2
def test_defect_2_an_emptied_tune_folder_does_not_erase_the_record(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path)
    assert main(["report", str(f.results)]) == 0
    before = read_csv(f.results / "trials.csv")
    for path in sorted((f.results / "tune").iterdir(), reverse=True):  # a half-finished copy: tune/ is empty
        if path.is_dir():
            for p in sorted(path.rglob("*"), reverse=True):
                p.rmdir() if p.is_dir() else p.unlink()
            path.rmdir()
        else:
            path.unlink()
    assert main(["report", str(f.results)]) == 0
    assert read_csv(f.results / "trials.csv") == before
    assert "holds no trial; this report was rebuilt from trials.csv" in (f.results / "summary.md").read_text()


def test_defect_2_a_partial_tune_folder_keeps_the_previous_report(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path)
    assert main(["report", str(f.results)]) == 0
    before = (f.results / "trials.csv").read_text()
    n_before = len(read_csv(f.results / "trials.csv"))
    gone = f.results / "tune" / "trial_a0000002"  # one trial folder lost in the copy, and from the state
    for p in sorted(gone.rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    gone.rmdir()
    f.save_state(entries=[e for e in f.entries if e.trial_id != "a0000002"])
    capsys.readouterr()
    assert main(["report", str(f.results)]) == 0
    out = capsys.readouterr().out
    kept = sorted(f.results.glob("report-previous-*"))
    assert len(kept) == 1 and (kept[0] / "trials.csv").read_text() == before
    assert len(read_csv(f.results / "trials.csv")) == n_before - 1
    for text in (out, (f.results / "summary.md").read_text()):
        assert "1 trials of the previous trials.csv are not in the folder's Tune experiment now" in text
        assert "a0000002" in text and kept[0].name in text


# ------------------------------------------------------------------ defect 3
def test_defect_3_report_never_writes_where_sweep_json_points(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path)
    elsewhere = tmp_path / "someone-elses"
    elsewhere.mkdir()
    (elsewhere / "trials.csv").write_text("their,results\n")
    plan = json.loads((f.results / "sweep.json").read_text())
    plan["tune_storage"] = f"file://{elsewhere}"
    (f.results / "sweep.json").write_text(json.dumps(plan))
    assert main(["report", str(f.results)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in elsewhere.iterdir()) == ["trials.csv"]
    assert (elsewhere / "trials.csv").read_text() == "their,results\n"
    assert (f.results / "summary.md").is_file()


# ------------------------------------------------------------------ defect 4
def test_defect_4_report_files_that_are_links_are_replaced_not_followed(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path)
    target = tmp_path / "precious.png"
    target.write_bytes(b"not yours to overwrite")
    for name in ("pareto.png", "summary.md", "trials.csv", "optuna.db"):
        (f.results / name).symlink_to(target)
    assert main(["report", str(f.results)]) == 0, capsys.readouterr().err
    assert target.read_bytes() == b"not yours to overwrite"
    for name in ("pareto.png", "summary.md", "trials.csv", "optuna.db"):
        assert not (f.results / name).is_symlink() and (f.results / name).stat().st_size > 0
    assert not [p.name for p in f.results.iterdir() if p.name.startswith(".") and ".tmp" in p.name]


def test_defect_4_compare_files_that_are_links_are_replaced_not_followed(tmp_path, ray_never_starts, capsys):
    sweep_dir, compare_dir = _compare_folder(tmp_path)
    target = tmp_path / "precious"
    target.write_bytes(b"keep me")
    for name in ("front.png", "tpa_within_pair.png", "correctness.npz", "summary.md", "runs.csv"):
        (compare_dir / name).symlink_to(target)
    assert main(["compare", str(sweep_dir), "--report-only"]) == 0, capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
    assert not (compare_dir / "correctness.npz").is_symlink()


def test_defect_4_a_folder_that_is_a_link_is_not_written_through(tmp_path):
    from sweep.errors import UserError
    from sweep.folders import write_text_atomically

    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(UserError, match="is a link"):
        write_text_atomically(tmp_path / "link" / "summary.md", "x")
    assert not list(real.iterdir())


# ------------------------------------------------------------------ defect 5
def test_defect_5_compare_resume_refuses_a_folder_others_can_write(tmp_path, ray_never_starts, capsys):
    sweep_dir, compare_dir = _compare_folder(tmp_path)
    trial = next((compare_dir / "tune").glob("trial_*"))
    (trial / "error.pkl").write_bytes(pickle.dumps("an error Tune would unpickle"))
    os.chmod(trial / "error.pkl", 0o666)
    _refused(capsys, ["compare", str(sweep_dir), "--resume"], "can be written by other users", "error.pkl")
    os.chmod(trial / "error.pkl", 0o644)
    os.chmod(compare_dir / "tune", 0o777)
    _refused(capsys, ["compare", str(sweep_dir), "--resume"], "can be written by other users", "tune")


@pytest.mark.skipif(os.getuid() != 0, reason="making a file of another user needs root")
def test_defect_5_study_resume_refuses_a_folder_another_user_prepared(tmp_path, ray_never_starts, capsys):
    study_file = tmp_path / "prepared.yaml"
    study_file.write_text(
        "name: prepared\ndescription: a study whose folder someone else made first\ndataset: digits\n"
        "seeds: 2\nfirst_seed: 1\neffect: 0.005\n"
        "fixed: {epochs: 1, batch_size: 32}\narms:\n  dice-0.1: {objective: dice, w_adv: 0.1}\n"
    )
    folder = tmp_path / "exp" / "prepared"
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(study_file.read_text())
    (folder / "compare.json").write_text("{}")
    os.chown(folder, 65534, 65534)  # nobody
    _refused(
        capsys, ["study", str(study_file), "--storage", str(tmp_path / "exp"), "--resume"], "belongs to user id 65534"
    )


def test_defect_5_a_new_compare_folder_is_private_whatever_the_umask(tmp_path, monkeypatch, capsys):
    import sweep.compare.command as command
    from sweep.backend.connection import RayInfo

    monkeypatch.setattr(
        sweep.backend.connection, "connect", lambda address, dashboard=True: RayInfo("local", None, True, 2.0, 0.0)
    )

    def run_compare(plan, resume=False):
        plan.save()
        runs = CompareRuns(plan)
        runs.all_complete({"front-1": 0.9, "baseline": 0.6})
        runs.writer.save_state()

    monkeypatch.setattr(command, "run_compare", run_compare)
    f = sweep_folder(tmp_path)
    old = os.umask(0o002)
    try:
        assert main(["compare", str(f.results), "--seeds", "2", "--top", "1"]) == 0, capsys.readouterr().err
        assert os.umask(0o002) == 0o002  # the command put the caller's umask back
    finally:
        os.umask(old)
    mode = stat.S_IMODE((f.results / "compare").stat().st_mode)
    assert not mode & 0o022, oct(mode)
    assert not stat.S_IMODE((f.results / "compare" / "compare.json").stat().st_mode) & 0o022


# ------------------------------------------------------------------ defect 6
def test_defect_6_a_difference_that_never_varies_is_not_called_significant():
    from sweep.compare.verdict import Power, verdict_text
    from sweep.stats.paired import paired_ci
    from sweep.stats.power import paired_t_p

    base = np.array([0.80, 0.81, 0.79, 0.82])
    diff = paired_ci(base + 0.0021, base)
    p = paired_t_p(list(np.full(4, 0.0021)))
    text = verdict_text("dice-0.1", "baseline", diff, p, p, 1, Power(0.0, float("nan"), 0.005, None))
    assert "beats" not in text and "CI [+0.21, +0.21]" not in text and "p = 0" not in text
    assert "No test is possible" in text and "every one of 4 paired seeds gave the same difference" in text


def test_defect_6_report_only_refuses_a_runs_csv_its_predictions_contradict(tmp_path, ray_never_starts, capsys):
    sweep_dir, compare_dir = _compare_folder(tmp_path)
    assert main(["compare", str(sweep_dir), "--report-only"]) == 0
    for path in sorted((compare_dir / "tune").rglob("*"), reverse=True):  # a published folder: no tune/
        path.rmdir() if path.is_dir() else path.unlink()
    (compare_dir / "tune").rmdir()
    assert main(["compare", str(sweep_dir), "--report-only"]) == 0  # untouched files: fine
    rows = (compare_dir / "runs.csv").read_text().splitlines()
    header = rows[0].split(",")
    cells = rows[1].split(",")
    column = header.index("ensemble_acc")
    cells[column] = "0.99"  # a better number typed into the table
    rows[1] = ",".join(cells)
    (compare_dir / "runs.csv").write_text("\n".join(rows) + "\n")
    _refused(
        capsys, ["compare", str(sweep_dir), "--report-only"], "runs.csv", "ensemble_acc is 0.99", "correctness.npz"
    )


# ------------------------------------------------------------------ defect 7
def test_defect_7_resume_checks_the_trial_folders_too(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path)
    (f.results / "tune" / "tuner.pkl").write_bytes(pickle.dumps({}))
    error = f.results / "tune" / "trial_a0000003" / "error.pkl"
    error.parent.mkdir(exist_ok=True)
    error.write_bytes(pickle.dumps("x"))
    os.chmod(error, 0o646)
    _refused(capsys, ["--resume", str(f.results)], "can be written by other users", "error.pkl")


def test_defect_7_a_file_storage_elsewhere_is_checked_where_it_is(tmp_path, ray_never_starts, capsys):
    f = build_full(tmp_path / "here")
    elsewhere = tmp_path / "elsewhere"
    (f.results / "tune").rename(tmp_path / "tune-moved")
    elsewhere.mkdir()
    (tmp_path / "tune-moved").rename(elsewhere / "tune")
    plan = json.loads((f.results / "sweep.json").read_text())
    plan["tune_storage"] = f"file://{elsewhere}"
    (f.results / "sweep.json").write_text(json.dumps(plan))
    os.chmod(elsewhere / "tune", 0o777)
    _refused(capsys, ["--resume", str(f.results)], "can be written by other users", str(elsewhere / "tune"))


def test_defect_7_one_process_per_folder(tmp_path, ray_never_starts, capsys):
    from sweep.folders import FolderLock

    f = build_full(tmp_path)
    sweep_dir, compare_dir = _compare_folder(tmp_path / "c")
    with FolderLock(f.results, "running a sweep"):
        _refused(capsys, ["report", str(f.results)], f"pid {os.getpid()}, running a sweep")
    with FolderLock(compare_dir, "running a compare"):
        _refused(capsys, ["compare", str(sweep_dir), "--report-only"], "running a compare")
        _refused(capsys, ["compare", str(sweep_dir), "--resume"], "running a compare")
    # A second new compare of the same sweep: the folder exists, so it is refused before Ray.
    _refused(capsys, ["compare", str(sweep_dir)], "a compare run exists already")


def test_defect_7_a_report_that_fails_keeps_the_old_optuna_db(tmp_path, ray_never_starts, monkeypatch, capsys):
    import sweep.report.write as write

    f = build_full(tmp_path)
    assert main(["report", str(f.results)]) == 0
    before = (f.results / "optuna.db").read_bytes()

    def broken(report, path):
        path.write_bytes(b"half a database")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(
        write,
        "_WRITERS",
        tuple((n, write._via_temporary(broken) if n == "optuna.db" else w) for n, w in write._WRITERS),
    )
    assert main(["report", str(f.results)]) == 2
    assert (f.results / "optuna.db").read_bytes() == before
    assert not [p for p in f.results.iterdir() if p.name.startswith(".optuna.db.")]


def test_defect_7_one_unreadable_checkpoint_costs_its_run_not_the_report(tmp_path, ray_never_starts, capsys):
    sweep_dir, compare_dir = _compare_folder(tmp_path)
    state = next((compare_dir / "tune").glob("trial_*/checkpoint_*/state.pt"))

    class Evil:
        def __reduce__(self) -> tuple[Any, ...]:
            return (open, (str(tmp_path / MARKER), "w"))

    state.write_bytes(pickle.dumps({"config": {}, "x": Evil()}))
    assert main(["compare", str(sweep_dir), "--report-only"]) == 0, capsys.readouterr().err
    assert not (tmp_path / MARKER).exists()
    runs = read_csv(compare_dir / "runs.csv")
    bad = [r for r in runs if r["status"] == "error"]
    assert len(bad) == 1 and "its checkpoint cannot be read (UnpicklingError" in bad[0]["reason"]
    assert sum(r["status"] == "complete" for r in runs) == len(runs) - 1


@pytest.mark.parametrize("which", ["sweep.json", "compare.json"])
def test_defect_7_a_deeply_nested_plan_is_one_line(tmp_path, ray_never_starts, capsys, which):
    sweep_dir, compare_dir = _compare_folder(tmp_path)
    path = sweep_dir / which if which == "sweep.json" else compare_dir / which
    path.write_text("[" * 200_000 + "]" * 200_000)
    argv = ["report", str(sweep_dir)] if which == "sweep.json" else ["compare", str(sweep_dir), "--resume"]
    _refused(capsys, argv, which, "nested too deeply")


def test_defect_7_every_compare_seed_is_checked_not_only_the_first(tmp_path, ray_never_starts, capsys):
    f = sweep_folder(tmp_path)
    _refused(
        capsys,
        ["compare", str(f.results), "--seeds", "2", "--first-seed", str(2**32 - 1)],
        f"seed {2**32}",
        "seed",
    )
    assert not (f.results / "compare").exists()


def test_defect_7_the_largest_space_seed_can_be_resumed():
    from sweep.search.samplers import resumed_sampler

    for name in ("tpe", "nsga2", "random"):
        sampler = resumed_sampler(name, 2**32 - 1, 2, False, 7)  # numpy: seed must be < 2**32
        assert sampler is not None


# ------------------------------------------------- signals while a report is written
def test_a_report_killed_half_way_leaves_every_file_whole(tmp_path):
    """SIGKILL at several moments of `launch.py report`: every report file is the old one or the new one, whole."""
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import REPO

    f = build_full(tmp_path)
    assert main(["report", str(f.results)]) == 0
    names = ("trials.csv", "pareto.csv", "summary.md", "pareto.png", "optuna.db")
    whole = {name: (f.results / name).read_bytes() for name in names}
    # Rewritten files differ only where the report prints its own time; a torn file would differ in size a lot.
    for delay in (0.8, 1.6, 2.4, 3.2, 4.0):
        proc = subprocess.Popen(
            [sys.executable, str(REPO / "launch.py"), "report", str(f.results)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        for name in names:
            now = (f.results / name).read_bytes()
            assert abs(len(now) - len(whole[name])) < 64, (name, delay, len(now), len(whole[name]))
        rows = read_csv(f.results / "trials.csv")
        assert len(rows) == whole["trials.csv"].count(b"\n") - 1 and rows[0]["trial_id"]
        for leftover in f.results.glob(".*.tmp*"):  # what a SIGKILL can leave: hidden, never a report file
            leftover.unlink()
    assert main(["report", str(f.results)]) == 0  # and the next report is fine
