"""The command line: parse, validate everything, then hand over to the runner.

    python launch.py --space loss_weights [options] [key=value ...]
    python launch.py --smoke-test
    python launch.py --resume experiments/<name>
    python launch.py report experiments/<name>
    python launch.py compare experiments/<name> --seeds 3 --top 2

Every user mistake ends with exit code 2 and one message (``sweep.errors.UserError``);
nothing is written under the results folder before the input has been validated.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from sweep.errors import EXIT_USAGE, UserError

__all__ = ["main", "build_sweep_parser", "parse_overrides", "SMOKE_TEST"]

# --smoke-test: the Ray examples' convention, a real sweep that is done in ~2 minutes
# on 2 CPU cores.
SMOKE_TEST = {"space": "loss_weights", "data": "digits", "trials": 4, "epochs": 2, "fixed": {"batch_size": 64}}


class _Parser(argparse.ArgumentParser):
    """argparse that reports through UserError (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message} (see --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def build_sweep_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="launch.py",
        description="Run a netsep sweep: Optuna searches a YAML space, Ray Tune runs the trials.",
        epilog="Other commands: `launch.py report DIR` rebuilds a results folder's report; "
        "`launch.py compare DIR --seeds K` retrains the Pareto front against the baseline.",
    )
    p.add_argument("--space", help="a space in search_spaces/ by name (loss_weights) or a path to a YAML file")
    p.add_argument("--smoke-test", action="store_true",
                   help="a short real sweep: digits, 4 trials x 2 epochs (about two minutes on 2 CPU cores)")
    p.add_argument("--data", help="dataset, overriding the space's default (digits, fashion-mnist, cifar10, cifar10-catdog)")
    p.add_argument("--data-dir", help="folder holding the dataset's files (default: the dataset's usual place)")
    p.add_argument("--trials", type=_positive_int, help="number of Optuna trials (default: the space's)")
    p.add_argument("--epochs", type=_positive_int, help="epochs per trial (default: the space's)")
    p.add_argument("--name", help="results folder name under --storage (default: <space>-<date>-<time>)")
    p.add_argument("--storage", default="experiments",
                   help="where results folders live: a local or shared (NFS) path, or s3://bucket/prefix "
                   "on a cluster (default: ./experiments)")
    p.add_argument("--cpus-per-trial", type=_non_negative_float, default=None,
                   help="CPUs reserved by each trial (default: 1)")
    p.add_argument("--gpus-per-trial", type=_non_negative_float, default=None,
                   help="GPUs per trial; fractions pack several trials on one GPU "
                   "(default: 0.25 where the cluster has GPUs, else 0)")
    p.add_argument("--max-concurrent", type=_positive_int, default=None,
                   help="trials running at once (default: as many as the resources fit)")
    p.add_argument("--address", help="join this Ray cluster (e.g. auto, or HEAD_IP:6379) instead of starting a local Ray")
    p.add_argument("--early-stop", metavar="METRIC",
                   help="stop weak trials early with ASHA on this one metric (e.g. ensemble_acc)")
    p.add_argument("--wandb", metavar="PROJECT", help="log every trial to this Weights & Biases project")
    p.add_argument("--max-failures", type=int, default=2, help="retries of a trial that raises (default: 2)")
    p.add_argument("--resume", metavar="DIR", help="continue the interrupted sweep in this results folder")
    p.add_argument("--no-dashboard", action="store_true", help="start the local Ray without its dashboard")
    p.add_argument("overrides", nargs="*", metavar="key=value",
                   help="fixed trial settings, e.g. classifier=fast batch_size=256 (see trainable/config.py)")
    return p


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` strings -> dict; values are read as YAML scalars (1e-3, true, null)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UserError(f"command line: {item!r}: settings must look like key=value")
        out[key] = _scalar(text)
    return out


def _scalar(text: str) -> Any:
    """int, then float (YAML 1.1 reads `1e6` as a string), then a YAML scalar."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text) if text else ""
    except yaml.YAMLError:
        return text


# -------------------------------------------------------------------- commands
def _sweep(args: argparse.Namespace) -> int:
    from sweep.plan import build_plan, check_wandb, load_plan, resolve_resources
    from sweep.runner import resume_sweep, run_sweep

    if args.resume:
        plan, _ = load_plan(args.resume)
        info = _connect(plan.address if args.address is None else args.address, not args.no_dashboard)
        _print_start(plan.name, plan.results_dir, info)
        return _run_then_report(lambda: resume_sweep(args.resume), plan.results_dir)

    plan, space = build_plan(args, smoke=SMOKE_TEST if args.smoke_test else None)
    if plan.wandb_project:
        check_wandb()
    info = _connect(args.address, not args.no_dashboard)
    plan = resolve_resources(plan, info.cpus, info.gpus)
    from sweep.resources_check import check_trial_fits, node_resources

    check_trial_fits(plan.cpus_per_trial, plan.gpus_per_trial, node_resources())
    _print_start(plan.name, plan.results_dir, info)
    return _run_then_report(lambda: run_sweep(plan, space), plan.results_dir)


def _run_then_report(run: Callable[[], Path], results_dir: str) -> int:
    """Run the sweep; whatever happens, write the report of what is there."""
    from sweep.report import print_final, write_report

    try:
        run()
    except (UserError, KeyboardInterrupt):
        raise
    except Exception as exc:  # Tune's own failure: keep what finished, say how to go on
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        print(f"netsep: the sweep stopped early: {type(exc).__name__}: {first}", file=sys.stderr)
        print(f"netsep: continue it with `python launch.py --resume {results_dir}`", file=sys.stderr)
        try:
            print_final(write_report(Path(results_dir)))
        except UserError:
            pass
        return 1
    print_final(write_report(Path(results_dir)))
    return 0


def _connect(address: str | None, dashboard: bool):
    from sweep.ray_connection import connect

    return connect(address, dashboard=dashboard)


def _print_start(name: str, results_dir: str, info) -> None:
    where = "local Ray" if info.started_locally else f"Ray cluster at {info.address}"
    print(f"netsep: sweep {name!r} on {where} ({info.cpus:g} CPUs, {info.gpus:g} GPUs)")
    if info.dashboard_url:
        print(f"netsep: Ray dashboard: {info.dashboard_url}")
    print(f"netsep: results: {results_dir}", flush=True)


def _report(argv: Sequence[str]) -> int:
    p = _Parser(prog="launch.py report", description="Rebuild a results folder's report from the folder alone.")
    p.add_argument("dir", help="a results folder, e.g. experiments/<name>")
    args = p.parse_args(argv)
    from sweep.report import print_final, write_report

    print_final(write_report(Path(args.dir)))
    return 0


def _compare(argv: Sequence[str]) -> int:
    from sweep.compare import CompareRequest, run_compare_request

    p = _Parser(prog="launch.py compare",
                description="Retrain a sweep's top Pareto configurations and its independent baseline over "
                "K paired seeds, then report paired statistics and a verdict.")
    p.add_argument("dir", help="a finished sweep's results folder, e.g. experiments/<name>")
    p.add_argument("--seeds", type=_positive_int, default=3, help="seeds per arm (default 3; >= 2 for intervals)")
    p.add_argument("--top", type=_positive_int, default=2, help="Pareto configurations to retrain (default 2)")
    p.add_argument("--first-seed", type=int, default=1000,
                   help="seeds are FIRST_SEED .. FIRST_SEED+K-1 (default 1000, away from the sweep's own seed)")
    p.add_argument("--address", help="join this Ray cluster instead of starting a local Ray")
    p.add_argument("--cpus-per-trial", type=_non_negative_float, default=None)
    p.add_argument("--gpus-per-trial", type=_non_negative_float, default=None)
    p.add_argument("--max-concurrent", type=_positive_int, default=None)
    p.add_argument("--resume", action="store_true", help="continue an interrupted compare run in DIR/compare")
    p.add_argument("--report-only", action="store_true", help="rebuild the compare report from DIR/compare alone")
    p.add_argument("--no-dashboard", action="store_true", help="start the local Ray without its dashboard")
    args = p.parse_args(list(argv))
    return run_compare_request(CompareRequest(
        sweep_dir=args.dir, seeds=args.seeds, top=args.top, first_seed=args.first_seed, address=args.address,
        cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
        resume=args.resume, report_only=args.report_only, dashboard=not args.no_dashboard,
    ))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "report":
            return _report(argv[1:])
        if argv and argv[0] == "compare":
            return _compare(argv[1:])
        args = build_sweep_parser().parse_args(argv)
        return _sweep(args)
    except UserError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nnetsep: interrupted; continue with `python launch.py --resume <results folder>`", file=sys.stderr)
        return 130
