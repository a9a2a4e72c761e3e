"""sweep.study.registration: a study runs only from a file git has committed, unchanged.

The checks run against a throwaway git repository; the command-line cases run
``sweep.cli.main`` in-process and stop right after the registration check, so no Ray
starts and nothing is timed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import sweep.backend.connection
import sweep.study.command
from sweep.cli import main
from sweep.study.registration import registration_of

STUDY = """\
name: tiny
description: two adversarial arms on digits
dataset: digits
seeds: 2
first_seed: 7
fixed: {classifier: simple3, epochs: 1, batch_size: 64, train_size: 300}
arms:
  dice-0.1: {objective: dice, w_adv: 0.1}
"""
_GIT_USER = ("-c", "user.name=netsep tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *_GIT_USER, *args], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git checkout with one committed study, ``studies/tiny.yaml``; the working directory."""
    root = tmp_path / "checkout"
    (root / "studies").mkdir(parents=True)
    (root / "studies" / "tiny.yaml").write_text(STUDY)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "register tiny")
    monkeypatch.chdir(root)
    return root


class _PastTheCheck(Exception):
    """Raised where the study goes on after the registration check (the dataset check)."""


@pytest.fixture
def stops_after_the_check(monkeypatch) -> None:
    def past(plan: object) -> None:
        raise _PastTheCheck

    def connect(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ray was started for a study that was not registered")

    monkeypatch.setattr(sweep.study.command, "_check_data", past)
    monkeypatch.setattr(sweep.backend.connection, "connect", connect)


# ---------------------------------------------------------------- the check itself
def test_a_committed_unchanged_file_is_registered_by_its_last_commit(repo: Path) -> None:
    registration = registration_of(repo / "studies" / "tiny.yaml")
    assert registration.registered and registration.reason is None
    assert registration.commit == _git(repo, "rev-parse", "HEAD").strip()
    assert registration.committed == _git(repo, "log", "-1", "--format=%cI").strip()
    assert registration.shown == "studies/tiny.yaml"  # as typed from the working directory
    record = registration.record()
    assert record["registered"] is True and record["commit"] == registration.commit


@pytest.mark.parametrize(
    "change, reason",
    [
        ("modified", "differs from its last commit"),
        ("untracked", "not tracked by git"),
        ("staged", "added (git add) but never committed"),
        ("staged after a change", "differs from its last commit"),
    ],
)
def test_a_file_git_does_not_hold_unchanged_is_not_registered(repo: Path, change: str, reason: str) -> None:
    path = repo / "studies" / ("new.yaml" if change in ("untracked", "staged") else "tiny.yaml")
    path.write_text(STUDY.replace("seeds: 2", "seeds: 3"))
    if change.startswith("staged"):
        _git(repo, "add", str(path))
    registration = registration_of(path)
    assert not registration.registered and reason in registration.reason, registration.reason


def test_a_file_outside_any_git_checkout_is_not_registered(tmp_path: Path) -> None:
    path = tmp_path / "downloaded" / "tiny.yaml"
    path.parent.mkdir()
    path.write_text(STUDY)
    registration = registration_of(path)
    assert not registration.registered and registration.commit is None
    assert "not in a git checkout" in registration.reason
    assert "or pass --unregistered" in registration.refusal()


# ------------------------------------------------------------------ the command line
def _refused(capsys, argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("change", ["modified", "untracked", "staged"])
def test_an_unregistered_study_exits_2_in_one_line_before_anything_runs(
    repo: Path, tmp_path: Path, capsys, stops_after_the_check, change: str
) -> None:
    path = repo / "studies" / ("tiny.yaml" if change == "modified" else "other.yaml")
    path.write_text(STUDY.replace("seeds: 2", "seeds: 3"))
    if change == "staged":
        _git(repo, "add", str(path))
    shown = f"studies/{path.name}"
    storage = tmp_path / "exp"
    line = _refused(capsys, ["study", shown, "--storage", str(storage)])
    assert line.startswith(f"error: {shown}: not registered: "), line
    assert line.endswith(f"commit it first (git add {shown} && git commit) or pass --unregistered"), line
    assert not storage.exists()


def test_a_study_outside_git_names_the_reason(tmp_path: Path, capsys, stops_after_the_check, monkeypatch) -> None:
    (tmp_path / "tiny.yaml").write_text(STUDY)
    monkeypatch.chdir(tmp_path)
    line = _refused(capsys, ["study", "tiny.yaml", "--storage", str(tmp_path / "exp")])
    assert line.startswith("error: tiny.yaml: not registered: it is not in a git checkout"), line
    assert not (tmp_path / "exp").exists()


def test_unregistered_and_registered_studies_get_past_the_check(
    repo: Path, tmp_path: Path, capsys, stops_after_the_check
) -> None:
    storage = str(tmp_path / "exp")
    with pytest.raises(_PastTheCheck):  # committed and unchanged: registered
        main(["study", "studies/tiny.yaml", "--storage", storage])
    (repo / "studies" / "tiny.yaml").write_text(STUDY.replace("seeds: 2", "seeds: 3"))
    with pytest.raises(_PastTheCheck):  # changed, but run anyway on purpose
        main(["study", "studies/tiny.yaml", "--storage", storage, "--unregistered"])
    with pytest.raises(_PastTheCheck):  # a dry run runs nothing: it only notes the registration
        main(["study", "studies/tiny.yaml", "--storage", storage, "--dry-run"])
    assert not (tmp_path / "exp").exists()


def test_the_report_of_an_unregistered_study_opens_with_it(tmp_path: Path) -> None:
    from sweep.provenance import start_run
    from sweep.report.provenance_block import provenance_block, registration_lead

    path = tmp_path / "tiny.yaml"
    path.write_text(STUDY)
    start_run(tmp_path, {"study_registration": registration_of(path).record()}, argv=["launch.py"])
    lead = registration_lead(tmp_path)
    assert lead[0].startswith("**Not pre-registered**: the study file ") and "--unregistered" in lead[0]
    assert any("**not registered**" in line for line in provenance_block(tmp_path))


def test_the_report_of_a_registered_study_shows_its_commit_and_first_run(repo: Path, tmp_path: Path) -> None:
    from sweep.provenance import read_provenance, start_run
    from sweep.report.provenance_block import provenance_block, registration_lead

    registration = registration_of(repo / "studies" / "tiny.yaml")
    folder = tmp_path / "results"
    folder.mkdir()
    start_run(folder, {"study_registration": registration.record()}, argv=["launch.py"])
    started = read_provenance(folder)["runs"][0]["started"]
    assert registration_lead(folder) == []
    line = next(line for line in provenance_block(folder) if line.startswith("- Study file"))
    assert registration.commit[:12] in line and registration.committed in line and started in line
