"""Compare mode from a typed request: plan, connect to Ray, check, run, report.

    python launch.py compare experiments/<name> --seeds 3 --top 2

The command line turns argv into a ``CompareRequest``; this module never sees argparse.
A study (``sweep.study.command``) runs its plan through the same ``connect_and_resolve``
and ``run_and_report``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import Any

from sweep.compare.analysis import CompareReport
from sweep.compare.gather import Run, collect_runs
from sweep.compare.plan import (
    COMPARE_DIR,
    PLAN_FILE,
    ComparePlan,
    load_compare_plan,
    plan_compare,
    with_resources,
)
from sweep.compare.report import print_compare, write_compare_report
from sweep.compare.run import CompareOutcome, run_compare
from sweep.errors import UserError
from sweep.folders import FolderLock, check_private, claim_folder
from sweep.requests import ClusterOptions, CompareRequest
from sweep.search.looks import LookSchedule

__all__ = ["claim_run_folder", "connect_and_resolve", "report_only", "run_and_report", "run_compare_request"]


def _check(request: CompareRequest) -> None:
    for flag, value in (("--seeds", request.seeds), ("--top", request.top)):
        if value < 1:
            raise UserError(f"{flag}: must be a whole number >= 1, got {value}")


def _check_effect(request: CompareRequest) -> None:
    if not 0 < request.effect < 1:
        raise UserError(
            f"--effect: must be an accuracy difference between 0 and 1 (0.005 = 0.5 pp), got {request.effect}"
        )


def _plan(request: CompareRequest, compare_dir: Path) -> ComparePlan:
    if request.resume:
        return load_compare_plan(compare_dir)
    if (compare_dir / PLAN_FILE).exists():
        raise UserError(
            f"{compare_dir}: a compare run exists already; continue it with --resume, "
            "rebuild its report with --report-only, or move it away"
        )
    return plan_compare(request.sweep_dir, request.seeds, request.top, request.first_seed)


def connect_and_resolve(plan: ComparePlan, cluster: ClusterOptions, resume: bool) -> ComparePlan:
    """Join (or start) Ray for a compare or a study, resolve per-run resources, check that a run fits a node.

    A resume keeps the resources and the cluster address its plan saved.
    """
    from sweep.backend.connection import connect

    info = connect(cluster.address or plan.address, dashboard=cluster.dashboard)
    if info.dashboard_url:
        print(f"netsep: Ray dashboard: {info.dashboard_url}")
    if not (resume and plan.cpus_per_trial is not None and plan.gpus_per_trial is not None):
        plan = with_resources(plan, cluster, info.cpus, info.gpus, address=plan.address if resume else cluster.address)
    assert plan.cpus_per_trial is not None and plan.gpus_per_trial is not None
    info.check_fits(plan.cpus_per_trial, plan.gpus_per_trial)
    return plan


def run_and_report(
    plan: ComparePlan,
    resume: bool,
    write_report: Callable[[], CompareReport],
    resume_command: str,
    provenance: Mapping[str, Any] | None = None,
    looks: LookSchedule | None = None,
    planned_runs: Callable[[list[Run]], int] | None = None,
) -> int:
    """Run every (seed, arm) of ``plan`` and write the report whatever happened; the exit code.

    Runs that did not complete after a whole run (errors beyond their retries) give
    exit 1: an unfinished compare never exits 0. ``provenance``: extra fields of this
    run's ``provenance.json`` record (a study's registration); the mode is recorded always.
    ``looks``: a sequential study's registered looks (``run_compare``), with ``planned_runs``
    the runs its decision needs given the runs so far (fewer than all when it stopped early).
    """
    from sweep.backend.session import run_then_report

    def needed(runs: list[Run]) -> int:
        return planned_runs(runs) if planned_runs is not None else len(plan.arms) * len(plan.seeds)

    def run() -> CompareOutcome | None:
        if looks is None:
            return run_compare(plan, resume=resume)
        outcome = run_compare(plan, resume=resume, looks=looks)
        if planned_runs is None or outcome is None:
            return outcome
        # A sequential study that stopped at a look ran every run it needed: that is a whole run.
        return replace(outcome, planned=needed(collect_runs(plan)))

    def finish(outcome: object) -> str | None:
        report = write_report()
        planned = needed(report.runs)
        complete = sum(r.status == "complete" for r in report.runs)
        if complete < planned:
            return (
                f"{complete} of {planned} runs completed (see runs.csv and summary.md); "
                f"`{resume_command}` continues the ones that were cut short"
            )
        return None

    return run_then_report(
        run,
        finish,
        resume_command=resume_command,
        folder=plan.compare_dir,
        provenance={"mode": "study" if plan.study else "compare", "resumed": resume, **(provenance or {})},
    )


def report_only(plan_folder: Path, write: Callable[[ComparePlan], CompareReport]) -> int:
    """``--report-only`` of a compare or a study: the saved plan, the folder's lock, ``write``; exit 0.

    Nothing is unpickled (the runs are read as plain files), so any folder may be reported on.
    """
    plan = load_compare_plan(plan_folder)
    with FolderLock(plan_folder, "writing its report"):
        write(plan)
    return 0


def claim_run_folder(folder: Path, mode: str, resume: bool) -> AbstractContextManager[Path]:
    """``sweep.folders.claim_folder`` for a compare's or a study's runs (``mode`` names which)."""
    return claim_folder(
        folder,
        new=not resume,
        what=f"{'resuming' if resume else 'running'} a {mode}",
        flag=mode,
        retry="continue it with --resume, rebuild its report with --report-only, or move it away",
    )


def run_compare_request(request: CompareRequest) -> int:
    """Run (or resume, or only report) a compare; the exit code. User mistakes raise UserError."""
    compare_dir = Path(request.sweep_dir) / COMPARE_DIR
    _check_effect(request)

    def report(plan: ComparePlan) -> CompareReport:
        written = write_compare_report(plan, request.effect)
        print_compare(written)
        return written

    if request.report_only:
        return report_only(compare_dir, report)
    _check(request)
    if request.resume:
        check_private(compare_dir)  # before anything in a folder someone else may have prepared is read
    plan = _plan(request, compare_dir)
    with claim_run_folder(compare_dir, "compare", request.resume):
        plan = connect_and_resolve(plan, request.cluster, request.resume)
        print(f"netsep: compare {len(plan.arms)} arms x {len(plan.seeds)} seeds -> {plan.compare_dir}", flush=True)
        resume_command = f"python launch.py compare {request.sweep_dir} --resume"
        return run_and_report(plan, request.resume, lambda: report(plan), resume_command)
