"""The `independent` baselines (``sweep.baselines``): which baseline matches which arm."""

from __future__ import annotations

import pytest

from sweep.baselines import BASELINE_ARM, baseline_config, baseline_configs, pairing_of
from trainable.config import TrialConfig

FIXED = {"dataset": "digits", "epochs": 3, "batch_size": 64, "lr": 0.01, "objective": "dice", "w_adv": 0.3}


@pytest.mark.parametrize(
    "settings, pairing",
    [
        ({"objective": "seed"}, "split"),
        ({"objective": "dice"}, "shared"),
        ({"objective": "independent"}, "shared"),
        ({}, "shared" if TrialConfig.objective != "seed" else "split"),
        ({"objective": "seed", "pairing": "split"}, "split"),
        ({"objective": "seed", "pairing": "shared"}, "shared"),
        ({"objective": "independent", "pairing": "split"}, "split"),
    ],
)
def test_pairing_follows_the_setting_else_the_objective(settings, pairing):
    assert pairing_of(settings) == pairing


def test_a_baseline_keeps_the_fixed_settings_without_a_discriminator():
    config = baseline_config(FIXED, "split")
    assert config == {**FIXED, "objective": "independent", "w_adv": 0.0, "pairing": "split"}
    assert FIXED["objective"] == "dice"  # the input is not changed
    TrialConfig.from_dict(config)  # a valid trial


def test_one_baseline_per_pairing_the_arms_can_have():
    assert [b["pairing"] for b in baseline_configs(FIXED)] == ["shared"]
    assert [b["pairing"] for b in baseline_configs({**FIXED, "objective": "seed"})] == ["split"]
    both = baseline_configs(FIXED, ["dice", "seed", "dice"])
    assert [b["pairing"] for b in both] == ["shared", "split"]  # sorted, no duplicates
    assert all(b["objective"] == "independent" and b["w_adv"] == 0.0 for b in both)
    assert baseline_configs({**FIXED, "pairing": "split"}, ["dice", "seed"])[0]["pairing"] == "split"


def test_a_searched_pairing_gives_a_baseline_for_each_pairing_an_objective_can_train_with():
    seed = {**FIXED, "objective": "seed"}
    assert [b["pairing"] for b in baseline_configs(seed, None, ["split", "shared"])] == ["shared", "split"]
    assert [b["pairing"] for b in baseline_configs(seed, None, ["shared"])] == ["shared"]
    # a null choice is the objective's own pairing
    assert [b["pairing"] for b in baseline_configs(seed, None, [None, "shared"])] == ["shared", "split"]
    # dice cannot train split: with `when` leaving pairing out for dice, dice keeps its own
    fixed = {k: v for k, v in FIXED.items() if k != "objective"}
    assert [b["pairing"] for b in baseline_configs(fixed, ["dice"], ["split"])] == ["shared"]
    assert [b["pairing"] for b in baseline_configs(fixed, ["dice", "seed"], ["shared"])] == ["shared"]
    assert [b["pairing"] for b in baseline_configs(fixed, ["dice", "seed"], ["split", "shared"])] == [
        "shared",
        "split",
    ]


def test_the_baseline_label():
    assert BASELINE_ARM == "baseline"
