"""Bad input, table-driven: exit code 2, one message naming what was wrong, nothing written.

Each case runs the real command line (``sweep.cli.main``) in-process, so the table is
fast; two cases also run ``launch.py`` as a subprocess to prove no traceback leaks.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sweep.cli import main
from tests.helpers import REPO

GOOD_SPACE = """\
name: tiny
description: a valid space the cases below break one thing at a time
dataset: digits
trials: 2
sampler: tpe
seed: 0
baseline: true
objectives:
  - {metric: ensemble_acc, direction: max}
  - {metric: disagreement, direction: max}
fixed:
  objective: dice
  epochs: 1
params:
  w_adv: {type: float, low: 0.01, high: 1.0, log: true}
  disc_arch: {type: categorical, choices: [mlp, siamese_pool]}
"""


def _space(tmp_path: Path, text: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return str(path)


def _replace(old: str, new: str) -> str:
    assert old in GOOD_SPACE, old
    return GOOD_SPACE.replace(old, new)


# (case id, space text or None for the good one, extra argv, words the message must contain)
CASES: list[tuple[str, str | None, list[str], list[str]]] = [
    ("malformed yaml", "name: [unclosed\n", [], ["space.yaml", "line"]),
    ("top level not a mapping", "- just\n- a list\n", [], ["space.yaml", "mapping"]),
    ("unknown top-level key", GOOD_SPACE + "colour: blue\n", [], ["space.yaml", "colour"]),
    ("wrong type", _replace("trials: 2", "trials: many"), [], ["space.yaml", "trials", "many"]),
    ("low >= high", _replace("low: 0.01, high: 1.0", "low: 2.0, high: 1.0"), [], ["params.w_adv", "low", "2.0"]),
    ("log with low <= 0", _replace("low: 0.01, high: 1.0", "low: 0.0, high: 1.0"), [], ["params.w_adv", "log"]),
    ("empty choices", _replace("choices: [mlp, siamese_pool]", "choices: []"), [], ["params.disc_arch", "choices"]),
    (
        "unknown discriminator",
        _replace("choices: [mlp, siamese_pool]", "choices: [mlp, resnet]"),
        [],
        ["params.disc_arch", "resnet", "siamese_strided"],
    ),
    (
        "unknown param key",
        _replace("w_adv: {type: float,", "w_adversarial: {type: float,"),
        [],
        ["params.w_adversarial"],
    ),
    ("unknown dataset in space", _replace("dataset: digits", "dataset: mnist"), [], ["dataset", "mnist"]),
    (
        "unknown classifier",
        _replace("  epochs: 1", "  epochs: 1\n  classifier: vgg"),
        [],
        ["fixed.classifier", "vgg", "simple3"],
    ),
    ("unknown objective", _replace("objective: dice", "objective: gan"), [], ["fixed.objective", "gan"]),
    ("unknown metric", _replace("metric: disagreement", "metric: diversity"), [], ["objectives", "diversity"]),
    (
        "wrong direction",
        _replace("metric: disagreement, direction: max", "metric: disagreement, direction: min"),
        [],
        ["disagreement", "max"],
    ),
    ("unknown sampler", _replace("sampler: tpe", "sampler: cmaes"), [], ["sampler", "cmaes"]),
    ("no space at all", None, ["--no-space"], ["--space"]),
    ("unknown space name", None, ["--space", "no_such_space"], ["no_such_space", "loss_weights"]),
    ("unknown --data", None, ["--data", "imagenet"], ["imagenet", "digits"]),
    ("--trials 0", None, ["--trials", "0"], ["--trials", "0"]),
    ("--epochs not a number", None, ["--epochs", "abc"], ["--epochs", "abc"]),
    ("negative --cpus-per-trial", None, ["--cpus-per-trial", "-1"], ["--cpus-per-trial", "-1"]),
    ("unknown flag", None, ["--frobnicate"], ["--frobnicate"]),
    ("unknown trial setting", None, ["epoch=3"], ["epoch", "epochs"]),
    ("bad trial setting value", None, ["lr=fast"], ["lr", "fast"]),
    ("setting without =", None, ["batch_size"], ["batch_size", "key=value"]),
    ("searched param fixed too", None, ["w_adv=0.5"], ["w_adv", "searched"]),
    (
        "missing dataset folder",
        None,
        ["--data", "fashion-mnist", "--data-dir", "/nonexistent/fmnist"],
        ["fashion-mnist", "/nonexistent/fmnist", "train-images-idx3-ubyte.gz"],
    ),
    (
        "cifar10 not available",
        None,
        ["--data", "cifar10", "--data-dir", "{tmp}/no_cifar"],
        ["cifar-10-batches-py", "data_batch_1", "digits", "fashion-mnist"],
    ),
    ("unknown --early-stop metric", None, ["--early-stop", "speed"], ["--early-stop", "speed", "ensemble_acc"]),
    ("storage is a file", None, ["--storage", "{tmp}/a_file"], ["--storage", "a_file"]),
    ("bad --name", None, ["--name", "../escape"], ["--name", "../escape"]),
    ("unreachable --address", None, ["--address", "127.0.0.1:1"], ["--address", "127.0.0.1:1"]),
    ("malformed --address", None, ["--address", "headnode"], ["--address", "headnode", "HOST:PORT"]),
    ("--resume a folder that is not a sweep", None, ["--resume", "{tmp}"], ["sweep.json"]),
    ("report a folder that is not a sweep", None, ["report", "{tmp}"], ["sweep.json"]),
    # Seeds per configuration, constraints and warm starts (docs/protocol.md section 9).
    ("--replicates 0", None, ["--replicates", "0"], ["--replicates", "0"]),
    ("--replicates min > max", None, ["--replicates", "5:2"], ["--replicates", "5:2"]),
    ("replicates < 1 in the space", GOOD_SPACE + "replicates: 0\n", [], ["space.yaml", "replicates.min", "min=0"]),
    (
        "replicates min > max in the space",
        GOOD_SPACE + "replicates: {min: 5, max: 2}\n",
        [],
        ["space.yaml", "replicates", "min=5", "max=2"],
    ),
    (
        "a constraint on an unknown metric",
        GOOD_SPACE + "constraints: [{metric: acuracy, min: 0.5}]\n",
        [],
        ["space.yaml", "constraints[0]", "acuracy"],
    ),
    (
        "a start_with value outside its range",
        GOOD_SPACE + "start_with: [{w_adv: 5.0}]\n",
        [],
        ["space.yaml", "start_with[0].w_adv", "5.0"],
    ),
    ("final_test on a sweep's command line", None, ["final_test=true"], ["final_test"]),
    ("unknown pairing", None, ["pairing=crossed"], ["pairing", "crossed", "'shared'"]),
    (
        "pairing its objective cannot train with",
        _replace("objective: dice", "objective: seed\n  pairing: separate"),
        [],
        ["pairing", "separate", "independent"],
    ),
    (
        "searched pairing with a choice the objective cannot train with",
        _replace("params:\n", "params:\n  pairing: {type: categorical, choices: [shared, split]}\n"),
        [],
        ["params.pairing", "'dice'", "'split'"],
    ),
    ("seed searched", _replace("params:\n", "params:\n  seed: {type: int, low: 0, high: 9}\n"), [], ["params.seed"]),
    (
        "--enqueue value outside its range",
        None,
        ["--enqueue", "{tmp}/start.yaml"],
        ["start.yaml", "w_adv", "7.0"],
    ),
]


@pytest.mark.usefixtures("process_defaults_restored")  # an --address case connects in this process
@pytest.mark.parametrize("case_id, space_text, argv, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_message_and_writes_nothing(
    tmp_path, monkeypatch, capsys, case_id, space_text, argv, words
):
    monkeypatch.chdir(tmp_path)  # the session's NETSEP_CACHE_DIR (conftest) holds the dataset cache
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "start.yaml").write_text("- {w_adv: 0.1, disc_arch: mlp}\n- {w_adv: 7.0}\n")  # --enqueue's
    storage = tmp_path / "experiments"
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    words = [w.replace("{tmp}", str(tmp_path)) for w in words]
    if argv and argv[0] == "report":
        full = argv
    else:
        space_args = (
            [] if "--no-space" in argv or "--space" in argv else ["--space", _space(tmp_path, space_text or GOOD_SPACE)]
        )
        storage_args = [] if "--storage" in argv else ["--storage", str(storage)]
        full = space_args + storage_args + ["--no-dashboard"] + [a for a in argv if a != "--no-space"]
        if "--name" not in full:
            full += ["--name", "bad-input"]

    code = main(full)

    out, err = capsys.readouterr()
    assert code == 2, (case_id, out, err)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "Traceback" not in out
    message = " ".join(lines)
    for word in words:
        assert word in message, f"{case_id}: {word!r} not in {message!r}"
    assert not storage.exists(), f"{case_id}: something was written under {storage}"


GOOD_STUDY = """\
name: tiny-study
dataset: digits
seeds: 8
effect: 0.01
fixed: {classifier: simple3, epochs: 1}
arms:
  dice-0.1: {objective: dice, w_adv: 0.1}
