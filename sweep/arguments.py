"""The command line's arguments: the parser of every subcommand, and argv -> typed requests.

``sweep.cli`` dispatches on the parsed subcommand (``args.command``); this module only
knows flags, their types and help, and how they become the request types of
``sweep.requests``. Every malformed flag is a ``UserError`` (one line, exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from sweep.errors import UserError
from sweep.requests import (
    DEFAULT_FIRST_SEED,
    DEFAULT_MAX_FAILURES,
    DEFAULT_STORAGE,
    ClusterOptions,
    CompareRequest,
    ResumeRequest,
    StudyRequest,
    SweepRequest,
    parse_overrides,
)

__all__ = ["build_parser", "compare_request", "resume_request", "study_request", "sweep_request"]

T = TypeVar("T", int, float)


class _Parser(argparse.ArgumentParser):
    """argparse that reports through UserError (one line, exit 2) instead of printing usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message} (see --help)")


def _number(convert: Callable[[str], T], holds: Callable[[T], bool], rule: str) -> Callable[[str], T]:
    """An argparse type: ``convert`` the text, then require ``holds`` (``rule`` says it in words)."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}") from None
        if not holds(value):
            raise argparse.ArgumentTypeError(f"must be {rule}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "a whole number >= 1")
_positive_fraction = _number(float, lambda v: 0 < v < 1, "a number in (0, 1)")
_non_negative_float = _number(float, lambda v: v >= 0, "a number >= 0")  # `>= 0` also refuses nan


# ----------------------------------------------------------------------- parsers
def build_parser() -> argparse.ArgumentParser:
    """``launch.py`` with its subcommands (``main`` inserts ``run`` when none is named)."""
    top = _Parser(prog="launch.py", description="netsep: Optuna searches a YAML space, Ray Tune runs the trials.")
    commands = top.add_subparsers(dest="command", parser_class=_Parser)
    _add_run(
        commands.add_parser(
            "run",
            prog="launch.py [run]",
            description="Run a netsep sweep: Optuna searches a YAML space, Ray Tune runs the trials.",
            epilog="Other commands: `launch.py report DIR` rebuilds a results folder's report; "
            "`launch.py compare DIR --seeds K` retrains the Pareto front against the baseline; "
            "`launch.py validate SPACE [key=value ...]` checks a space and settings without running; "
            "`launch.py study STUDY` runs a pre-registered study (studies/*.yaml); "
            "`launch.py compare-studies A B` compares two finished studies arm by arm, paired by seed; "
            "`launch.py dashboard DIR` shows a sweep's Optuna study, live, in optuna-dashboard.",
        )
    )
    _add_report(
        commands.add_parser(
            "report", prog="launch.py report", description="Rebuild a results folder's report from the folder alone."
        )
    )
    _add_compare(
        commands.add_parser(
            "compare",
            prog="launch.py compare",
            description="Retrain a sweep's top Pareto configurations and its independent baseline over "
            "K paired seeds, then report paired statistics and a verdict.",
        )
    )
    _add_validate(
        commands.add_parser(
            "validate",
            prog="launch.py validate",
            description="Check a search space and key=value settings; print the resolved trial settings and "
            "the searched distributions. Runs nothing, writes nothing.",
        )
    )
    _add_study(
        commands.add_parser(
            "study",
            prog="launch.py study",
            description="Run a pre-registered study (a YAML file in studies/): its arms, the matched "
            "independent baseline and the deep ensemble over paired seeds, then compare's paired statistics.",
        )
    )
    _add_compare_studies(
        commands.add_parser(
            "compare-studies",
            prog="launch.py compare-studies",
            description="Compare two finished studies (or compares) directly: per arm of the same name, "
            "B minus A in test ensemble accuracy (and member accuracy, double fault, disc_acc), paired by seed, "
            "with its 95 % t interval. Refuses (exit 2) when the seeds or the baselines' settings differ. "
            "Reads A and B only; prints the table, and writes DIR/compare_studies.csv with --out DIR.",
        )
    )
    _add_dashboard(
        commands.add_parser(
            "dashboard",
            prog="launch.py dashboard",
            description="Serve a results folder's Optuna study (live while the sweep runs) with optuna-dashboard "
            "on 127.0.0.1 (the optional extra: pip install -e '.[dashboard]').",
        )
    )
    return top


def _add_run(p: argparse.ArgumentParser) -> None:
    # Defaults are None so that --resume can tell which flags were given (it refuses them).
    p.add_argument("--space", help="a space in search_spaces/ by name (loss_weights) or a path to a YAML file")
    p.add_argument(
        "--smoke-test",
        action="store_true",
        help="a short real sweep: digits, 4 trials x 2 epochs (about two minutes on 2 CPU cores)",
    )
    p.add_argument(
        "--data",
        help="dataset, overriding the space's default "
        "(digits, fashion-mnist, fashion-mnist-shirts, cifar10, cifar10-catdog)",
    )
    p.add_argument("--data-dir", help="folder holding the dataset's files (default: the dataset's usual place)")
    p.add_argument("--trials", type=_positive_int, help="number of Optuna trials (default: the space's)")
    p.add_argument("--epochs", type=_positive_int, help="epochs per trial (default: the space's)")
    p.add_argument("--name", help="results folder name under --storage (default: <space>-<date>-<time>)")
    p.add_argument(
        "--storage",
        help="where results folders live: a local or shared (NFS) path, or "
        f"s3://bucket/prefix on a cluster (default: ./{DEFAULT_STORAGE})",
    )
    _add_cluster_flags(p)
    p.add_argument(
        "--early-stop", metavar="METRIC", help="stop weak trials early with ASHA on this one metric (e.g. ensemble_acc)"
    )
    p.add_argument("--wandb", metavar="PROJECT", help="log every trial to this Weights & Biases project")
    p.add_argument("--max-failures", type=int, help=f"retries of a trial that raises (default: {DEFAULT_MAX_FAILURES})")
    p.add_argument(
        "--replicates",
        metavar="K|MIN:MAX",
        help="seeds per configuration, paired with the baseline's (default: the space's `replicates`); "
        "MIN:MAX races: more seeds only where a configuration may still be on the front",
    )
    p.add_argument(
        "--enqueue",
        metavar="FILE.yaml",
        help="a YAML list of configurations (searched params -> values) to run first, as the space's start_with",
    )
    p.add_argument("--resume", metavar="DIR", help="continue the interrupted sweep in this results folder")
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="fixed trial settings, e.g. classifier=fast batch_size=256 (see trainable/config.py)",
    )


def _add_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="a results folder, e.g. experiments/<name>")


def _add_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="a finished sweep's results folder, e.g. experiments/<name>")
    p.add_argument("--seeds", type=_positive_int, default=3, help="seeds per arm (default 3; >= 2 for intervals)")
    p.add_argument("--top", type=_positive_int, default=2, help="Pareto configurations to retrain (default 2)")
    p.add_argument(
        "--first-seed",
        type=int,
        default=DEFAULT_FIRST_SEED,
        help=f"seeds are FIRST_SEED .. FIRST_SEED+K-1 (default {DEFAULT_FIRST_SEED}, away from the sweep's own seed)",
    )
    _add_cluster_flags(p)
    p.add_argument("--resume", action="store_true", help="continue an interrupted compare run in DIR/compare")
    p.add_argument("--report-only", action="store_true", help="rebuild the compare report from DIR/compare alone")
    p.add_argument(
        "--effect",
        type=_positive_fraction,
        default=0.005,
        metavar="FRACTION",
        help="the smallest ensemble-accuracy difference worth detecting, as a fraction "
        "(default 0.005 = 0.5 pp): the verdict says how many seeds would detect it",
    )


def _add_study(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", help="a study in studies/ by name (fmnist_dose) or a path to its YAML file")
    p.add_argument("--storage", default=None, help="where the results folder <storage>/<name>/ goes (experiments)")
    p.add_argument(
        "--dry-run", action="store_true", help="print the runs, the wall time and the expected MDE; run nothing"
    )
    p.add_argument("--resume", action="store_true", help="continue the study in <storage>/<name>/")
    p.add_argument("--report-only", action="store_true", help="rebuild the report from <storage>/<name>/ alone")
    p.add_argument(
        "--unregistered",
        action="store_true",
        help="run a study file that is not committed unchanged in git (its reports then say it was not pre-registered)",
    )
    _add_cluster_flags(p)


def _add_cluster_flags(p: argparse.ArgumentParser) -> None:
    """The five flags of every mode that runs trials (``sweep.requests.ClusterOptions``), declared once.

    Defaults are None so that ``--resume`` of a sweep can tell which were given (it refuses them).
    """
    p.add_argument(
        "--address", help="join this Ray cluster (e.g. auto, or HEAD_IP:6379) instead of starting a local Ray"
    )
    p.add_argument("--cpus-per-trial", type=_non_negative_float, help="CPUs reserved by each trial (default: 1)")
    p.add_argument(
        "--gpus-per-trial",
        type=_non_negative_float,
        help="GPUs per trial; fractions pack several trials on one GPU "
        "(default: 0.25 where the cluster has GPUs, else 0)",
    )
    p.add_argument(
        "--max-concurrent", type=_positive_int, help="trials running at once (default: as many as the resources fit)"
    )
    p.add_argument("--no-dashboard", action="store_true", help="start the local Ray without its dashboard")


def _cluster(args: argparse.Namespace) -> ClusterOptions:
    given = {key: getattr(args, key) for key in ("address", "cpus_per_trial", "gpus_per_trial", "max_concurrent")}
    return ClusterOptions(**given, dashboard=not args.no_dashboard)


def _add_compare_studies(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="a finished study's (or compare's) results folder, e.g. experiments/<name>")
    p.add_argument("b", metavar="B", help="the other one; the table shows B minus A")
    p.add_argument("--out", metavar="DIR", help="also write DIR/compare_studies.csv (never inside A or B)")


def _add_dashboard(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="a sweep's results folder, e.g. experiments/<name> (running or finished)")
    p.add_argument("--port", type=_port, default=8080, help="port on 127.0.0.1 (default 8080)")


_port = _number(int, lambda v: 1 <= v <= 65535, "a TCP port, 1..65535")


def _add_validate(p: argparse.ArgumentParser) -> None:
    p.add_argument("space", help="a space in search_spaces/ by name (loss_weights) or a path to a YAML file")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="fixed trial settings to check with it")


# ---------------------------------------------------------------------- requests
# SweepRequest fields that are the parsed flag as it is.
_AS_GIVEN = (
    "space",
    "smoke_test",
    "data",
    "data_dir",
    "trials",
    "epochs",
    "name",
    "early_stop",
    "wandb",
    "replicates",
    "enqueue",
)


def sweep_request(args: argparse.Namespace) -> SweepRequest:
    return SweepRequest(
        **{field: getattr(args, field) for field in _AS_GIVEN},
        storage=args.storage or DEFAULT_STORAGE,
        cluster=_cluster(args),
        max_failures=DEFAULT_MAX_FAILURES if args.max_failures is None else args.max_failures,
        overrides=parse_overrides(args.overrides),
    )


def resume_request(args: argparse.Namespace) -> ResumeRequest:
    return ResumeRequest(results_dir=args.resume, address=args.address, dashboard=not args.no_dashboard)


def compare_request(args: argparse.Namespace) -> CompareRequest:
    return CompareRequest(
        sweep_dir=args.dir,
        seeds=args.seeds,
        top=args.top,
        first_seed=args.first_seed,
        cluster=_cluster(args),
        resume=args.resume,
        report_only=args.report_only,
        effect=args.effect,
    )


def study_request(args: argparse.Namespace) -> StudyRequest:
    return StudyRequest(
        study=args.study,
        storage=args.storage or DEFAULT_STORAGE,
        cluster=_cluster(args),
        resume=args.resume,
        report_only=args.report_only,
        dry_run=args.dry_run,
        unregistered=args.unregistered,
    )
