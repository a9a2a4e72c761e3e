"""The sweep plan (``sweep.plan``): request + space -> a validated plan, and back from a folder."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sweep.errors import UserError
from sweep.plan import (
    PLAN_FILE,
    SPACE_COPY,
    build_plan,
    load_plan,
    planned_baselines,
    resolve_resources,
    resolve_settings,
)
from sweep.requests import SMOKE_TEST, SweepRequest
from sweep.spaces import load_space

SPACE = """\
name: tiny
description: a small valid space on digits
dataset: digits
trials: 3
sampler: random
seed: 0
baseline: true
objectives:
  - {metric: ensemble_acc, direction: max}
  - {metric: disagreement, direction: max}
fixed:
  objective: dice
  epochs: 1
  batch_size: 32
params:
  w_adv: {type: float, low: 0.01, high: 1.0, log: true}
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # One dataset cache for this module's tests, outside the repository and $HOME.
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "netsep-cache"))


@pytest.fixture
def space_file(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPACE)
    return str(path)


def _request(space_file: str, tmp_path: Path, **kw) -> SweepRequest:
    return SweepRequest(**{"space": space_file, "storage": str(tmp_path / "exp"), "name": "run", **kw})


def test_settings_resolve_space_then_smoke_then_flags_then_key_value(space_file, tmp_path):
    space = load_space(space_file)
    assert resolve_settings(space, {}) == {"objective": "dice", "epochs": 1, "batch_size": 32, "dataset": "digits"}
    smoke = resolve_settings(space, {}, smoke=True)
    assert (smoke["epochs"], smoke["batch_size"]) == (SMOKE_TEST["epochs"], SMOKE_TEST["fixed"]["batch_size"])
    flags = resolve_settings(space, {"epochs": 4}, epochs=3, data_dir=str(tmp_path), smoke=True)
    assert flags["epochs"] == 4  # key=value is the most specific, so it wins over --epochs
    assert flags["data_dir"] == str(tmp_path.resolve())


def test_build_plan_takes_a_request_and_writes_nothing(space_file, tmp_path):
    plan, space = build_plan(_request(space_file, tmp_path, trials=5, overrides={"lr": 0.01}, max_failures=0))
    assert (plan.trials, plan.max_failures, plan.fixed["lr"], plan.name) == (5, 0, 0.01, "run")
    assert plan.results_dir == str((tmp_path / "exp" / "run").resolve()) == plan.tune_storage
    assert plan.cpus_per_trial is None and plan.baseline is True
    assert space.name == "tiny"
    assert not (tmp_path / "exp").exists()


def test_uri_storage_keeps_tune_there_and_the_report_local(space_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan, _ = build_plan(_request(space_file, tmp_path, storage="s3://bucket/prefix/"))
    assert plan.tune_storage == "s3://bucket/prefix/run" and plan.tune_path == "s3://bucket/prefix/run/tune"
    assert plan.results_dir == str((tmp_path / "experiments" / "run").resolve())


@pytest.mark.parametrize("name", ["../up", ".hidden", "-dash", "a/b", "ok\n", "a b", ""])
def test_the_name_rule_refuses_anything_but_one_plain_folder_name(space_file, tmp_path, name):
    with pytest.raises(UserError, match="--name"):
        build_plan(_request(space_file, tmp_path, name=name or "\n"))


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"w_adv": 0.5}, ["w_adv", "searched"]),
        ({"epoch": 3}, ["epoch", "unknown"]),
        ({"lr": "fast"}, ["lr", "fast"]),
    ],
)
def test_bad_settings_are_user_errors(space_file, tmp_path, overrides, words):
    with pytest.raises(UserError) as caught:
        build_plan(_request(space_file, tmp_path, overrides=overrides))
    assert all(w in caught.value.message for w in words), caught.value.message


def test_flags_are_checked(space_file, tmp_path):
    with pytest.raises(UserError, match="--early-stop"):
        build_plan(_request(space_file, tmp_path, early_stop="speed"))
    with pytest.raises(UserError, match="--max-failures"):
        build_plan(_request(space_file, tmp_path, max_failures=-1))
    with pytest.raises(UserError, match="--space"):
        build_plan(SweepRequest())


def test_an_existing_results_folder_is_refused(space_file, tmp_path):
    (tmp_path / "exp" / "run").mkdir(parents=True)
    with pytest.raises(UserError, match="already exists"):
        build_plan(_request(space_file, tmp_path))


