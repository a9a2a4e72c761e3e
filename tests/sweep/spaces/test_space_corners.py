"""The corner check: bounded in work on wide spaces, and as exact as trying every combination."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from sweep.errors import UserError
from sweep.spaces import corners, load_space
from sweep.spaces.corners import MAX_COMBOS_PER_RULE, corner_values
from sweep.spaces.model import PARAM, condition_holds
from sweep.spaces.report import MAX_PROBLEMS
from trainable.config import ConfigError, TrialConfig

HEAD = {"name": "wide", "trials": 4, "objectives": [{"metric": "ensemble_acc", "direction": "max"}]}


def write(tmp_path: Path, raw: dict[str, Any], name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False, default_flow_style=None))
    return path


def counted_load(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str | None]:
    """Load the space; returns how many trial configs the corner check built, and the error if any.

    The work is counted, not timed: the defect this guards against built the full
    product of the choices (9 million configs for two params of 3,000 choices).
    """
    built = 0
    real = corners.TrialConfig

    class Counting:
        @staticmethod
        def from_dict(values: dict[str, Any]) -> TrialConfig:
            nonlocal built
            built += 1
            return real.from_dict(values)

        rule_key_groups = staticmethod(real.rule_key_groups)

    monkeypatch.setattr(corners, "TrialConfig", Counting)
    try:
        load_space(str(path))
        message = None
    except UserError as error:
        message = error.message
    return built, message


def linear_bound(*sizes: int) -> int:
    """At most: every corner once with the others at their first, plus each rule's capped combinations."""
    return 2 * sum(sizes) + 2 + MAX_COMBOS_PER_RULE * len(TrialConfig.rule_key_groups())


def categorical(choices: list[Any], **extra: Any) -> dict[str, Any]:
    return {"type": "categorical", "choices": choices, **extra}


# -------------------------------------------------------------------------- time bounds
def test_two_params_with_3000_choices_fail_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # This 28 KB file once took over 150 s (the full product: 9 million configs).
    raw = {
        **HEAD,
        "params": {"val_size": categorical(list(range(1, 3001))), "train_size": categorical(list(range(2, 3002)))},
    }
    path = write(tmp_path, raw)
    assert path.stat().st_size > 25_000
    built, message = counted_load(path, monkeypatch)
    assert built <= 1  # at most the fixed settings alone: the cap is checked before any choice is tried
    assert message is not None and "params.val_size.choices: at most 1000 items are allowed, but got 3000" in message
    assert "params.train_size.choices: at most 1000" in message


def test_two_params_at_the_choices_cap_validate_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = {
        **HEAD,
        "params": {"val_size": categorical(list(range(1, 1001))), "train_size": categorical(list(range(2, 1002)))},
    }
    built, message = counted_load(write(tmp_path, raw), monkeypatch)
    assert message is None
    assert 0 < built <= linear_bound(1000, 1000), built  # the product would be 1,000,000


def test_wide_params_that_one_rule_combines_stay_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # objective x pairing x batch_size are combined (one rule reads all three).
    raw = {
        **HEAD,
        "params": {
            "objective": categorical(["seed", "dice"]),
            "pairing": categorical([None, "split", "shared"]),
            "batch_size": categorical(list(range(2, 2002, 2))),
            "w_adv": categorical([i / 1000 for i in range(1, 1001)]),
        },
    }
    built, message = counted_load(write(tmp_path, raw), monkeypatch)
    assert built <= linear_bound(2, 3, 1000, 1000), built  # the product would be 6 million
    assert message is not None
    assert (
        "params.pairing.choices[1]: objective 'dice' shows both classifiers the whole batch, so pairing must be "
        "'shared', got 'split'" in message
    )


def test_a_thousand_bad_choices_show_the_first_ones_and_say_there_are_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = {**HEAD, "fixed": {"objective": "seed"}, "params": {"batch_size": categorical(list(range(2, 1002)))}}
    built, message = counted_load(write(tmp_path, raw), monkeypatch)
    assert built <= linear_bound(1000) and message is not None
    lines = message.splitlines()
    assert len(lines) == MAX_PROBLEMS + 1 and "more problems, not shown" in lines[-1]
    assert lines[0].endswith("params.batch_size.choices[1]: must be even when the batch is split, got 3")


