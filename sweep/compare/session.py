"""Run a compare's (or a study's) Tune experiment, write its report whatever happened, pick the exit code.

As for a sweep (``sweep.sweep_commands``): Ctrl-C or SIGTERM makes Tune save and
return early; the report of what finished is still written, the resume command is
printed, and the exit code is 130 / 143. Runs that did not complete after a whole
``fit`` (errors beyond their retries) give exit 1: an unfinished compare never exits 0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from sweep.compare.analysis import CompareReport
from sweep.compare.plan import ComparePlan
from sweep.compare.run import run_compare
from sweep.errors import EXIT_FAILED, UserError

__all__ = ["run_then_report"]


def run_then_report(
    plan: ComparePlan, resume: bool, write_report: Callable[[], CompareReport], resume_command: str
) -> int:
    """``run_compare`` under ``StopSignals``, then ``write_report()``; the exit code."""
    from sweep.signals import StopSignals, exit_code_for

    with StopSignals() as stop:
        try:
            run_compare(plan, resume=resume)
        except UserError:
            raise
        except KeyboardInterrupt:  # a second Ctrl-C inside fit(), or one outside it
            stop.note_interrupt()
        report = write_report()
        planned = len(plan.arms) * len(plan.seeds)
        complete = sum(r.status == "complete" for r in report.runs)
        if complete < planned and stop.tune_was_interrupted():
            stop.note_interrupt()  # fit() returned early: Tune saw Ctrl-C (or our SIGTERM)
        if stop.received is not None:
            print(f"netsep: stopped before every run finished; continue with `{resume_command}`", file=sys.stderr)
            return exit_code_for(stop.received)
    if complete < planned:
        print(
            f"netsep: {complete} of {planned} runs completed (see runs.csv and summary.md); "
            f"`{resume_command}` continues the ones that were cut short",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0
