"""sweep.provenance: every results folder says which code, packages and machines made it.

The quick tests build a throwaway git repository (the "checkout" netsep would run
from) and check the record against git itself; one slow test checks the record a real
``launch.py --smoke-test`` leaves in its folder against this checkout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sweep.backend.nodes import describe_nodes
from sweep.provenance import (
    PROVENANCE_DIFF,
    PROVENANCE_JSON,
    collect_provenance,
    end_run,
    read_provenance,
    start_run,
    tracker_fields,
)
from sweep.report.provenance_block import provenance_block, registration_lead
from tests.helpers import REPO

_GIT_USER = ("-c", "user.name=netsep tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *_GIT_USER, *args], capture_output=True, text=True, check=True)
    return done.stdout


def _commit_all(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git checkout shaped like netsep's: package folders with one committed file each."""
    root = tmp_path / "checkout"
    (root / "sweep").mkdir(parents=True)
    (root / "studies").mkdir()
    (root / "sweep" / "step.py").write_text("LR = 0.1\n")
    (root / "studies" / "dose.yaml").write_text("name: dose\n")
    (root / ".gitignore").write_text("experiments/\n*.pyc\n")
    _git(root, "init", "-q")
    _commit_all(root, "first")
    return root


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    return folder


def test_a_clean_checkout_gives_its_commit_and_no_diff(repo: Path, results: Path) -> None:
    record = collect_provenance(["launch.py", "--smoke-test"], repo)
    assert record["commit"] == _git(repo, "rev-parse", "HEAD").strip()
    assert record["dirty"] is False and record["diff"] is None and record["untracked"] == []
    assert record["command"] == ["launch.py", "--smoke-test"] and record["started"].endswith("+00:00")
    assert set(record["versions"]) >= {"python", "torch", "torchvision", "ray", "optuna", "numpy", "cuda", "cudnn"}
    assert record["versions"]["numpy"] and record["driver"]["host"] and record["driver"]["cpus"] >= 1

    assert start_run(results, {"mode": "sweep"}, argv=["launch.py"], repo_dir=repo) == 0
    (run,) = json.loads((results / PROVENANCE_JSON).read_text())["runs"]
    assert run["mode"] == "sweep" and run["commit"] == record["commit"] and run["diff_file"] is None
    assert "commit_changed" not in run  # only a resumed run is compared with the first
    assert not (results / PROVENANCE_DIFF).exists()


def test_a_dirty_checkout_saves_its_diff_beside_the_record(repo: Path, results: Path) -> None:
    (repo / "sweep" / "step.py").write_text("LR = 0.25  # tried by hand\n")
    start_run(results, {"mode": "sweep"}, argv=["launch.py"], repo_dir=repo)
    (run,) = read_provenance(results)["runs"]
    assert run["dirty"] is True and run["diff_file"] == PROVENANCE_DIFF
    diff = (results / PROVENANCE_DIFF).read_text()
    assert "-LR = 0.1" in diff and "+LR = 0.25  # tried by hand" in diff
    # The diff recreates the code that ran: applied to the commit, it gives the working tree.
    _git(repo, "checkout", "-q", "--", ".")
    _git(repo, "apply", str(results / PROVENANCE_DIFF))
    assert (repo / "sweep" / "step.py").read_text() == "LR = 0.25  # tried by hand\n"


def test_untracked_files_in_the_package_folders_are_named(repo: Path) -> None:
    (repo / "sweep" / "new_loss.py").write_text("x = 1\n")
    (repo / "studies" / "draft.yaml").write_text("name: draft\n")
    (repo / "notes.txt").write_text("not code\n")  # outside the package folders
    (repo / "sweep" / "cache.pyc").write_bytes(b"\0")  # ignored
    (repo / "experiments").mkdir()
    (repo / "experiments" / "summary.md").write_text("# results\n")  # ignored
    record = collect_provenance(["launch.py"], repo)
    assert record["untracked"] == ["studies/draft.yaml", "sweep/new_loss.py"]
    assert record["dirty"] is False  # untracked files do not make the tracked code dirty