# ----------------------------------------------------------------------- exactness
def test_a_conditional_param_left_out_is_checked_with_the_other_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial with disc_arch=siamese_pool leaves w_adv out (default 0.1), which breaks
    # objective 'independent'; no single param's change shows it, only the combination.
    raw = {
        **HEAD,
        "params": {
            "objective": categorical(["dice", "independent"]),
            "disc_arch": categorical(["mlp", "siamese_pool"]),
            "w_adv": categorical([0.0], when={"disc_arch": ["mlp"]}),
        },
    }
    _, message = counted_load(write(tmp_path, raw), monkeypatch)
    assert message is not None and "w_adv must be 0, got 0.1" in message and "objective='independent'" in message


def exhaustive_verdict(raw: dict[str, Any]) -> bool:
    """True when every combination of corners gives a valid config (the slow reference)."""
    params = raw["params"]
    names = list(params)
    typed = {name: _typed(name, spec) for name, spec in params.items()}
    for combo in itertools.product(*(corner_values(typed[n]) for n in names)):
        kept: dict[str, Any] = {}
        for name, value in zip(names, combo):
            if condition_holds(typed[name], kept):
                kept[name] = value
        try:
            TrialConfig.from_dict({"dataset": "digits", **raw.get("fixed", {}), **kept})
        except ConfigError:
            return False
    return True


def _typed(name: str, spec: dict[str, Any]) -> Any:
    return PARAM.validate_python({**spec, "name": name})


def random_space(rng: random.Random) -> dict[str, Any]:
    options = {
        "objective": lambda: categorical(rng.sample(["seed", "dice", "independent"], rng.randint(1, 3))),
        "pairing": lambda: categorical(rng.sample([None, "split", "shared"], rng.randint(1, 3))),
        "batch_size": lambda: rng.choice(
            [
                categorical(rng.sample([2, 3, 64, 65], rng.randint(1, 3))),
                {"type": "int", "low": rng.choice([2, 3]), "high": rng.choice([4, 65])},
            ]
        ),
        "w_ce": lambda: rng.choice(
            [categorical(rng.sample([0.0, 0.5], rng.randint(1, 2))), {"type": "float", "low": 0.0, "high": 1.0}]
        ),
        "w_adv": lambda: rng.choice(
            [
                categorical(rng.sample([0.0, 0.5], rng.randint(1, 2))),
                {"type": "float", "low": rng.choice([0.0, 0.1]), "high": 1.0},
            ]
        ),
        "disc_arch": lambda: categorical(rng.sample(["mlp", "siamese_pool", "siamese_strided"], rng.randint(1, 3))),
    }
    params = {key: options[key]() for key in rng.sample(list(options), rng.randint(1, 5))}
    names = list(params)
    for i, name in enumerate(names):  # some params conditional on an earlier categorical
        earlier = [n for n in names[:i] if params[n]["type"] == "categorical"]
        if earlier and rng.random() < 0.4:
            other = rng.choice(earlier)
            params[name]["when"] = {other: rng.sample(params[other]["choices"], 1)}
    fixed_options = {
        "objective": ["seed", "dice", "independent"],
        "pairing": ["split", "shared"],
        "batch_size": [64, 65],
        "w_ce": [0.0, 1.0],
        "w_adv": [0.0, 0.1],
    }
    fixed = {k: rng.choice(v) for k, v in fixed_options.items() if k not in params and rng.random() < 0.4}
    return {**HEAD, "dataset": "digits", "fixed": fixed, "params": params}


@pytest.mark.parametrize("seed", range(4))
def test_the_bounded_check_agrees_with_trying_every_combination(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    for i in range(50):
        raw = random_space(rng)
        try:
            load_space(str(write(tmp_path, raw, f"r{i}.yaml")))
            verdict = True
        except UserError:
            verdict = False
        assert verdict == exhaustive_verdict(raw), raw
