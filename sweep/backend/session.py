"""Run, then report whatever happened, then pick the exit code: one rule for every mode.

A sweep, a compare and a study all run one Tune experiment and then write a report
from its folder. The rule they share:

* Ctrl-C or SIGTERM (``sweep.backend.signals``) makes Tune save and return early; the
  report of what finished is still written, the resume command is printed, and the
  exit code is 130 / 143;
* a failure of Tune itself (a full disk, a lost cluster) is said in one line with the
  resume command, the report of what finished is written, exit 1;
* after a whole run, the mode's ``finish`` writes the report and says what, if
  anything, keeps the run from counting as done (runs that errored beyond their
  retries, every search trial failed, the report could not be written): exit 1.
  Only a run that finished and reported exits 0.

User mistakes found on the way (``UserError``) pass through to the command line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sweep.errors import EXIT_FAILED, UserError
from sweep.folders import disk_full_message

__all__ = ["RunOutcome", "run_then_report"]


class RunOutcome(Protocol):
    """What a mode's run returns: whether Tune ran every planned trial to its end."""

    @property
    def finished(self) -> bool: ...


O = TypeVar("O", bound=RunOutcome)


def run_then_report(
    run: Callable[[], O | None],
    finish: Callable[[O | None], str | None],
    *,
    resume_command: str,
    folder: str,
    provenance: Mapping[str, Any] | None = None,
) -> int:
    """``run()`` under ``StopSignals``, then ``finish(outcome)``; the exit code.

    ``finish`` writes the mode's report and returns why the run does not count as done
    (one line for people), or None. It gets None as the outcome when the run was
    interrupted before it returned. ``folder`` is where the results go (for the
    full-disk message). ``provenance``: the mode's fields of this run's record in
    ``folder``'s ``provenance.json`` (``sweep.provenance``), started here and completed
    (end time, Ray's nodes) before ``finish`` writes the report that shows it; None
    records nothing.
    """
    from sweep.backend.signals import StopSignals, exit_code_for

    forget: Callable[[], None] = lambda: None
    if provenance is not None:
        finish, forget = _recording(finish, folder, provenance)
    outcome: O | None = None
    with StopSignals() as stop:
        try:
            outcome = run()
        except UserError:
            forget()  # a mistake found as the run began: no record of a run that never ran
            raise
        except KeyboardInterrupt:  # a second Ctrl-C inside fit(), or one outside it
            stop.note_interrupt()
        except Exception as exc:  # noqa: BLE001 -- Tune's own failure: keep what finished, say how to go on
            _say_stopped(exc, folder, resume_command)
            problem = finish(None)
            if problem:
                print(f"netsep: {problem}", file=sys.stderr)
            return EXIT_FAILED
        if outcome is not None and (stop.tune_was_interrupted() or not outcome.finished):
            stop.note_interrupt()  # fit() returned early: Tune saw Ctrl-C (or our SIGTERM)
        if stop.received is not None:
            problem = finish(outcome)  # the report of what is there; the run is unfinished either way
            if problem:
                print(f"netsep: {problem}", file=sys.stderr)
            print(
                f"netsep: stopped before every run finished; continue with `{resume_command}`",
                file=sys.stderr,
            )
            return exit_code_for(stop.received)
    problem = finish(outcome)
    if problem:
        print(f"netsep: {problem}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _recording(
    finish: Callable[[O | None], str | None], folder: str, fields: Mapping[str, Any]
) -> tuple[Callable[[O | None], str | None], Callable[[], None]]:
    """Start this run's provenance record now: ``finish`` that first completes it, and a way to forget it."""
    from sweep.backend.nodes import ray_nodes
    from sweep.provenance import PROVENANCE_JSON, drop_run, end_run, start_run

    try:
        index = start_run(folder, fields)
    except OSError as error:
        raise UserError(
            f"{folder}/{PROVENANCE_JSON}: cannot write it ({disk_full_message(error, folder) or error})"
        ) from None

    def finish_recorded(outcome: O | None) -> str | None:
        try:
            end_run(folder, index, ray_nodes())
        except (OSError, UserError) as error:  # the report still gets written; say what is missing
            print(f"netsep: {PROVENANCE_JSON}: end of the run not recorded ({error})", file=sys.stderr)
        return finish(outcome)

    def forget() -> None:
        try:
            drop_run(folder, index)
        except (OSError, UserError):
            pass  # the user error that stopped the run is what matters

    return finish_recorded, forget


def _say_stopped(exc: BaseException, folder: str, resume_command: str) -> None:
    full = disk_full_message(exc, folder)
    if full:
        print(f"netsep: {full}", file=sys.stderr)
    else:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        print(f"netsep: the run stopped early: {type(exc).__name__}: {first}", file=sys.stderr)
    print(f"netsep: continue it with `{resume_command}`", file=sys.stderr)
