"""Search spaces: shipped files validate, bad files are reported precisely, sampling is reproducible."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
import yaml

from sweep.errors import UserError
from sweep.search.samplers import SAMPLER_NAMES, create_sampler
from sweep.spaces import (
    SPACES_DIR,
    CategoricalParam,
    FloatParam,
    IntParam,
    SearchSpace,
    available_spaces,
    load_space,
    resolve_space_path,
)
from trainable.config import TrialConfig

optuna.logging.set_verbosity(optuna.logging.WARNING)

SHIPPED = sorted(SPACES_DIR.glob("*.yaml"))

# A small valid space; each bad case below breaks one thing in a copy of it.
VALID: dict[str, Any] = {
    "name": "tiny",
    "description": "a test space",
    "dataset": "digits",
    "trials": 4,
    "sampler": "random",
    "seed": 3,
    "baseline": False,
    "objectives": [
        {"metric": "ensemble_acc", "direction": "max"},
        {"metric": "disagreement", "direction": "max"},
    ],
    "fixed": {"objective": "dice", "classifier": "simple3", "epochs": 2},
    "params": {
        "w_ce": {"type": "float", "low": 0.25, "high": 1.0},
        "w_adv": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
        "disc_arch": {"type": "categorical", "choices": ["mlp", "siamese_pool", "siamese_strided"]},
        "disc_depth": {"type": "int", "low": 1, "high": 4, "when": {"disc_arch": ["siamese_pool", "siamese_strided"]}},
    },
}


def write_space(directory: Path, raw: Any, filename: str = "space.yaml") -> Path:
    path = directory / filename
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    raw = copy.deepcopy(VALID)
    change(raw)
    return raw


def set_in(*keys_and_value: Any) -> Callable[[dict[str, Any]], None]:
    *keys, value = keys_and_value

    def change(raw: dict[str, Any]) -> None:
        node = raw
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


def delete(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        node = raw
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return change


def both(*changes: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def change(raw: dict[str, Any]) -> None:
        for one in changes:
            one(raw)

    return change


# ----------------------------------------------------------------------- shipped spaces
def test_the_three_design_spaces_ship() -> None:
    assert {"loss_weights", "discriminator", "joint"} <= set(available_spaces())


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_space_loads_and_validates(path: Path) -> None:
    space = load_space(path.stem)
    assert space.name == path.stem  # experiments/<name>/ then matches the file
    assert space.objectives and space.params
    assert f"python launch.py --space {path.stem}" in path.read_text()  # the header's command
    # Every shipped space samples configs that TrialConfig accepts.
    study = optuna.create_study(directions=space.optuna_directions(), sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        TrialConfig.from_dict({**space.base_config(), **space.sample(trial)})
        study.tell(trial, [0.5] * len(space.objectives))


def test_loss_weights_space_is_typed() -> None:
    space = load_space("loss_weights")
    assert isinstance(space, SearchSpace)
    assert space.dataset == "cifar10" and space.fixed["objective"] == "dice" and space.fixed["classifier"] == "simple3"
    assert isinstance(space.params["w_adv"], FloatParam) and space.params["w_adv"].log
    assert space.metric_names() == ["ensemble_acc", "excess_agreement"]
    assert space.optuna_directions() == ["maximize", "minimize"]
    assert space.tune_modes() == ["max", "min"]
    assert space.base_config()["dataset"] == "cifar10"
    assert space.base_config("digits")["dataset"] == "digits"


def test_valid_fixture_loads(tmp_path: Path) -> None:
    space = load_space(str(write_space(tmp_path, VALID)))
    assert isinstance(space.params["disc_depth"], IntParam)
    assert isinstance(space.params["disc_arch"], CategoricalParam)
    assert space.params["disc_depth"].when == {"disc_arch": ("siamese_pool", "siamese_strided")}
    assert space.is_conditional and (space.trials, space.seed, space.sampler, space.baseline) == (4, 3, "random", False)


# -------------------------------------------------------------------------- bad spaces
# (id, change to VALID, substrings the message must hold besides the file name:
#  the key path, then the bad value, then optionally the rule)
BAD_CASES: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    ("unknown_top_key", set_in("trails", 5), ("trails:", "'trails'", "did you mean 'trials'")),
    ("unknown_param_key", set_in("params", "w_adv", "hgih", 2.0), ("params.w_adv.hgih:", "'hgih'")),
    ("unknown_objective_key", set_in("objectives", 0, "mode", "max"), ("objectives[0].mode:", "'mode'")),
    ("missing_trials", delete("trials"), ("trials:", "missing")),
    ("missing_high", delete("params", "w_ce", "high"), ("params.w_ce.high:", "missing")),
    ("trials_wrong_type", set_in("trials", "many"), ("trials:", "'many'", "expected an integer")),
    ("trials_zero", set_in("trials", 0), ("trials:", "trials=0", "`trials >= 1`")),
    (
        "low_not_below_high",
        set_in("params", "w_ce", {"type": "float", "low": 1.0, "high": 0.5}),
        ("params.w_ce:", "(low=1.0, high=0.5)", "`low < high` must hold"),
    ),
    ("log_low_zero", set_in("params", "w_adv", "low", 0.0), ("params.w_adv:", "(low=0.0)", "`low > 0`")),
    (
        "log_int_low_zero",
        set_in("params", "disc_width", {"type": "int", "low": 0, "high": 64, "log": True}),
        ("params.disc_width:", "(low=0)", "`low >= 1`"),
    ),
    ("step_with_log", set_in("params", "w_adv", "step", 0.1), ("params.w_adv:", "step=0.1", "cannot be used together")),
    (
        "step_not_dividing",
        set_in("params", "disc_depth", "step", 2),
        ("params.disc_depth:", "step=2", "multiple of `step`"),
    ),
    ("yaml_float_string", set_in("params", "w_adv", "low", "1e-3"), ("params.w_adv.low:", "'1e-3'", "1.0e-5")),
    ("empty_choices", set_in("params", "disc_arch", "choices", []), ("params.disc_arch.choices:", "empty list")),
    (
        "duplicate_choice",
        set_in("params", "disc_arch", "choices", ["mlp", "siamese_pool", "mlp"]),
        ("params.disc_arch.choices[2]:", "'mlp'", "duplicate"),
    ),
    ("unknown_param_type", set_in("params", "w_ce", "type", "uniform"), ("params.w_ce.type:", "'uniform'")),
    ("unknown_sampler", set_in("sampler", "cmaes"), ("sampler:", "'cmaes'", "tpe, nsga2, gp, random")),
    (
        "unknown_metric",
        set_in("objectives", 0, "metric", "accuracy"),
        ("objectives[0].metric:", "'accuracy'", "ensemble_acc, "),
    ),
    (
        "diagnostic_metric",
        set_in("objectives", 0, "metric", "disc_acc"),
        ("objectives[0].metric:", "'disc_acc'", "diagnostic"),
    ),
    (
        "direction_not_max_min",
        set_in("objectives", 0, "direction", "maximize"),
        ("objectives[0].direction:", "'maximize'"),
    ),
    (
        "direction_flipped",
        set_in("objectives", 1, "direction", "min"),
        ("objectives[1].direction:", "'min'", "'max'", "'disagreement'"),
    ),
    (
        "duplicate_objective",
        set_in("objectives", 1, "metric", "ensemble_acc"),
        ("objectives[1].metric:", "'ensemble_acc'", "duplicate"),
    ),
    ("no_objectives", set_in("objectives", []), ("objectives:", "[]", "at least one")),
    (
        "param_not_a_setting",
        set_in("params", "w_advv", {"type": "float", "low": 0.1, "high": 1.0}),
        ("params.w_advv:", "'w_advv'", "did you mean 'w_adv'"),
    ),
    ("fixed_not_a_setting", set_in("fixed", "epoch", 3), ("fixed.epoch:", "'epoch'")),
    ("fixed_and_param", set_in("fixed", "w_ce", 0.5), ("params.w_ce:", "0.5", "both fixed")),
    ("dataset_in_fixed", set_in("fixed", "dataset", "digits"), ("fixed.dataset:", "'digits'", "top-level `dataset`")),
    (
        "when_unknown_param",
        set_in("params", "disc_depth", "when", {"disc_archh": ["mlp"]}),
        ("params.disc_depth.when.disc_archh:", "'disc_archh'", "unknown param"),
    ),
    (
        "when_not_categorical",
        set_in("params", "disc_depth", "when", {"w_ce": [1.0]}),
        ("params.disc_depth.when.w_ce:", "'w_ce'", "a float param"),
    ),
    (
        "when_value_not_a_choice",
        set_in("params", "disc_depth", "when", {"disc_arch": ["siamese"]}),
        ("params.disc_depth.when.disc_arch[0]:", "'siamese'"),
    ),
    (
        "when_later_param",
        set_in("params", "w_ce", "when", {"disc_arch": ["mlp"]}),
        ("params.w_ce.when.disc_arch:", "'disc_arch'", "earlier"),
    ),
    (
        "when_on_fixed",
        set_in("params", "disc_depth", "when", {"objective": ["dice"]}),
        ("params.disc_depth.when.objective:", "'objective'", "fixed"),
    ),
    ("unknown_dataset", set_in("dataset", "cifar100"), ("dataset:", "'cifar100'", "cifar10-catdog")),
    ("unknown_fixed_classifier", set_in("fixed", "classifier", "resnet"), ("fixed.classifier:", "'resnet'", "simple3")),
    (
        "unknown_disc_arch_choice",
        set_in("params", "disc_arch", "choices", ["mlp", "siamese"]),
        ("params.disc_arch.choices[1]:", "'siamese'", "siamese_pool"),
    ),
    (
        "unknown_classifier_choice",
        both(
            delete("fixed", "classifier"),
            set_in("params", "classifier", {"type": "categorical", "choices": ["simple3", "vgg"]}),
        ),
        ("params.classifier.choices[1]:", "'vgg'", "fast, simple3"),
    ),
    ("fixed_breaks_trialconfig_rule", set_in("fixed", "epochs", 0), ("fixed.epochs:", "epochs=0", "`epochs >= 1`")),
    ("fixed_wrong_type", set_in("fixed", "epochs", "ten"), ("fixed.epochs:", "'ten'")),
    (
        "literal_choice",
        set_in("params", "disc_init", {"type": "categorical", "choices": ["default", "xavier"]}),
        ("params.disc_init.choices[1]:", "'xavier'", "'dcgan'"),
    ),
    (
        "float_param_on_int_setting",
        set_in("params", "batch_size", {"type": "float", "low": 32, "high": 256}),
        ("params.batch_size:", "'float'", "type: int"),
    ),
    (
        "choice_conflicts_with_fixed",
        both(
            set_in("fixed", "pairing", "split"),
            delete("fixed", "objective"),
            set_in("params", "objective", {"type": "categorical", "choices": ["seed", "dice"]}),
        ),
        # dice is also TrialConfig's default objective, so the conflict needs no sampled
        # value and the line names none (the "(when sampled with ...)" case: test_space_corners).
        ("fixed.pairing:", "objective 'dice'", "must be 'shared', got 'split'"),
    ),
    (
        "odd_batch_for_split",
        both(
            set_in("fixed", "objective", "seed"),
            set_in("params", "batch_size", {"type": "int", "low": 64, "high": 128}),
        ),
        ("params.batch_size:", "got 65", "even"),
    ),
    ("unsafe_name", set_in("name", "../outside"), ("name:", "'../outside'", "folder-safe")),
    ("bad_seed", set_in("seed", -1), ("seed:", "seed=-1")),
    ("baseline_not_bool", set_in("baseline", "yes please"), ("baseline:", "'yes please'")),
    ("name_with_newline", set_in("name", "tiny\n"), ("name:", "'tiny\\n'", "folder-safe")),
    ("name_too_long", set_in("name", "x" * 300), ("name:", "at most 100 characters", "got 300")),
    ("trials_too_many", set_in("trials", 10**6), ("trials:", "trials=1000000", "`trials <= 100000`")),
    (
        "fixed_epochs_a_billion",
        set_in("fixed", "epochs", 10**9),
        ("fixed.epochs:", "epochs=1000000000", "`epochs <= 10000`"),
    ),
    ("fixed_lr_infinite", set_in("fixed", "lr", float("inf")), ("fixed.lr:", "inf", "finite")),
    (
        "param_bound_over_cap",
        set_in("params", "w_ce", "high", 5000.0),
        ("params.w_ce.high:", "w_ce=5000.0", "`w_ce <= 1000`"),
    ),
    ("float_bound_nan", set_in("params", "w_ce", "low", float("nan")), ("params.w_ce.low:", "nan", "finite")),
    (
        "too_many_choices",
        set_in("params", "disc_arch", "choices", [f"c{i}" for i in range(1001)]),
        ("params.disc_arch.choices:", "at most 1000 items", "got 1001"),
    ),
    (
        "choice_not_a_scalar",
        set_in("params", "disc_arch", "choices", ["mlp", {"a": 1}]),
        ("params.disc_arch.choices[1]:", "{'a': 1}", "string, number, boolean or null"),
    ),
    ("param_with_a_name_key", set_in("params", "w_ce", "name", "weight"), ("params.w_ce.name:", "'name'")),
    ("param_not_a_mapping", set_in("params", "w_ce", [0.25, 1.0]), ("params.w_ce:", "[0.25, 1.0]", "a mapping")),
    ("missing_type", delete("params", "w_ce", "type"), ("params.w_ce.type:", "missing")),
    ("type_not_a_string", set_in("params", "w_ce", "type", ["float"]), ("params.w_ce.type:", "['float']")),
    (
        "int_bound_beyond_2_53",
        set_in("params", "disc_depth", "high", 2**60),
        ("params.disc_depth.high:", str(2**60), "2**53"),
    ),
]


@pytest.mark.parametrize("case_id, change, expected", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_space_is_reported_precisely(
    tmp_path: Path, case_id: str, change: Callable[[dict[str, Any]], None], expected: tuple[str, ...]
) -> None:
    path = write_space(tmp_path, broken(change), filename=f"bad_{case_id}.yaml")
    with pytest.raises(UserError) as info:
        load_space(str(path))
    message = info.value.message
    assert f"bad_{case_id}.yaml: " in message
    # The problem this case introduces is on one line, with its path, value and rule.
    lines = [line for line in message.splitlines() if f": {expected[0]} " in line]
    assert lines, message
    for part in expected[1:]:
        assert any(part in line for line in lines), f"{part!r} not in {lines}"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    raw = broken(set_in("trials", 0))
    raw["sampler"] = "cmaes"
    raw["params"]["w_ce"]["low"] = 2.0
    raw["fixed"]["epoch"] = 1
    with pytest.raises(UserError) as info:
        load_space(str(write_space(tmp_path, raw)))
    lines = info.value.message.splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith(f"{tmp_path / 'space.yaml'}: ") for line in lines), lines


def test_a_single_problem_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        load_space(str(write_space(tmp_path, broken(set_in("trials", 0)))))
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "text, where",
    [("name: x\nparams: [1\n", "line 3, column 1"), ("name: x\n  trials: 3\n", "line 2, column 9")],
)
def test_yaml_syntax_error_names_line_and_column(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(UserError) as info:
        load_space(str(write_space(tmp_path, text, "broken.yaml")))
    assert "broken.yaml: invalid YAML at " + where in info.value.message
    assert "Traceback" not in info.value.message and "\n" not in info.value.message


def test_yaml_is_read_safely(tmp_path: Path) -> None:
    text = "name: !!python/object/apply:os.system ['echo hacked']\ntrials: 1\n"
    with pytest.raises(UserError, match="invalid YAML at line 1"):
        load_space(str(write_space(tmp_path, text, "evil.yaml")))


@pytest.mark.parametrize("text, got", [("- a\n- b\n", "got list"), ("", "got an empty file"), ("3\n", "got int 3")])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    with pytest.raises(UserError) as info:
        load_space(str(write_space(tmp_path, text, "top.yaml")))
    assert "top.yaml: the top level must be a mapping" in info.value.message
    assert got in info.value.message


# ----------------------------------------------------------------- sampling behaviour
def propose(space: SearchSpace, sampler_name: str, seed: int, n: int) -> list[dict[str, Any]]:
    """Ask/tell ``n`` trials with objective values from a seeded RNG (no Ray)."""
    sampler = create_sampler(sampler_name, seed, len(space.objectives), conditional=space.is_conditional)
    study = optuna.create_study(directions=space.optuna_directions(), sampler=sampler)
    values = np.random.default_rng(1234)
    configs = []
    for _ in range(n):
        trial = study.ask()
        configs.append(space.sample(trial))
        study.tell(trial, values.random(len(space.objectives)).tolist())
    return configs


@pytest.mark.parametrize("sampler_name", list(SAMPLER_NAMES))
def test_same_seed_proposes_same_configs(sampler_name: str) -> None:
    space = load_space("joint")
    first = propose(space, sampler_name, seed=7, n=5)
    assert first == propose(space, sampler_name, seed=7, n=5)
    assert first != propose(space, sampler_name, seed=8, n=5)


def test_same_seed_reproduces_past_tpe_startup() -> None:
    # Past TPE's 10 random startup trials, the model-based proposals repeat too.
    space = load_space("discriminator")
    assert propose(space, "tpe", seed=0, n=13) == propose(space, "tpe", seed=0, n=13)


def test_conditional_params_appear_only_when_their_condition_holds() -> None:
    space = load_space("joint")
    configs = propose(space, "random", seed=0, n=60)
    conv = ("siamese_pool", "siamese_strided")
    for config in configs:
        assert ("disc_depth" in config) == (config["disc_arch"] in conv), config
        assert ("disc_class_embedding" in config) == (config["objective"] == "dice"), config
    # Both branches of each condition were exercised.
    assert {c["disc_arch"] in conv for c in configs} == {True, False}
    assert {c["objective"] for c in configs} == {"seed", "dice"}


def test_sample_with_a_fixed_trial_follows_when() -> None:
    space = load_space("discriminator")
    base = {
        "disc_arch": "mlp",
        "disc_width": 64,
        "disc_depth": 3,
        "disc_init": "dcgan",
        "disc_combine": "concat",
        "disc_class_embedding": False,
    }
    sampled = space.sample(optuna.trial.FixedTrial(base))
    assert "disc_depth" not in sampled and sampled["disc_arch"] == "mlp"
    sampled = space.sample(optuna.trial.FixedTrial({**base, "disc_arch": "siamese_pool"}))
    assert sampled["disc_depth"] == 3


def test_sampled_values_respect_bounds_and_types(tmp_path: Path) -> None:
    raw = broken(set_in("params", "disc_width", {"type": "int", "low": 16, "high": 64, "step": 16}))
    raw["params"]["w_ce"]["step"] = 0.25
    space = load_space(str(write_space(tmp_path, raw)))
    for config in propose(space, "random", seed=0, n=30):
        assert config["disc_width"] in (16, 32, 48, 64)
        assert config["w_ce"] in (0.25, 0.5, 0.75, 1.0)
        assert 0.001 <= config["w_adv"] <= 1.0


def test_create_sampler_kinds() -> None:
    assert isinstance(create_sampler("tpe", 0, 1), optuna.samplers.TPESampler)
    assert isinstance(create_sampler("nsga2", 0, 2), optuna.samplers.NSGAIISampler)
    assert isinstance(create_sampler("gp", 0, 2), optuna.samplers.GPSampler)
    assert isinstance(create_sampler("random", 0, 2), optuna.samplers.RandomSampler)
    with pytest.raises(ValueError, match="unknown sampler 'cmaes'"):
        create_sampler("cmaes", 0, 1)
    with pytest.raises(ValueError, match="n_objectives=0"):
        create_sampler("tpe", 0, 0)


# ----------------------------------------------------------------------- resolution
def test_bare_name_and_path_resolve_to_the_same_space() -> None:
    by_name = load_space("loss_weights")
    by_path = load_space(str(SPACES_DIR / "loss_weights.yaml"))
    assert by_name == by_path
    assert resolve_space_path("loss_weights") == SPACES_DIR / "loss_weights.yaml"


def test_bare_name_looks_in_the_given_spaces_dir(tmp_path: Path) -> None:
    shutil.copy(SPACES_DIR / "discriminator.yaml", tmp_path / "mine.yaml")
    space = load_space("mine", spaces_dir=tmp_path)
    assert space.source == tmp_path / "mine.yaml" and space.name == "discriminator"
    assert available_spaces(tmp_path) == ["mine"]


def test_unknown_space_name_lists_the_available_ones() -> None:
    with pytest.raises(UserError) as info:
        load_space("loss_wieghts")
    message = info.value.message
    assert "'loss_wieghts'" in message
    for name in ("discriminator", "joint", "loss_weights"):
        assert name in message


def test_missing_path_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such search space file"):
        load_space(str(tmp_path / "nowhere.yaml"))
