"""run_compare_request from a typed request: the checks, the resources, the order of steps (no Ray)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

import sweep.backend.connection
import sweep.compare.command as command
from sweep.backend.connection import RayInfo
from sweep.compare import run_compare_request
from sweep.compare.plan import COMPARE_DIR, ComparePlan, load_compare_plan
from sweep.errors import UserError
from sweep.requests import ClusterOptions, CompareRequest
from tests.sweep.compare.folders import CompareRuns, sweep_folder


@pytest.fixture()
def no_ray(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ComparePlan, bool]]:
    """A 2-CPU cluster without GPUs; runs are written by hand instead of by Tune."""
    started: list[tuple[ComparePlan, bool]] = []

    def connect(address: str | None, *, dashboard: bool = True) -> RayInfo:
        return RayInfo(address or "local", None, address is None, cpus=2.0, gpus=0.0)

    def run_compare(plan: ComparePlan, resume: bool = False) -> None:
        started.append((plan, resume))
        if not resume:
            plan.save()
            runs = CompareRuns(plan)
            runs.all_complete({"front-1": 0.9, "baseline": 0.6})
            runs.writer.save_state()

    monkeypatch.setattr(sweep.backend.connection, "connect", connect)
    monkeypatch.setattr(command, "run_compare", run_compare)
    return started


def test_a_new_compare_plans_resolves_runs_and_reports(tmp_path: Path, no_ray, capsys) -> None:
    f = sweep_folder(tmp_path)
    assert run_compare_request(CompareRequest(str(f.results), seeds=2, top=1, first_seed=5)) == 0
    ((plan, resume),) = no_ray
    assert not resume and plan.seeds == [5, 6]
    assert (plan.cpus_per_trial, plan.gpus_per_trial, plan.max_concurrent) == (1.0, 0.0, 2)
    assert load_compare_plan(f.results / COMPARE_DIR) == plan
    out = capsys.readouterr().out
    assert "netsep: compare 3 arms x 2 seeds" in out and "Compare results:" in out
    assert (f.results / COMPARE_DIR / "paired.csv").is_file()


def test_a_second_compare_is_refused_and_resume_continues(tmp_path: Path, no_ray) -> None:
    f = sweep_folder(tmp_path)
    run_compare_request(CompareRequest(str(f.results), seeds=2, top=1))
    with pytest.raises(UserError, match="a compare run exists already; continue it with --resume"):
        run_compare_request(CompareRequest(str(f.results), seeds=2, top=1))
    assert (
        run_compare_request(CompareRequest(str(f.results), resume=True, cluster=ClusterOptions(cpus_per_trial=2.0)))
        == 0
    )
    first, (resumed, resume) = no_ray
    assert resume and resumed.cpus_per_trial == 1.0  # a resume keeps the plan's resources


def test_report_only_rebuilds_without_ray(tmp_path: Path, no_ray, monkeypatch) -> None:
    f = sweep_folder(tmp_path)
    run_compare_request(CompareRequest(str(f.results), seeds=2, top=1))
    monkeypatch.setattr(sweep.backend.connection, "connect", lambda *a, **k: pytest.fail("report-only started Ray"))
    (f.results / COMPARE_DIR / "paired.csv").unlink()
    assert run_compare_request(CompareRequest(str(f.results), report_only=True)) == 0
    assert (f.results / COMPARE_DIR / "paired.csv").is_file()


def test_user_mistakes(tmp_path: Path, no_ray) -> None:
    f = sweep_folder(tmp_path)
    with pytest.raises(UserError, match="no compare.json"):
        run_compare_request(CompareRequest(str(f.results), report_only=True))
    with pytest.raises(UserError, match="--seeds: must be a whole number >= 1, got 0"):
        run_compare_request(CompareRequest(str(f.results), seeds=0))
    with pytest.raises(UserError, match="--top: must be a whole number >= 1, got -1"):
        run_compare_request(CompareRequest(str(f.results), top=-1))
    with pytest.raises(UserError, match="--gpus-per-trial: 0.25 asked for, but the Ray cluster has no GPU"):
        run_compare_request(CompareRequest(str(f.results), cluster=ClusterOptions(gpus_per_trial=0.25)))
    with pytest.raises(UserError, match="no compare.json"):
        run_compare_request(CompareRequest(str(f.results), resume=True))
    assert no_ray == [] and not (f.results / COMPARE_DIR).exists()


def test_a_compare_with_runs_that_did_not_complete_exits_1(tmp_path: Path, no_ray, monkeypatch, capsys) -> None:
    def run_compare(plan: ComparePlan, resume: bool = False) -> None:
        signal.signal(signal.SIGINT, lambda *args: None)  # as Tune's fit() does, and leaves in place
        plan.save()
        runs = CompareRuns(plan)
        runs.run("front-1", plan.seeds[0], p_right=0.9)  # one run of six: the others errored
        runs.writer.save_state()

    monkeypatch.setattr(command, "run_compare", run_compare)
    f = sweep_folder(tmp_path)
    assert run_compare_request(CompareRequest(str(f.results), seeds=2, top=1)) == 1
    err = capsys.readouterr().err
    assert "1 of 6 runs completed" in err and f"compare {f.results} --resume" in err
    assert (f.results / COMPARE_DIR / "summary.md").is_file()  # the report of what is there


def test_ctrl_c_during_a_compare_writes_the_report_and_exits_130(tmp_path: Path, no_ray, monkeypatch, capsys) -> None:
    def run_compare(plan: ComparePlan, resume: bool = False) -> None:
        plan.save()
        CompareRuns(plan).writer.save_state()
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "run_compare", run_compare)
    f = sweep_folder(tmp_path)
    assert run_compare_request(CompareRequest(str(f.results), seeds=2, top=1)) == 130
    assert "--resume" in capsys.readouterr().err
    assert (f.results / COMPARE_DIR / "summary.md").is_file()