def test_planned_baselines_follow_the_searched_objectives(space_file, tmp_path):
    plan, space = build_plan(_request(space_file, tmp_path))
    assert space.searched_objectives() is None
    assert [b["pairing"] for b in planned_baselines(plan, space)] == ["shared"]
    assert planned_baselines(replace(plan, baseline=False), space) == []
    both = (
        Path(space_file)
        .read_text()
        .replace("  objective: dice\n", "")
        .replace("params:\n", "params:\n  objective: {type: categorical, choices: [seed, dice]}\n")
    )
    Path(space_file).write_text(both)
    plan, space = build_plan(_request(space_file, tmp_path, name="both"))
    assert space.searched_objectives() == ["seed", "dice"]
    configs = planned_baselines(plan, space)
    assert [(b["objective"], b["w_adv"], b["pairing"]) for b in configs] == [
        ("independent", 0.0, "shared"),
        ("independent", 0.0, "split"),
    ]


def test_seed_with_pairing_shared_from_a_space_gets_the_shared_baseline(space_file, tmp_path):
    text = Path(space_file).read_text()
    fixed = text.replace("  objective: dice\n", "  objective: seed\n  pairing: shared\n")
    Path(space_file).write_text(fixed)
    plan, space = build_plan(_request(space_file, tmp_path, name="fixed"))
    assert (plan.fixed["objective"], plan.fixed["pairing"]) == ("seed", "shared")
    assert [b["pairing"] for b in planned_baselines(plan, space)] == ["shared"]
    # searched: every pairing seed can train with gets its baseline
    searched = text.replace("  objective: dice\n", "  objective: seed\n").replace(
        "params:\n", "params:\n  pairing: {type: categorical, choices: [split, shared]}\n"
    )
    Path(space_file).write_text(searched)
    plan, space = build_plan(_request(space_file, tmp_path, name="searched"))
    assert space.searched_pairings() == ["split", "shared"]
    assert [b["pairing"] for b in planned_baselines(plan, space)] == ["shared", "split"]


def test_data_fashion_mnist_shirts_is_accepted(space_file, tmp_path):
    from tests.trainable.data.files import write_fashion_folder

    write_fashion_folder(tmp_path / "fmnist", n_train=400, n_test=20, seed=0)  # 40 T-shirts, 40 shirts
    plan, _ = build_plan(_request(space_file, tmp_path, data="fashion-mnist-shirts", data_dir=str(tmp_path / "fmnist")))
    assert plan.fixed["dataset"] == "fashion-mnist-shirts"


def test_the_data_flag_s_help_lists_every_dataset():
    import argparse

    from sweep.arguments import build_parser
    from trainable.data import dataset_names

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    data = next(a for a in commands.choices["run"]._actions if a.dest == "data")
    assert all(name in data.help for name in dataset_names()), data.help


def test_resolve_resources_fills_from_the_cluster(space_file, tmp_path):
    plan, _ = build_plan(_request(space_file, tmp_path))
    resolved = resolve_resources(plan, cpus=8, gpus=0)
    assert (resolved.cpus_per_trial, resolved.gpus_per_trial, resolved.max_concurrent) == (1.0, 0.0, 8)
    on_gpus = resolve_resources(plan, cpus=8, gpus=1)
    assert (on_gpus.gpus_per_trial, on_gpus.max_concurrent) == (0.25, 4)


def _saved_plan(space_file: str, tmp_path: Path) -> Path:
    plan, _ = build_plan(_request(space_file, tmp_path))
    resolve_resources(plan, 2, 0).save()
    return Path(plan.results_dir)


def test_load_plan_reads_the_saved_plan_and_the_space_copy(space_file, tmp_path):
    folder = _saved_plan(space_file, tmp_path)
    assert (folder / SPACE_COPY).read_text() == SPACE
    Path(space_file).unlink()  # the copy is what counts
    plan, space = load_plan(folder)
    assert (plan.name, plan.trials, plan.max_concurrent, space.name) == ("run", 3, 2, "tiny")


def test_a_moved_folder_is_loaded_where_it_is_now(space_file, tmp_path):
    folder = _saved_plan(space_file, tmp_path)
    moved = tmp_path / "elsewhere" / "copy"
    moved.parent.mkdir()
    folder.rename(moved)
    plan, _ = load_plan(moved)
    assert plan.results_dir == str(moved.resolve()) == plan.tune_storage
    assert plan.tune_path == f"{moved.resolve()}/tune"


@pytest.mark.parametrize("text", ["", '{"name": ', "[1, 2]", '{"colour": 1}'])
def test_a_damaged_plan_file_is_a_user_error_naming_it(space_file, tmp_path, text):
    folder = _saved_plan(space_file, tmp_path)
    (folder / PLAN_FILE).write_text(text)
    with pytest.raises(UserError, match=PLAN_FILE):
        load_plan(folder)


def test_a_folder_without_a_plan_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a netsep results folder"):
        load_plan(tmp_path)


def test_save_replaces_the_plan_atomically(space_file, tmp_path):
    folder = _saved_plan(space_file, tmp_path)
    plan, _ = load_plan(folder)
    replace(plan, trials=7).save()
    assert json.loads((folder / PLAN_FILE).read_text())["trials"] == 7
    assert sorted(p.name for p in folder.iterdir()) == [SPACE_COPY, PLAN_FILE]
