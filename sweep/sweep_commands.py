"""The sweep's own commands: start a sweep, resume one, and always leave a report.

``sweep.cli`` turns argv into a typed request and calls ``new_sweep`` or ``resume``;
they validate (before Ray starts), take the results folder, connect to Ray, run the
sweep and write its report whatever happened, and return the exit code: 0 only
when the sweep finished.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sweep.errors import EXIT_FAILED, EXIT_INTERRUPTED, UserError
from sweep.requests import ResumeRequest, SweepRequest

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "new_sweep", "resume"]


def new_sweep(request: SweepRequest) -> int:
    from sweep.plan import build_plan, check_wandb, resolve_resources
    from sweep.resources_check import check_trial_fits, node_resources
    from sweep.results_folder import (
        FolderLock,
        create_results_folder,
        private_umask,
        remove_if_empty,
    )
    from sweep.runner import run_sweep

    plan, space = build_plan(request)
    if plan.wandb_project:
        check_wandb()
    private_umask()
    created = create_results_folder(plan.results_dir)  # atomic: of two equal --name, one wins
    try:
        with FolderLock(plan.results_dir):
            info = _connect(request.address, request.dashboard)
            plan = resolve_resources(plan, info.cpus, info.gpus)
            check_trial_fits(plan.cpus_per_trial, plan.gpus_per_trial, node_resources())
            _print_start(plan.name, plan.results_dir, info)
            return _run_then_report(lambda: run_sweep(plan, space), plan.results_dir)
    except BaseException:
        remove_if_empty(created)  # a user error after the folder was made leaves nothing behind
        raise


def resume(request: ResumeRequest) -> int:
    from sweep.plan import load_plan
    from sweep.results_folder import FolderLock, check_private, private_umask
    from sweep.runner import check_resumable, resume_sweep

    plan, space = load_plan(request.results_dir)  # located where it is now, not where it was made
    check_private(plan.results_dir)
    check_resumable(plan, space)
    private_umask()
    with FolderLock(plan.results_dir):
        info = _connect(plan.address if request.address is None else request.address, request.dashboard)
        _print_start(plan.name, plan.results_dir, info)
        return _run_then_report(lambda: resume_sweep(plan, space), plan.results_dir)


def _run_then_report(run: Callable[[], Any], results_dir: str) -> int:
    """Run the sweep; whatever happens, write the report of what is there; pick the exit code."""
    from sweep.signals import StopSignals, exit_code_for

    with StopSignals() as stop:
        try:
            outcome = run()
        except UserError:
            raise
        except KeyboardInterrupt:  # a second Ctrl-C inside fit(), or one outside it
            stop.note_interrupt()
            outcome = None
        except Exception as exc:  # noqa: BLE001 -- Tune's own failure: keep what finished, say how to go on
            _say_stopped(exc, results_dir)
            _write_report(results_dir)
            return EXIT_FAILED
        if outcome is not None and (stop.tune_was_interrupted() or not outcome.finished):
            stop.note_interrupt()  # fit() returned early: Tune saw Ctrl-C (or our SIGTERM)
        if stop.received is not None:
            _write_report(results_dir)
            print(
                f"netsep: the sweep was stopped before it finished; continue it with "
                f"`python launch.py --resume {results_dir}`",
                file=sys.stderr,
            )
            return exit_code_for(stop.received)
    if not _write_report(results_dir):
        return EXIT_FAILED
    if outcome.all_search_failed:
        print(
            f"netsep: every search trial failed ({outcome.search_errors} of {outcome.search_trials}); "
            f"the first: {outcome.first_error}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


def _say_stopped(exc: BaseException, results_dir: str) -> None:
    from sweep.results_folder import disk_full_message

    full = disk_full_message(exc, results_dir)
    if full:
        print(f"netsep: {full}", file=sys.stderr)
    else:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        print(f"netsep: the sweep stopped early: {type(exc).__name__}: {first}", file=sys.stderr)
    print(f"netsep: continue it with `python launch.py --resume {results_dir}`", file=sys.stderr)


def _write_report(results_dir: str) -> bool:
    """Write and print the report of what the folder holds; False (and why) when that failed."""
    from sweep.report import print_final, write_report
    from sweep.results_folder import disk_full_message

    try:
        print_final(write_report(Path(results_dir)))
    except UserError as err:
        print(f"netsep: no report: {err.message}", file=sys.stderr)
        return False
    except OSError as err:
        print(f"netsep: no report: {disk_full_message(err, results_dir) or err}", file=sys.stderr)
        return False
    return True


def _connect(address: str | None, dashboard: bool) -> Any:
    from sweep.ray_connection import connect

    return connect(address, dashboard=dashboard)


def _print_start(name: str, results_dir: str, info: Any) -> None:
    where = "local Ray" if info.started_locally else f"Ray cluster at {info.address}"
    for note in info.notes:
        print(f"netsep: {note}")
    print(f"netsep: sweep {name!r} on {where} ({info.cpus:g} CPUs, {info.gpus:g} GPUs)")
    if info.dashboard_url:
        print(f"netsep: Ray dashboard: {info.dashboard_url}")
    print(f"netsep: results: {results_dir}", flush=True)
