"""Typed requests and ``key=value`` parsing (``sweep.requests``)."""

from __future__ import annotations

import dataclasses

import pytest

from sweep.errors import UserError
from sweep.requests import (
    DEFAULT_MAX_FAILURES,
    DEFAULT_STORAGE,
    SweepRequest,
    parse_overrides,
)


@pytest.mark.parametrize(
    "text, value",
    [
        ("lr=1e-3", 1e-3),
        ("lr=1e6", 1e6),
        ("batch_size=256", 256),
        ("augment=true", True),
        ("augment=False", False),
        ("data_dir=null", None),
        ("classifier=fast", "fast"),
        ("arm=", ""),
        ("width=0.5", 0.5),
        ("name=a=b", "a=b"),
    ],
)
def test_values_are_read_as_yaml_scalars_with_numbers_first(text, value):
    key = text.partition("=")[0]
    parsed = parse_overrides([text])
    assert parsed == {key: value}
    assert type(parsed[key]) is type(value)


@pytest.mark.parametrize("item", ["batch_size", "=3", " =3"])
def test_a_setting_without_key_or_equals_sign_is_a_user_error(item):
    with pytest.raises(UserError, match="key=value"):
        parse_overrides([item])


def test_a_key_given_twice_is_refused_not_last_wins():
    with pytest.raises(UserError, match="'epochs' is given twice"):
        parse_overrides(["epochs=2", "epochs=3"])


def test_order_is_kept_and_nothing_else_is_added():
    assert list(parse_overrides(["w_adv=0.1", "epochs=2"])) == ["w_adv", "epochs"]
    assert parse_overrides([]) == {}


def test_requests_are_frozen_and_default_to_not_given():
    request = SweepRequest()
    assert request.storage == DEFAULT_STORAGE and request.max_failures == DEFAULT_MAX_FAILURES
    assert request.space is request.trials is request.epochs is request.name is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.trials = 3  # type: ignore[misc]
