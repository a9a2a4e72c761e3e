"""TrialConfig: strict types, bounds on every number, cross-key rules, every problem at once."""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from trainable import config as config_module
from trainable.config import OBJECTIVES, PAIRINGS, ConfigError, TrialConfig


def problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        TrialConfig.from_dict(raw)
    assert isinstance(info.value.problems, list) and all(isinstance(p, str) for p in info.value.problems)
    return info.value.problems


def numeric_fields(kind: type) -> list[str]:
    return [
        name
        for name, f in TrialConfig.model_fields.items()
        if kind in (f.annotation, *getattr(f.annotation, "__args__", ()))
    ]


FLOATS = numeric_fields(float)
INTS = numeric_fields(int)


# ------------------------------------------------------------------------ the model
def test_defaults_are_readable_on_the_class_and_match_an_empty_config() -> None:
    empty = TrialConfig.from_dict({})
    assert TrialConfig.objective == "dice" == empty.objective
    assert TrialConfig.epochs == 5 and TrialConfig.dataset == "digits" and TrialConfig.pairing is None
    assert all(getattr(TrialConfig, name) == getattr(empty, name) for name in TrialConfig.field_names())
    with pytest.raises(AttributeError):
        TrialConfig.no_such_setting  # noqa: B018


def test_frozen_round_trip_and_pickle() -> None:
    config = TrialConfig.from_dict({"objective": "seed", "batch_size": 64, "lr": 0.01})
    with pytest.raises(ValidationError):
        config.lr = 0.5  # type: ignore[misc]
    assert TrialConfig.from_dict(config.to_dict()) == config
    assert list(config.to_dict()) == TrialConfig.field_names()
    assert pickle.loads(pickle.dumps(config)) == config  # Ray ships configs to workers
    assert OBJECTIVES == ("independent", "seed", "dice") and PAIRINGS == ("split", "shared", "separate")


def test_derived_properties() -> None:
    assert TrialConfig.from_dict({"objective": "seed"}).effective_pairing == "split"
    assert TrialConfig.from_dict({"objective": "dice"}).effective_pairing == "shared"
    # seed with pairing shared: both members see the whole batch, so an odd batch is fine.
    shared_seed = TrialConfig.from_dict({"objective": "seed", "pairing": "shared", "batch_size": 65})
    assert shared_seed.effective_pairing == "shared" and shared_seed.uses_discriminator
    independent = TrialConfig.from_dict({"objective": "independent", "w_adv": 0.0, "pairing": "split"})
    assert independent.effective_pairing == "split" and not independent.uses_discriminator
    assert TrialConfig.from_dict({}).uses_discriminator


# ----------------------------------------------------------------------- strict types
def test_numpy_scalars_from_optuna_are_accepted_as_python_values() -> None:
    config = TrialConfig.from_dict(
        {
            "epochs": np.int64(3),
            "batch_size": np.int32(64),
            "lr": np.float32(0.5),
            "w_adv": np.float64(0.25),
            "augment": np.bool_(False),
            "seed": np.uint32(7),
        }
    )
    assert (config.epochs, config.batch_size, config.seed, config.augment) == (3, 64, 7, False)
    assert type(config.epochs) is int and type(config.lr) is float and type(config.augment) is bool
    assert config.lr == 0.5


def test_an_int_is_a_valid_float_but_text_and_bools_are_not_numbers() -> None:
    assert TrialConfig.from_dict({"lr": 1}).lr == 1.0
    problems = problems_of({"epochs": "3", "batch_size": 64.0, "lr": True, "augment": 1, "classifier": 3})
    assert len(problems) == 5, problems
    assert (
        "epochs: expected an integer, got '3'"
        in problems[problems.index(next(p for p in problems if p.startswith("epochs")))]
    )
    assert any(p.startswith("batch_size: expected an integer, got 64.0") for p in problems)
    assert any(p.startswith("lr: expected a number, got True") for p in problems)
    assert any(p.startswith("augment: expected true or false, got 1") for p in problems)
    assert any(p.startswith("classifier: expected a string, got 3") for p in problems)


