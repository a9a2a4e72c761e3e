"""Tune's JSON logger alone for a fit (``sweep.backend.tuner.json_logger_only``): the switches
Tune reads when a fit starts are set inside and put back after, and a user's are respected."""

from __future__ import annotations

import os

import pytest
import tensorboardX  # noqa: F401  (imported here, not inside a test: it sets CRC32C_SW_MODE in os.environ)
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback
from ray.tune.utils.callback import _create_default_callbacks

from sweep.backend.tuner import DISABLE_DEFAULT_LOGGERS, EXTRA_CALLBACKS, JSON_LOGGER, json_logger_only

LOGGERS = (CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback)


def _loggers() -> list[str]:
    """The logger callbacks Tune would give a fit started now (its own function, as fit() calls it)."""
    return sorted(type(c).__name__ for c in _create_default_callbacks([], air_verbosity=None) if isinstance(c, LOGGERS))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv(DISABLE_DEFAULT_LOGGERS, raising=False)
    monkeypatch.delenv(EXTRA_CALLBACKS, raising=False)
    return monkeypatch


def test_a_fit_gets_the_json_logger_alone_and_the_environment_is_put_back(clean_env: pytest.MonkeyPatch) -> None:
    assert _loggers() == ["CSVLoggerCallback", "JsonLoggerCallback", "TBXLoggerCallback"]  # Tune's default
    with json_logger_only():
        assert _loggers() == ["JsonLoggerCallback"]
    assert DISABLE_DEFAULT_LOGGERS not in os.environ and EXTRA_CALLBACKS not in os.environ
    assert _loggers() == ["CSVLoggerCallback", "JsonLoggerCallback", "TBXLoggerCallback"]


def test_the_environment_is_put_back_when_the_fit_raises(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(EXTRA_CALLBACKS, "ray.tune.logger.CSVLoggerCallback")
    with pytest.raises(KeyboardInterrupt), json_logger_only():
        assert os.environ[EXTRA_CALLBACKS] == f"ray.tune.logger.CSVLoggerCallback,{JSON_LOGGER}"
        raise KeyboardInterrupt
    assert os.environ[EXTRA_CALLBACKS] == "ray.tune.logger.CSVLoggerCallback"
    assert DISABLE_DEFAULT_LOGGERS not in os.environ


def test_a_users_own_callbacks_are_kept_and_the_json_logger_is_listed_once(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(EXTRA_CALLBACKS, f" ray.tune.logger.CSVLoggerCallback , {JSON_LOGGER},")
    with json_logger_only():
        assert os.environ[EXTRA_CALLBACKS] == f"ray.tune.logger.CSVLoggerCallback,{JSON_LOGGER}"
        assert _loggers() == ["CSVLoggerCallback", "JsonLoggerCallback"]


def test_tensorboard_stays_when_the_user_asks_for_tunes_defaults(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(DISABLE_DEFAULT_LOGGERS, "0")
    with json_logger_only():
        assert _loggers() == ["CSVLoggerCallback", "JsonLoggerCallback", "TBXLoggerCallback"]
        assert EXTRA_CALLBACKS not in os.environ
    assert os.environ[DISABLE_DEFAULT_LOGGERS] == "0"
