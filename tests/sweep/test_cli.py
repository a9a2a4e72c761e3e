"""The command line (``sweep.cli``): subcommands, typed requests, exit codes."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import sweep.compare
from sweep.cli import COMMANDS, build_parser, main

SPACE = """\
name: tiny
description: a small valid space on digits
dataset: digits
trials: 2
sampler: random
seed: 0
baseline: true
objectives:
  - {metric: ensemble_acc, direction: max}
  - {metric: disagreement, direction: max}
fixed: {objective: dice, epochs: 1}
params:
  w_adv: {type: float, low: 0.01, high: 1.0, log: true}
  disc_arch: {type: categorical, choices: [mlp, siamese_pool]}
  disc_depth: {type: int, low: 1, high: 3, when: {disc_arch: [siamese_pool]}}
"""


@pytest.fixture
def space_file(tmp_path: Path, tmp_path_factory, monkeypatch) -> str:
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "netsep-cache"))
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(SPACE)
    return str(path)


def test_validate_prints_the_settings_and_distributions_and_writes_nothing(space_file, tmp_path, capsys):
    before = sorted(tmp_path.iterdir())
    assert main(["validate", space_file, "epochs=3", "lr=0.01"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines["epochs"] == ["3", "command", "line"] and lines["lr"] == ["0.01", "command", "line"]
    assert lines["objective"] == ["dice", "space"] and lines["optimizer"] == ["adam", "default"]
    assert re.search(r"^w_adv +- +searched$", out, re.MULTILINE)
    assert "float in [0.01, 1] (log)" in out and "one of mlp, siamese_pool" in out
    assert "int in [1, 3]" in out and "disc_arch in ['siamese_pool']" in out
    assert "baseline: 1 `independent` pair(s), pairing shared" in out
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "argv, words",
    [
        (["w_adv=0.5"], ["w_adv", "searched"]),
        (["epoch=3"], ["epoch", "unknown"]),
        (["batch_size"], ["key=value"]),
    ],
)
def test_validate_exits_2_on_any_error(space_file, capsys, argv, words):
    assert main(["validate", space_file, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and all(w in err for w in words), err


def test_validate_an_unknown_space(capsys):
    assert main(["validate", "no_such_space"]) == 2
    assert "no_such_space" in capsys.readouterr().err


def test_run_is_the_default_command(space_file, capsys):
    assert main(["--space", space_file, "--trials", "0"]) == 2
    implicit = capsys.readouterr().err
    assert main(["run", "--space", space_file, "--trials", "0"]) == 2
    assert capsys.readouterr().err == implicit and "--trials" in implicit


def test_help_is_the_run_command_s_and_names_the_others(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "--space" in out
    assert all(
        f"launch.py {c}" in " ".join(out.split())
        for c in ("report", "compare", "validate", "study", "compare-studies", "dashboard")
    )
    assert COMMANDS == ("run", "report", "compare", "validate", "study", "compare-studies", "dashboard")


def test_compare_turns_its_flags_into_a_typed_request(monkeypatch):
    seen = []
    monkeypatch.setattr(sweep.compare, "run_compare_request", lambda request: seen.append(request) or 0)
    argv = [
        "compare",
        "exp/a",
        "--seeds",
        "4",
        "--top",
        "1",
        "--first-seed",
        "7",
        "--max-concurrent",
        "2",
        "--cpus-per-trial",
        "0.5",
        "--resume",
        "--no-dashboard",
    ]
    assert main(argv) == 0
    request = seen[0]
    assert type(request).__name__ == "CompareRequest"
    assert (request.sweep_dir, request.seeds, request.top, request.first_seed) == ("exp/a", 4, 1, 7)
    cluster = request.cluster
    assert (cluster.max_concurrent, cluster.cpus_per_trial, cluster.gpus_per_trial) == (2, 0.5, None)
    assert (request.resume, request.report_only, cluster.dashboard, cluster.address) == (True, False, False, None)


def test_compare_defaults(monkeypatch):
    seen = []
    monkeypatch.setattr(sweep.compare, "run_compare_request", lambda request: seen.append(request) or 0)
    assert main(["compare", "exp/a"]) == 0
    assert (seen[0].seeds, seen[0].top, seen[0].first_seed, seen[0].cluster.dashboard) == (3, 2, 1000, True)


def test_the_parser_builds_every_command():
    parser = build_parser()
    assert parser.parse_args(["report", "x"]).dir == "x"
    assert parser.parse_args(["validate", "s", "a=1"]).overrides == ["a=1"]


# --------------------------------------------------- a sweep that runs (real Ray)
def failing_trainable(config: dict, shipped: object = None) -> None:
    """Every trial raises at once (module level, so Ray's workers import it by name)."""
    raise RuntimeError(f"planted failure for arm {config.get('arm') or 'search'}")


@pytest.fixture
def in_process_ray():
    """Ray started by ``main`` in this process: shut down afterwards, and what Ray and Tune
    leave in the process (their SIGINT/SIGTERM handlers, RAY_* variables) put back."""
    import ray

    from tests.isolation import restore, snapshot

    before = snapshot()
    yield
    if ray.is_initialized():
        ray.shutdown()
    restore(before, snapshot())


@pytest.mark.slow
def test_a_sweep_whose_trials_all_fail_exits_1_with_the_reason_and_the_report(
    space_file, tmp_path, monkeypatch, capsys, in_process_ray
):
    import trainable.tune_function

    monkeypatch.setattr(trainable.tune_function, "train", failing_trainable)  # what build_tuner runs
    folder = tmp_path / "exp" / "fails"
    code = main(
        [
            "--space",
            space_file,
            "--storage",
            str(tmp_path / "exp"),
            "--name",
            "fails",
            "--no-dashboard",
            "--max-failures",
            "0",
            "--max-concurrent",
            "1",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1, err[-3000:]
    assert "every search trial failed (2 of 2)" in err and "planted failure for arm search" in err, err[-3000:]
    with (folder / "trials.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["arm"] for r in rows) == ["baseline", "search", "search"]
    assert all(r["status"] == "error" and "planted failure" in r["reason"] for r in rows), rows
    assert (folder / "summary.md").is_file() and "Pareto front" in out