"""

# (case id, the study's `sequential:` block, words the message must contain)
STUDY_CASES: list[tuple[str, str, list[str]]] = [
    ("last look is not the seeds", "{looks: [4, 6]}", ["study.yaml", "sequential.looks", "seeds (8)", "[4, 6]"]),
    ("first look under 2 seeds", "{looks: [1, 8]}", ["study.yaml", "sequential.looks", ">= 2", "[1, 8]"]),
    ("looks not increasing", "{looks: [4, 4, 8]}", ["study.yaml", "sequential.looks", "increasing"]),
    ("unknown spending", "{looks: [4, 8], spending: haybittle}", ["sequential.spending", "haybittle", "pocock"]),
    ("alpha written twice", "{looks: [4, 8], alpha: 0.01}", ["sequential.alpha", "unknown key", "0.05"]),
]


@pytest.mark.parametrize("case_id, block, words", STUDY_CASES, ids=[c[0] for c in STUDY_CASES])
def test_bad_study_sequential_blocks_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, case_id, block, words):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_text(GOOD_STUDY + f"sequential: {block}\n")
    storage = tmp_path / "experiments"
    code = main(["study", str(path), "--storage", str(storage), "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 2, (case_id, out, err)
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], f"{case_id}: {word!r} not in {lines[0]!r}"
    assert not storage.exists()


@pytest.mark.parametrize("argv", [["--space", "no_such_space"], ["--smoke-test", "--trials", "-3"]])
def test_launch_py_reports_without_traceback(tmp_path, argv):
    proc = subprocess.run(
        [sys.executable, str(REPO / "launch.py"), *argv, "--storage", str(tmp_path / "exp")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert not (tmp_path / "exp").exists()


def test_existing_results_folder_is_not_overwritten(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments" / "taken").mkdir(parents=True)
    code = main(["--smoke-test", "--name", "taken", "--no-dashboard"])
    err = capsys.readouterr().err
    assert code == 2 and "already exists" in err and "--resume" in err
    assert list((tmp_path / "experiments" / "taken").iterdir()) == []


def test_wandb_without_key_is_refused_before_the_sweep(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc with a key
    code = main(["--smoke-test", "--wandb", "netsep-test", "--no-dashboard"])
    err = capsys.readouterr().err
    assert code == 2 and "WANDB_API_KEY" in err and "WANDB_MODE=offline" in err
    assert not (tmp_path / "experiments").exists()


def test_yaml_is_loaded_safely(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = textwrap.dedent("""\
        name: !!python/object/apply:os.system ["echo pwned > pwned.txt"]
        """)
    code = main(["--space", _space(tmp_path, text), "--no-dashboard"])
    assert code == 2
    assert not (tmp_path / "pwned.txt").exists()