def test_a_yaml_1_1_float_string_gets_a_hint() -> None:
    (problem,) = problems_of({"lr": "1e-3"})
    assert problem.startswith("lr: expected a number, got '1e-3'") and "write 1.0e-5" in problem


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_everywhere(name: str, value: float) -> None:
    (problem,) = problems_of({name: value})
    assert problem.startswith(f"{name}: ") and ("finite" in problem or "must hold" in problem), problem


# ------------------------------------------------------------------------ bounds
def test_every_number_has_a_lower_and_an_upper_bound() -> None:
    for name in FLOATS + INTS:
        kinds = {type(m).__name__ for m in TrialConfig.model_fields[name].metadata}
        assert kinds & {"Ge", "Gt"} and kinds & {"Le", "Lt"}, f"{name} is unbounded: {kinds}"


@pytest.mark.parametrize("name", FLOATS + INTS)
def test_a_billion_is_refused_with_the_rule_and_value(name: str) -> None:
    big = 10**10 if name == "seed" else 10**9  # a seed may be anything below 2**32
    (problem,) = problems_of({name: big})
    assert problem.startswith(f"{name}: `{name} <") and f"({name}={big})" in problem, problem


@pytest.mark.parametrize(
    "name, top",
    [("epochs", 10_000), ("width", 16), ("disc_width", 4_096), ("batch_size", 65_536), ("lr", 10), ("disc_lr", 10)],
)
def test_the_caps_themselves_are_allowed(name: str, top: float) -> None:
    extra = {"objective": "dice"}
    assert getattr(TrialConfig.from_dict({name: top, **extra}), name) == top
    (problem,) = problems_of({name: top * 2, **extra})
    assert f"`{name} <= {top}` must hold" in problem, problem


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"epochs": 0}, "epochs: `epochs >= 1` must hold, but got (epochs=0)"),
        ({"lr": 0.0}, "lr: `lr > 0` must hold, but got (lr=0.0)"),
        ({"label_smoothing": 1.0}, "label_smoothing: `label_smoothing < 1` must hold"),
        ({"seed": -1}, "seed: `seed >= 0` must hold"),
        ({"seed": 2**32}, "seed: `seed < 4294967296` must hold"),
        ({"train_size": 1}, "train_size: `train_size >= 2` must hold"),
        ({"objective": "gan"}, "objective: expected one of 'independent', 'seed' or 'dice', got 'gan'"),
        ({"pairing": "crossed"}, "pairing: expected one of 'split', 'shared' or 'separate', got 'crossed'"),
    ],
)
def test_lower_bounds_and_literals(raw: dict[str, Any], expected: str) -> None:
    (problem,) = problems_of(raw)
    assert problem.startswith(expected), problem


# ------------------------------------------------------------------------ rules
@pytest.mark.parametrize(
    "raw, expected",
    [
        (
            {"objective": "independent", "w_adv": 0.5},
            "w_adv: objective 'independent' trains no discriminator, so w_adv must be 0",
        ),
        (
            {"objective": "seed", "pairing": "separate"},
            "pairing: pairing 'separate' (a deep ensemble) needs objective 'independent', got 'seed'",
        ),
        (
            {"objective": "dice", "pairing": "separate"},
            "pairing: pairing 'separate' (a deep ensemble) needs objective 'independent', got 'dice'",
        ),
        ({"objective": "dice", "pairing": "split"}, "pairing: objective 'dice' shows both classifiers the whole batch"),
        ({"objective": "seed", "batch_size": 65}, "batch_size: must be even when the batch is split, got 65"),
        ({"objective": "independent", "w_adv": 0.0, "pairing": "split", "batch_size": 3}, "batch_size: must be even"),
        ({"w_ce": 0.0, "w_adv": 0.0}, "w_ce: `w_ce + w_adv > 0` must hold"),
    ],
)
def test_cross_key_rules(raw: dict[str, Any], expected: str) -> None:
    (problem,) = problems_of(raw)
    assert problem.startswith(expected), problem


