"""A space's replicates, constraints and start_with: validated like every other key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sweep.errors import UserError
from sweep.spaces import load_space
from sweep.spaces.replication import MAX_REPLICATES, Constraint, Replicates, replicates_from

BASE = {
    "name": "t",
    "dataset": "digits",
    "trials": 2,
    "objectives": [{"metric": "ensemble_acc", "direction": "max"}],
    "fixed": {"objective": "dice", "epochs": 1},
    "params": {
        "w_adv": {"type": "float", "low": 0.01, "high": 1.0, "log": True},
        "disc_arch": {"type": "categorical", "choices": ["mlp", "siamese_pool"]},
        "disc_depth": {"type": "int", "low": 1, "high": 4, "when": {"disc_arch": ["siamese_pool"]}},
    },
}


def space(tmp_path: Path, **extra) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**BASE, **extra}, sort_keys=False))
    return path


def refused(tmp_path: Path, *words: str, **extra) -> str:
    with pytest.raises(UserError) as error:
        load_space(str(space(tmp_path, **extra)))
    for word in words:
        assert word in error.value.message, (word, error.value.message)
    return error.value.message


def test_replicates_default_to_one_and_take_k_or_min_max(tmp_path):
    assert load_space(str(space(tmp_path))).replicates == Replicates(min=1, max=1)
    assert load_space(str(space(tmp_path, replicates=3))).replicates == Replicates(min=3, max=3)
    raced = load_space(str(space(tmp_path, replicates={"min": 2, "max": 6}))).replicates
    assert raced.races and raced.text() == "2 to 6 (racing)"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, ["replicates.min", "`min >= 1` must hold, but got (min=0)"]),
        (MAX_REPLICATES + 1, ["replicates.max", f"`max <= {MAX_REPLICATES}` must hold, but got (max=65)"]),
        ({"min": 4, "max": 2}, ["`min <= max` must hold", "min=4, max=2"]),
        ({"min": 1, "max": 3}, ["racing (min < max)", "needs min >= 2"]),
        ({"min": 2, "mx": 3}, ["replicates"]),
        (True, ["replicates", "whole number K"]),
        ("three", ["replicates", "whole number K"]),
    ],
)
def test_bad_replicates_are_refused_naming_the_rule(tmp_path, value, words):
    refused(tmp_path, *words, replicates=value)


def test_constraints_are_typed_and_checked(tmp_path):
    loaded = load_space(str(space(tmp_path, constraints=[{"metric": "min_member_acc", "min": 0.85}])))
    assert loaded.constraints == (Constraint(metric="min_member_acc", min=0.85),)
    assert loaded.constraints[0].violation(0.80) == pytest.approx(0.05)
    assert loaded.constraints[0].violation(0.90) < 0 and loaded.constraints[0].violation(None) > 0


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"metric": "min_member_ac", "min": 0.8}, ["constraints[0]", "unknown metric 'min_member_ac'", "did you mean"]),
        ({"metric": "probe_acc", "min": 0.8}, ["unknown metric 'probe_acc'"]),
        ({"metric": "ece", "min": 0.1, "max": 0.2}, ["exactly one of `min` and `max`"]),
        ({"metric": "ece"}, ["exactly one of `min` and `max`"]),
        ({"metric": "ece", "max": ".inf"}, ["constraints[0]"]),
        ({"metric": "ece", "max": 0.1, "below": 1}, ["constraints[0]", "below"]),
    ],
)
def test_bad_constraints_are_refused(tmp_path, item, words):
    refused(tmp_path, *words, constraints=[item])


def test_start_with_configurations_are_checked_like_sampled_ones(tmp_path):
    good = [{"w_adv": 0.1, "disc_arch": "mlp"}, {"disc_arch": "siamese_pool", "disc_depth": 2}]
    assert load_space(str(space(tmp_path, start_with=good))).start_with == tuple(good)
    message = refused(
        tmp_path,
        start_with=[
            {"w_adv": 5.0},
            {"w_adv": 0.1, "bogus": 1},
            {"disc_arch": "transformer"},
            {"disc_arch": "mlp", "disc_depth": 2},
            {"disc_depth": 2.5, "disc_arch": "siamese_pool"},
            "not a mapping",
        ],
    )
    for words in (
        "start_with[0].w_adv: must lie in [0.01, 1] (the param's range), got 5.0",
        "start_with[1].bogus: not a searched param",
        "start_with[2].disc_arch: must be one of ['mlp', 'siamese_pool']",
        "start_with[3].disc_depth: the space searches it only when disc_arch in ['siamese_pool']",
        "start_with[4].disc_depth: must be a whole number",
        "start_with[5]: must be a mapping",
    ):
        assert words in message, (words, message)


@pytest.mark.parametrize("key", ["seed", "arm", "config_id", "replicate", "final_test"])
def test_settings_netsep_sets_itself_cannot_be_searched(tmp_path, key):
    params = {**BASE["params"], key: {"type": "int", "low": 0, "high": 3}}
    refused(tmp_path, f"params.{key}", "set by netsep itself", params=params)


@pytest.mark.parametrize("key", ["arm", "config_id", "replicate", "final_test"])
def test_settings_netsep_sets_itself_cannot_be_fixed(tmp_path, key):
    refused(tmp_path, f"fixed.{key}", "set by netsep itself", fixed={**BASE["fixed"], key: 1})


def test_a_fixed_seed_is_allowed(tmp_path):
    assert load_space(str(space(tmp_path, fixed={**BASE["fixed"], "seed": 7}))).fixed["seed"] == 7


def test_replicates_from_the_command_line_form():
    assert replicates_from("2:5") == Replicates(min=2, max=5)
    with pytest.raises(ValueError):
        replicates_from("2:x")
