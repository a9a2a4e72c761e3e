"""The sweep's own commands: start a sweep, resume one, and always leave a report.

``sweep.cli`` turns argv into a typed request and calls ``new_sweep`` or ``resume``;
they validate (before Ray starts), take the results folder, connect to Ray, check that
one trial fits on a node, run the sweep and write its report whatever happened
(``sweep.backend.session``), and return the exit code: 0 only when the sweep finished.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sweep.errors import EXIT_FAILED, EXIT_INTERRUPTED, UserError
from sweep.requests import ResumeRequest, SweepRequest

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "new_sweep", "resume"]


def new_sweep(request: SweepRequest) -> int:
    from sweep.backend.connection import connect
    from sweep.folders import claim_folder
    from sweep.plan import build_plan, check_wandb, resolve_resources
    from sweep.run.runner import run_sweep

    plan, space = build_plan(request)
    if plan.wandb_project:
        check_wandb()
    with claim_folder(plan.results_dir, new=True, what="running a sweep"):
        info = connect(request.cluster.address, dashboard=request.cluster.dashboard)
        plan = resolve_resources(plan, info.cpus, info.gpus)
        info.check_fits(plan.cpus_per_trial, plan.gpus_per_trial)
        _print_start(plan.name, plan.results_dir, info)
        return _run_then_report(lambda: run_sweep(plan, space), plan.results_dir, resumed=False)


def resume(request: ResumeRequest) -> int:
    from sweep.backend.connection import connect
    from sweep.folders import check_private, claim_folder, local_path
    from sweep.plan import load_plan
    from sweep.run.runner import check_resumable, resume_sweep

    plan, space = load_plan(request.results_dir)  # located where it is now, not where it was made
    tune_dir = local_path(plan.tune_path) or "tune"  # a file:// storage is checked where it is
    check_private(plan.results_dir, tune_dir)  # before check_resumable reads the searcher state
    check_resumable(plan, space)
    with claim_folder(plan.results_dir, new=False, what="resuming a sweep", tune_dir=tune_dir):
        address = plan.address if request.address is None else request.address
        info = connect(address, dashboard=request.dashboard)
        info.check_fits(plan.cpus_per_trial or 0.0, plan.gpus_per_trial or 0.0)
        _print_start(plan.name, plan.results_dir, info)
        return _run_then_report(lambda: resume_sweep(plan, space), plan.results_dir, resumed=True)


def _run_then_report(run: Any, results_dir: str, *, resumed: bool) -> int:
    from sweep.backend.session import run_then_report

    def finish(outcome: Any) -> str | None:
        problem = _write_report(results_dir)
        if problem is None and outcome is not None and outcome.all_search_failed:
            problem = (
                f"every search trial failed ({outcome.search_errors} of {outcome.search_trials}); "
                f"the first: {outcome.first_error}"
            )
        return problem

    return run_then_report(
        run,
        finish,
        resume_command=f"python launch.py --resume {results_dir}",
        folder=results_dir,
        provenance={"mode": "sweep", "resumed": resumed},  # provenance.json, shown in summary.md
    )


def _write_report(results_dir: str) -> str | None:
    """Write and print the report of what the folder holds; why that failed, or None."""
    from sweep.folders import disk_full_message
    from sweep.report import print_final, write_report

    try:
        print_final(write_report(Path(results_dir), mirror=True))
    except UserError as err:
        return f"no report: {err.message}"
    except OSError as err:
        return f"no report: {disk_full_message(err, results_dir) or err}"
    return None


def _print_start(name: str, results_dir: str, info: Any) -> None:
    where = "local Ray" if info.started_locally else f"Ray cluster at {info.address}"
    for note in info.notes:
        print(f"netsep: {note}")
    print(f"netsep: sweep {name!r} on {where} ({info.cpus:g} CPUs, {info.gpus:g} GPUs)")
    if info.dashboard_url:
        print(f"netsep: Ray dashboard: {info.dashboard_url}")
    print(f"netsep: results: {results_dir}", flush=True)