def test_every_problem_at_once_unknown_keys_types_bounds_and_rules() -> None:
    problems = problems_of(
        {"epoch": 3, "lr": -1.0, "batch_size": "big", "objective": "independent", "w_adv": 0.5, "disc_widht": 8}
    )
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert "epoch: unknown key 'epoch'; did you mean 'epochs'? (known keys: dataset, " in text
    assert "disc_widht: unknown key 'disc_widht'; did you mean 'disc_width'?" in text
    assert "lr: `lr > 0` must hold, but got (lr=-1.0)" in text
    assert "batch_size: expected an integer, got 'big'" in text
    assert "w_adv: objective 'independent' trains no discriminator" in text  # a rule, despite the bad values
    assert str(ConfigError(problems)).startswith("invalid trial config: ")


def test_config_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(ConfigError(["epochs: bad", "lr: worse"])))
    assert (
        error.problems == ["epochs: bad", "lr: worse"] and str(error) == "invalid trial config: epochs: bad; lr: worse"
    )


def test_a_rule_that_reads_a_bad_value_is_not_checked() -> None:
    # objective is invalid, so whether pairing fits it cannot be known (no made-up complaint).
    assert problems_of({"objective": "gan", "pairing": "split"}) == [
        "objective: expected one of 'independent', 'seed' or 'dice', got 'gan'"
    ]


def test_each_rule_reads_only_the_keys_it_is_registered_with() -> None:
    """The space's corner check relies on it: it combines only the keys of one rule."""

    class Recorder:
        def __init__(self, config: TrialConfig) -> None:
            self.config, self.read = config, set()

        def __getattr__(self, name: str) -> Any:
            prop = getattr(TrialConfig, "__dict__", {}).get(name)
            if isinstance(prop, property):
                return prop.fget(self)
            self.read.add(name)
            return getattr(self.config, name)

    samples = [
        {"objective": o, "pairing": p, "batch_size": b, "w_ce": c, "w_adv": a}
        for o in OBJECTIVES
        for p in (None, *PAIRINGS)
        for b in (2, 3)
        for c in (0.0, 1.0)
        for a in (0.0, 1.0)
    ]
    assert [sorted(k) for k in TrialConfig.rule_key_groups()] == [sorted(k) for k, _ in config_module._RULES]
    for keys, check in config_module._RULES:
        for sample in samples:
            recorder = Recorder(TrialConfig.model_construct(**sample))
            check(recorder)  # type: ignore[arg-type]
            assert recorder.read <= keys, (check.__name__, recorder.read - keys)


def test_protocol_settings_and_their_rules() -> None:
    config = TrialConfig.from_dict({"val_size": 0, "eval_every": 3, "final_test": True, "features": "penultimate"})
    assert (config.val_size, config.eval_every, config.final_test, config.features) == (0, 3, True, "penultimate")
    assert TrialConfig.val_size is None  # None: 10 % of the training split
    deep = TrialConfig.from_dict({"objective": "independent", "w_adv": 0.0, "pairing": "separate"})
    assert deep.effective_pairing == "separate"
    with pytest.raises(ConfigError, match="needs objective 'independent'"):
        TrialConfig.from_dict({"objective": "seed", "pairing": "separate"})
    with pytest.raises(ConfigError, match="only disc_arch 'mlp' or 'mlp_flat' take, got disc_arch='siamese_strided'"):
        TrialConfig.from_dict({"features": "penultimate", "disc_arch": "siamese_strided"})
    for vector_tower in ("mlp", "mlp_flat"):  # both towers take a vector (mlp_flat: flattening one is a no-op)
        assert TrialConfig.from_dict({"features": "penultimate", "disc_arch": vector_tower}).disc_arch == vector_tower
    # without a discriminator the features setting is inert, so any tower name is fine
    TrialConfig.from_dict(
        {"objective": "independent", "w_adv": 0.0, "features": "penultimate", "disc_arch": "siamese_pool"}
    )
    for bad in ({"val_size": -1}, {"eval_every": 0}, {"cka_examples": 3}, {"features": "logits"}):
        with pytest.raises(ConfigError):
            TrialConfig.from_dict(bad)
