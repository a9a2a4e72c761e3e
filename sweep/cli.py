"""The command line: argv -> a typed request -> the layer that does the work.

    python launch.py --space loss_weights [options] [key=value ...]   # `run` is the default
    python launch.py --smoke-test
    python launch.py --resume experiments/<name>
    python launch.py report experiments/<name>
    python launch.py compare experiments/<name> --seeds 3 --top 2
    python launch.py validate loss_weights [key=value ...]
    python launch.py study fmnist_dose [--dry-run | --resume | --report-only]
    python launch.py compare-studies experiments/<study A> experiments/<study B> [--out DIR]
    python launch.py dashboard experiments/<name> [--port 8080]

Every user mistake ends with exit code 2 and one message (``sweep.errors.UserError``);
nothing is written under the results folder before the input has been validated.
Nothing imports this module (``launch.py`` and the ``netsep`` script call ``main``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sweep.arguments import build_parser, compare_request, resume_request, study_request, sweep_request
from sweep.errors import EXIT_INTERRUPTED, EXIT_USAGE, UserError
from sweep.requests import (
    CompareStudiesRequest,
    DashboardRequest,
    ReportRequest,
    ValidateRequest,
    parse_overrides,
)

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = ("run", "report", "compare", "validate", "study", "compare-studies", "dashboard")

# ---------------------------------------------------------------------- commands
# Flags that define a sweep: --resume continues the one saved in the folder, so it
# refuses them rather than ignore them (only --address and --no-dashboard go with it).
_SWEEP_FLAGS = (
    ("space", "--space"),
    ("smoke_test", "--smoke-test"),
    ("data", "--data"),
    ("data_dir", "--data-dir"),
    ("trials", "--trials"),
    ("epochs", "--epochs"),
    ("name", "--name"),
    ("storage", "--storage"),
    ("cpus_per_trial", "--cpus-per-trial"),
    ("gpus_per_trial", "--gpus-per-trial"),
    ("max_concurrent", "--max-concurrent"),
    ("early_stop", "--early-stop"),
    ("wandb", "--wandb"),
    ("max_failures", "--max-failures"),
    ("replicates", "--replicates"),
    ("enqueue", "--enqueue"),
    ("overrides", "key=value settings"),
)


def _run_command(args: argparse.Namespace) -> int:
    if args.resume:
        given = [flag for attr, flag in _SWEEP_FLAGS if getattr(args, attr) not in (None, False, [])]
        if given:
            raise UserError(
                f"--resume: {given[0]} cannot be given with --resume: the sweep continues with the "
                f"settings saved in {Path(args.resume) / 'sweep.json'} (only --address and "
                "--no-dashboard go with --resume); start a new sweep to change them"
            )
        from sweep.run.command import resume

        return resume(resume_request(args))
    from sweep.run.command import new_sweep

    return new_sweep(sweep_request(args))


def _report_command(args: argparse.Namespace) -> int:
    request = ReportRequest(results_dir=args.dir)
    from sweep.report import report_folder

    report_folder(request.results_dir)
    return 0


def _compare_command(args: argparse.Namespace) -> int:
    from sweep.compare import run_compare_request

    return run_compare_request(compare_request(args))


def _study_command(args: argparse.Namespace) -> int:
    from sweep.study import run_study_request

    modes = [
        flag
        for flag, on in (("--dry-run", args.dry_run), ("--resume", args.resume), ("--report-only", args.report_only))
        if on
    ]
    if len(modes) > 1:
        raise UserError(f"study: {modes[0]} and {modes[1]} cannot be given together")
    request = study_request(args)
    return run_study_request(request)


def _compare_studies_command(args: argparse.Namespace) -> int:
    from sweep.study.compare_studies import run_compare_studies_request

    return run_compare_studies_request(CompareStudiesRequest(a=args.a, b=args.b, out=args.out))


def _dashboard_command(args: argparse.Namespace) -> int:
    from sweep.run.dashboard import run_dashboard

    return run_dashboard(DashboardRequest(results_dir=args.dir, port=args.port))


def _validate_command(args: argparse.Namespace) -> int:
    from sweep.run.validate import describe_space

    request = ValidateRequest(space=args.space, overrides=parse_overrides(args.overrides))
    print(describe_space(request))
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run_command,
    "report": _report_command,
    "compare": _compare_command,
    "validate": _validate_command,
    "study": _study_command,
    "compare-studies": _compare_studies_command,
    "dashboard": _dashboard_command,
}


# -------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        argv = ["run", *argv]  # `launch.py --space ...` is `launch.py run --space ...`
    try:
        args = build_parser().parse_args(argv)
        return _HANDLERS[args.command](args)
    except UserError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnetsep: interrupted; continue with `python launch.py --resume <results folder>`", file=sys.stderr)
        return EXIT_INTERRUPTED