def test_resume_appends_a_run_and_flags_a_changed_commit(repo: Path, results: Path) -> None:
    first_commit = _git(repo, "rev-parse", "HEAD").strip()
    assert start_run(results, {"mode": "sweep", "resumed": False}, argv=["launch.py"], repo_dir=repo) == 0
    end_run(results, 0, [{"host": "lab-1", "node_id": "a", "cpus": 2.0, "gpus": 0.0}])
    assert start_run(results, {"mode": "sweep", "resumed": True}, argv=["launch.py", "--resume"], repo_dir=repo) == 1
    (repo / "sweep" / "step.py").write_text("LR = 0.2\n")
    second_commit = _commit_all(repo, "second")
    assert start_run(results, {"mode": "sweep", "resumed": True}, argv=["launch.py", "--resume"], repo_dir=repo) == 2
    end_run(results, 2, [{"host": "lab-2", "node_id": "b", "cpus": 2.0, "gpus": 1.0}])

    runs = read_provenance(results)["runs"]
    assert [r["commit"] for r in runs] == [first_commit, first_commit, second_commit]
    assert runs[0]["ended"] and runs[0]["nodes"][0]["host"] == "lab-1"  # the first run kept as it was
    assert runs[1]["commit_changed"] is False and runs[2]["commit_changed"] is True
    assert runs[1]["ended"] is None  # a run that never ended says so

    block = "\n".join(provenance_block(results))
    assert f"commit `{first_commit[:12]}` (clean)" in block
    assert "**Run 3 ran on another commit**" in block and second_commit[:12] in block
    assert "Run 2 ran" not in block
    assert "2 Ray nodes (lab-1, lab-2)" in block
    assert tracker_fields(results)["commit"] == second_commit  # the latest run's, for --wandb


def test_a_folder_outside_any_checkout_records_no_commit(tmp_path: Path, results: Path) -> None:
    plain = tmp_path / "unpacked-tarball"
    (plain / "sweep").mkdir(parents=True)
    record = collect_provenance(["launch.py"], plain)
    assert record["commit"] is None and record["dirty"] is None and record["diff"] is None
    assert "not a git checkout" in record["git_note"]
    start_run(results, {"mode": "compare"}, argv=["launch.py"], repo_dir=plain)
    assert "no commit (not a git checkout" in "\n".join(provenance_block(results))


def test_a_package_inside_another_project_s_repository_is_not_that_repository_s_code(repo: Path) -> None:
    nested = repo / "vendor" / "netsep"
    (nested / "sweep").mkdir(parents=True)
    record = collect_provenance(["launch.py"], nested)
    assert record["commit"] is None and "is not the root of a git checkout" in record["git_note"]


def test_a_damaged_record_stops_a_resume_but_not_a_report(results: Path, repo: Path) -> None:
    from sweep.errors import UserError

    (results / PROVENANCE_JSON).write_text('{"runs": [')
    with pytest.raises(UserError, match="provenance.json: cannot be read"):
        start_run(results, argv=["launch.py"], repo_dir=repo)
    block = provenance_block(results)
    assert block[0] == "## Provenance" and "damaged" in block[2] and len(block) == 4
    assert registration_lead(results) == [] and tracker_fields(results) == {}
    assert provenance_block(results.parent / "no-such-folder") == []  # an older folder: no block


def test_ray_s_node_table_becomes_plain_records() -> None:
    table = [
        {"NodeID": "n2", "Alive": False, "NodeManagerAddress": "10.0.0.6", "NodeManagerHostname": "lab-2",
         "Resources": {"CPU": 8.0, "GPU": 1.0}},
        {"NodeID": "n1", "Alive": True, "NodeManagerAddress": "10.0.0.5", "NodeManagerHostname": "lab-1",
         "Resources": {"CPU": 2.0, "memory": 1e9}},
    ]  # fmt: skip
    assert describe_nodes(table) == [
        {"host": "lab-1", "address": "10.0.0.5", "node_id": "n1", "alive": True, "cpus": 2.0, "gpus": 0.0},
        {"host": "lab-2", "address": "10.0.0.6", "node_id": "n2", "alive": False, "cpus": 8.0, "gpus": 1.0},
    ]


