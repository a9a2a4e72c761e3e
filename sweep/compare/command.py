"""Compare mode from a typed request: plan, connect to Ray, run, report.

    python launch.py compare experiments/<name> --seeds 3 --top 2

The command line turns argv into a ``CompareRequest``; this module never sees argparse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sweep.compare.analysis import CompareReport
from sweep.compare.plan import (
    COMPARE_DIR,
    PLAN_FILE,
    ComparePlan,
    load_compare_plan,
    plan_compare,
    resolve_compare_resources,
)
from sweep.compare.report import print_compare, write_compare_report
from sweep.compare.request import CompareRequest
from sweep.compare.session import run_then_report
from sweep.errors import UserError

__all__ = ["connect_and_resolve", "run_compare_request"]


class StudyLike(Protocol):
    """The request fields ``connect_and_resolve`` reads (CompareRequest and StudyRequest have them)."""

    address: str | None
    dashboard: bool
    resume: bool
    cpus_per_trial: float | None
    gpus_per_trial: float | None
    max_concurrent: int | None


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


def connect_and_resolve(plan: ComparePlan, request: CompareRequest | StudyLike) -> ComparePlan:
    """Join (or start) Ray for a compare or a study; a new run (or an old plan without them) gets its resources.

    A resume keeps the resources and the cluster address its plan saved.
    """
    from sweep.ray_connection import connect

    info = connect(request.address or plan.address, dashboard=request.dashboard)
    if info.dashboard_url:
        print(f"netsep: Ray dashboard: {info.dashboard_url}")
    if request.resume and plan.cpus_per_trial is not None and plan.gpus_per_trial is not None:
        return plan
    return resolve_compare_resources(
        plan,
        cpus_per_trial=request.cpus_per_trial,
        gpus_per_trial=request.gpus_per_trial,
        max_concurrent=request.max_concurrent,
        cluster_cpus=info.cpus,
        cluster_gpus=info.gpus,
        address=request.address if not request.resume else plan.address,
    )


def run_compare_request(request: CompareRequest) -> int:
    """Run (or resume, or only report) a compare; the exit code. User mistakes raise UserError."""
    compare_dir = Path(request.sweep_dir) / COMPARE_DIR
    _check_effect(request)
    if request.report_only:
        print_compare(write_compare_report(load_compare_plan(compare_dir), request.effect))
        return 0
    _check(request)
    plan = _plan(request, compare_dir)
    plan = connect_and_resolve(plan, request)
    print(f"netsep: compare {len(plan.arms)} arms x {len(plan.seeds)} seeds -> {plan.compare_dir}", flush=True)

    def report() -> CompareReport:
        written = write_compare_report(plan, request.effect)
        print_compare(written)
        return written

    return run_then_report(plan, request.resume, report, f"python launch.py compare {request.sweep_dir} --resume")
