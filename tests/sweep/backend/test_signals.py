"""SIGTERM handled like Ctrl-C (``sweep.backend.signals``), checked with real signals to this process."""

from __future__ import annotations

import os
import signal
import time

import pytest

from sweep.backend.signals import StopSignals, exit_code_for


def _tune_like_handler(seen: list[int]):
    """What Tune installs during fit(): note the stop, put back the handler it found."""
    original = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        seen.append(signum)
        signal.signal(signal.SIGINT, original)

    signal.signal(signal.SIGINT, handler)


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # Python runs the handler at the next bytecode boundary


def test_exit_codes_follow_the_shell():
    assert (exit_code_for(signal.SIGINT), exit_code_for(signal.SIGTERM)) == (130, 143)


def test_sigterm_during_fit_goes_to_tune_s_handler_and_is_remembered():
    seen: list[int] = []
    with StopSignals() as stop:
        _tune_like_handler(seen)
        _deliver(signal.SIGTERM)
        assert seen == [signal.SIGINT] and stop.received == signal.SIGTERM
        assert stop.tune_was_interrupted()


def test_ctrl_c_during_fit_is_seen_afterwards():
    seen: list[int] = []
    with StopSignals() as stop:
        _tune_like_handler(seen)
        assert not stop.tune_was_interrupted()  # Tune's handler still in place: no Ctrl-C yet
        _deliver(signal.SIGINT)
        assert seen == [signal.SIGINT] and stop.tune_was_interrupted() and stop.received is None


def test_outside_fit_both_signals_raise_keyboard_interrupt():
    for signum in (signal.SIGINT, signal.SIGTERM):
        with StopSignals() as stop, pytest.raises(KeyboardInterrupt):
            _deliver(signum)
        assert stop.received == signum


def test_the_previous_handlers_come_back():
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with StopSignals():
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