def test_run_then_report_records_the_run_before_its_report(results: Path, process_defaults_restored) -> None:
    from sweep.backend.session import run_then_report

    class Outcome:
        finished = True

    def run() -> Outcome:
        signal.signal(signal.SIGINT, lambda *args: None)  # as Tune's fit() does (StopSignals puts ours back)
        return Outcome()

    seen: list[dict[str, Any]] = []

    def finish(outcome: Any) -> None:
        seen.append(read_provenance(results)["runs"][-1])  # what the report would show

    code = run_then_report(run, finish, resume_command="resume", folder=str(results), provenance={"mode": "x"})
    assert code == 0 and seen[0]["mode"] == "x" and seen[0]["ended"] and seen[0]["nodes"] == []  # no Ray here
    run_then_report(run, finish, resume_command="resume", folder=str(results))  # provenance=None: nothing
    assert len(read_provenance(results)["runs"]) == 1


def test_a_run_a_user_mistake_stopped_leaves_no_record(tmp_path: Path, process_defaults_restored) -> None:
    from sweep.backend.session import run_then_report
    from sweep.errors import UserError

    def mistaken() -> None:
        raise UserError("dataset 'x': missing")

    new = tmp_path / "new"
    new.mkdir()
    with pytest.raises(UserError):
        run_then_report(mistaken, print, resume_command="r", folder=str(new), provenance={"mode": "sweep"})
    assert list(new.iterdir()) == []  # empty again: claim_folder removes a new folder a mistake stopped
    start_run(new, {"mode": "sweep"}, argv=["launch.py"])
    with pytest.raises(UserError):  # a resume: the earlier run stays, the one that never ran goes
        run_then_report(mistaken, print, resume_command="r", folder=str(new), provenance={"resumed": True})
    assert [r["mode"] for r in read_provenance(new)["runs"]] == ["sweep"]


def test_wandb_runs_carry_the_provenance_beside_the_trial_settings(monkeypatch) -> None:
    from ray.air.integrations.wandb import WandbLoggerCallback

    from sweep.backend.wandb_logging import PROVENANCE_KEY, ProvenanceWandbCallback

    started: dict[str, Any] = {}
    monkeypatch.setattr(
        WandbLoggerCallback, "_start_logging_actor", lambda self, trial, exclude, **kw: started.update(kw)
    )
    callback = ProvenanceWandbCallback(project="p", group="g", provenance={"commit": "abc", "dirty": False}, mode="x")
    assert callback.kwargs == {"mode": "x"}  # the provenance is not an argument of wandb.init
    callback._start_logging_actor(None, [], config={"lr": 0.1}, project="p")
    assert started["config"] == {"lr": 0.1, PROVENANCE_KEY: {"commit": "abc", "dirty": False}}


@pytest.mark.slow
def test_the_smoke_sweep_records_this_checkout_s_commit_and_state(smoke_sweep) -> None:
    folder, _ = smoke_sweep
    (run,) = json.loads((folder / PROVENANCE_JSON).read_text())["runs"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    status = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run["commit"] == head.stdout.strip()
    assert run["dirty"] is bool(status.stdout.strip())  # (other work in the checkout may change it meanwhile)
    assert (folder / PROVENANCE_DIFF).is_file() is run["dirty"]
    assert run["mode"] == "sweep" and run["resumed"] is False and "--smoke-test" in run["command"]
    assert run["ended"] >= run["started"] and len(run["nodes"]) >= 1 and any(n["alive"] for n in run["nodes"])
    summary = (folder / "summary.md").read_text()
    assert "## Provenance" in summary and head.stdout.strip()[:12] in summary


def test_a_stopped_run_whose_report_fails_says_why(tmp_path: Path, process_defaults_restored, capsys) -> None:
    """SIGTERM during the run, then no report (Ray gone, a full disk): exit 143 and the reason, not silence."""
    from sweep.backend.session import run_then_report

    class Outcome:
        finished = False

    def run() -> Outcome:
        os.kill(os.getpid(), signal.SIGTERM)  # StopSignals turns it into a stop, as Slurm's scancel does
        return Outcome()

    code = run_then_report(run, lambda outcome: "no report: the disk is full", resume_command="r", folder=str(tmp_path))
    assert code == 143
    assert "netsep: no report: the disk is full" in capsys.readouterr().err
