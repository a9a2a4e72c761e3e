"""Issue 13's defects, each kept fixed by a test named after its number.

These run ``sweep.cli.main`` in-process; Ray must not start for any user mistake, so
``sweep.backend.connection.connect`` is replaced by a stand-in that fails the test if
called (except where a test says otherwise). The defects that need a real Ray
(SIGTERM, a copied folder resumed, a full disk) are in ``tests/test_faults.py``.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest

import sweep.backend.connection
from sweep.cli import main
from sweep.errors import UserError
from sweep.plan import PLAN_FILE, SweepPlan, load_plan
from tests.helpers import refused as _refused
from tests.helpers import require

# Names that the fixes brought (sweep.requests, sweep.folders, ...) are imported
# inside the tests that use them, so that this file also runs against the code before
# the fixes and shows each test failing there for its own reason.

SPACE = """\
name: tiny
description: a small valid space on digits
dataset: digits
trials: 2
sampler: random
seed: 0
baseline: true
objectives:
  - {metric: ensemble_acc, direction: max}
  - {metric: disagreement, direction: max}
fixed: {objective: dice, epochs: 1, batch_size: 32}
params:
  w_adv: {type: float, low: 0.01, high: 1.0, log: true}
"""


@pytest.fixture
def ray_never_starts(monkeypatch) -> list[Any]:
    calls: list[Any] = []

    def connect(*args: Any, **kwargs: Any) -> None:
        calls.append(args)
        raise AssertionError("Ray was started for a mistake that should have been found before")

    monkeypatch.setattr(sweep.backend.connection, "connect", connect)
    return calls


@pytest.fixture
def home(tmp_path: Path, tmp_path_factory, monkeypatch) -> Path:
    """A working folder with the tiny space; the dataset cache outside the repository."""
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "netsep-cache"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(SPACE)
    return tmp_path


def _sweep_folder(home: Path, name: str = "done") -> Path:
    """A results folder as a started sweep leaves it (plan, space copy, tune/), without running Ray."""
    folder = (home / "exp" / name).resolve()
    SweepPlan(
        space_file=str(home / "tiny.yaml"),
        name=name,
        results_dir=str(folder),
        tune_storage=str(folder),
        trials=2,
        fixed={"objective": "dice", "epochs": 1, "batch_size": 32, "dataset": "digits"},
        cpus_per_trial=1.0,
        gpus_per_trial=0.0,
        max_concurrent=2,
    ).save()
    (folder / "tune").mkdir()
    return folder


# ------------------------------------------------------------------ defect 1
def test_defect_1_two_sweeps_with_one_name_the_second_stops_before_ray(home, monkeypatch, capsys):
    argv = ["--space", "tiny.yaml", "--storage", "exp", "--name", "same", "--no-dashboard"]
    second: list[tuple[int, str]] = []
    reached_ray: list[str] = []

    def connect(*args: Any, **kwargs: Any) -> None:
        # The first sweep is about to start Ray: the second one starts now.
        reached_ray.append("first" if not reached_ray else "second")
        if len(reached_ray) == 1:
            code = main([*argv, "seed=1"])
            second.append((code, capsys.readouterr().err))
        raise UserError("stand-in: no Ray in this test")

    monkeypatch.setattr(sweep.backend.connection, "connect", connect)
    assert main(argv) == 2
    assert reached_ray == ["first"], "the second sweep got as far as starting Ray"
    code, err = second[0]
    assert code == 2 and "already exists" in err and "--resume" in err
    assert not (home / "exp" / "same").exists()  # the first one's empty folder was removed again


def test_defect_1_the_folder_is_made_once_and_locked_while_used(tmp_path):
    from sweep.folders import FolderLock, create_results_folder

    folder = tmp_path / "exp" / "a"
    created = create_results_folder(folder)
    assert created == [tmp_path / "exp", folder] and stat.S_IMODE(folder.stat().st_mode) == 0o755
    with pytest.raises(UserError, match="already exists"):
        create_results_folder(folder)
    with (
        FolderLock(folder),
        pytest.raises(UserError, match=rf"another netsep process \(pid {os.getpid()}, "),
        FolderLock(folder),
    ):
        pass
    with FolderLock(folder):  # released on exit
        pass


# ------------------------------------------------------------------ defect 2
def test_defect_2_a_copied_folder_is_resumed_where_it_is(home):
    original = _sweep_folder(home)
    copy = home / "copy"
    os.rename(original, copy)  # the plan inside still names the original place
    assert json.loads((copy / PLAN_FILE).read_text())["tune_storage"] == str(original)
    plan, _ = load_plan(copy)
    assert plan.results_dir == str(copy.resolve()) and plan.tune_path == f"{copy.resolve()}/tune"


def test_defect_2_a_folder_with_nothing_to_resume_is_refused_before_ray(home, ray_never_starts, capsys):
    folder = _sweep_folder(home)
    _refused(capsys, ["--resume", str(folder)], "nothing to resume", str(folder))
    assert not ray_never_starts


# ------------------------------------------------------------------ defect 3
@pytest.mark.parametrize("where", [".", "tune", "tune/tuner.pkl"])
def test_defect_3_resume_refuses_a_folder_that_others_can_write(home, ray_never_starts, capsys, where):
    folder = _sweep_folder(home)
    (folder / "tune" / "tuner.pkl").write_bytes(b"")
    target = folder / where
    target.chmod(stat.S_IMODE(target.stat().st_mode) | stat.S_IWGRP)
    err = _refused(capsys, ["--resume", str(folder)], "can be written by other users", "unpickles", "chmod -R go-w")
    assert str(target.resolve()) in err or str(folder.resolve()) in err
    assert not ray_never_starts


def test_defect_3_resume_refuses_a_folder_of_another_user(home, ray_never_starts, capsys):
    # CI runs as root; elsewhere a skip (a failure under NETSEP_REQUIRE_ALL=1).
    require(os.getuid() == 0, "making a file another user's needs root")
    folder = _sweep_folder(home)
    os.chown(folder / "tune", 4242, -1)
    _refused(capsys, ["--resume", str(folder)], "belongs to user id 4242", "Copy the folder")


def test_defect_3_the_searcher_state_is_never_unpickled(home, tmp_path):
    from sweep.search.searcher import SweepSearcher

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    state = tmp_path / "searcher-state-x.pkl"
    state.write_bytes(pickle.dumps({"pending_baselines": [], "baseline_trial_ids": set(), "inner": Payload()}))
    with pytest.raises(ValueError):
        SweepSearcher.__new__(SweepSearcher).restore(str(state))
    assert not marker.exists()


def test_defect_3_a_sweep_s_own_folder_may_be_resumed(home):
    from sweep.folders import check_private

    check_private(_sweep_folder(home, "private"))


# ------------------------------------------------------------------ defect 4
@pytest.mark.parametrize(
    "setting, words",
    [
        ("classifier=bogus", ["classifier", "bogus", "simple3"]),
        ("disc_arch=bogus", ["disc_arch", "bogus", "mlp"]),
        ("batch_size=5000", ["batch_size", "5000", "training examples"]),
        ("batch_size=100000", ["batch_size", "100000", "65536"]),
        ("arm=baseline", ["arm", "set by netsep"]),
        ("train_size=100000", ["train_size", "100000"]),
    ],
)
def test_defect_4_command_line_settings_are_checked_like_a_space(home, ray_never_starts, capsys, setting, words):
    _refused(capsys, ["--space", "tiny.yaml", "--storage", "exp", "--no-dashboard", setting], *words)
    assert not (home / "exp").exists()


def test_defect_4_smoke_test_with_too_large_train_size(home, ray_never_starts, capsys):
    _refused(capsys, ["--smoke-test", "train_size=100000", "--no-dashboard"], "train_size")


def test_defect_4_a_relative_data_dir_means_the_user_s_folder(home):
    from sweep.plan import build_plan
    from sweep.requests import SweepRequest

    (home / "fm").mkdir()
    request = SweepRequest(space="tiny.yaml", storage="exp", name="rel", overrides={"data_dir": "fm"})
    plan, _ = build_plan(request)
    assert plan.fixed["data_dir"] == str(home / "fm")


def test_defect_4_the_registry_error_survives_ray_s_copy():
    from trainable.registry import UnknownNameError

    error = UnknownNameError("classifier", "bogus", ["fast", "simple3"])
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and (copy.kind, copy.name, copy.known) == (
        "classifier",
        "bogus",
        ["fast", "simple3"],
    )


# ------------------------------------------------------------------ defect 6
@pytest.mark.parametrize(
    "flags, words",
    [
        (["--name", "n" * 300], ["--name", "300 bytes", "at most 255"]),
        (["--storage", "/proc/x"], ["--storage", "/proc/x"]),
        (["--storage", "/sys/x"], ["--storage", "/sys/x"]),
        (["--storage", "bogus://x"], ["--storage", "bogus://", "s3://"]),
    ],
)
def test_defect_6_path_and_storage_mistakes_are_found_before_ray(home, ray_never_starts, capsys, flags, words):
    argv = ["--space", "tiny.yaml", "--no-dashboard", *flags]
    if "--storage" not in flags:
        argv += ["--storage", "exp"]
    _refused(capsys, argv, *words)
    assert not (home / "exp").exists() and not (home / "experiments").exists()
    assert not Path("/proc/x").exists() and not Path("/sys/x").exists()


@pytest.mark.parametrize("text", ["", '{"name": "done", "trials": ', "[]"])
def test_defect_6_resume_with_a_damaged_plan_is_one_line(home, ray_never_starts, capsys, text):
    folder = _sweep_folder(home)
    (folder / PLAN_FILE).write_text(text)
    _refused(capsys, ["--resume", str(folder)], str(folder / PLAN_FILE), "cannot be read")


# ------------------------------------------------------------------ defect 7
def test_defect_7_a_full_disk_is_named_as_such(tmp_path):
    from sweep.folders import disk_full_message

    full = OSError(errno.ENOSPC, "No space left on device")
    wrapped = RuntimeError("Tune failed")
    wrapped.__cause__ = full
    message = disk_full_message(wrapped, tmp_path)
    assert message and "disk holding" in message and str(tmp_path) in message and "full" in message
    assert disk_full_message(EOFError("Ran out of input"), tmp_path) is None  # plenty of space here
    assert disk_full_message(ValueError("lr"), tmp_path) is None


# ------------------------------------------------------------------ defect 9
def test_defect_9_the_local_token_is_private(tmp_path, monkeypatch):
    from sweep.backend.connection import private_token

    for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    token = tmp_path / ".ray" / "auth_token"
    assert "made" in private_token(tmp_path)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600 and len(token.read_text()) == 64
    token.chmod(0o644)  # as Ray itself writes it
    assert "0600" in private_token(tmp_path) and stat.S_IMODE(token.stat().st_mode) == 0o600
    assert private_token(tmp_path) is None  # nothing left to do
    token.chmod(0o644)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert private_token(tmp_path) is None and stat.S_IMODE(token.stat().st_mode) == 0o644


# ----------------------------------------------------------------- defect 10
@pytest.mark.parametrize("name", ["ok\n", "ok\nmore", "a/../b"])
def test_defect_10_the_name_rule_matches_the_whole_name(home, ray_never_starts, capsys, name):
    _refused(capsys, ["--space", "tiny.yaml", "--storage", "exp", "--no-dashboard", "--name", name], "--name")


@pytest.mark.parametrize(
    "flags, word",
    [
        (["--trials", "9"], "--trials"),
        (["--epochs", "3"], "--epochs"),
        (["--name", "x"], "--name"),
        (["lr=0.1"], "key=value"),
        (["--space", "tiny.yaml"], "--space"),
        (["--storage", "elsewhere"], "--storage"),
    ],
)
def test_defect_10_resume_refuses_settings_it_would_ignore(home, ray_never_starts, capsys, flags, word):
    folder = _sweep_folder(home)
    _refused(capsys, ["--resume", str(folder), *flags], word, "sweep.json")


@pytest.mark.parametrize(
    "damaged, content, words",
    [
        ("experiment_state-x.json", b'{"trial_da', ["experiment state is damaged", "cut short"]),
        ("searcher-state-x.json", b'{"trial_da', ["searcher state is damaged", "cut short"]),
        # Tune's own pickles (search_gen_state despite its name): empty, or without the STOP opcode
        ("search_gen_state-x.json", b"", ["saved state is damaged", "0 bytes"]),
        ("tuner.pkl", pickle.dumps({"a": 1})[:-3], ["saved state is damaged", "cut short"]),
        ("trial_x/error.pkl", b"", ["saved state is damaged", "delete it and resume"]),
    ],
)
def test_defect_7_resume_refuses_a_cut_short_state_in_one_line(home, ray_never_starts, capsys, damaged, content, words):
    folder = _sweep_folder(home)
    tune = folder / "tune"
    (tune / "tuner.pkl").write_bytes(pickle.dumps(None))  # whole, and never unpickled by the checks
    (tune / "search_gen_state-x.json").write_bytes(pickle.dumps({"counter": 0}))
    (tune / "experiment_state-x.json").write_text('{"trial_data": []}')
    (tune / damaged).parent.mkdir(exist_ok=True)
    (tune / damaged).write_bytes(content)  # what a full disk leaves
    _refused(capsys, ["--resume", str(folder)], str(tune / damaged), *words)
