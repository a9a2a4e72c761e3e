"""SIGTERM handled like Ctrl-C, so a batch scheduler's or ``ray job stop``'s stop is clean.

While a sweep runs, Tune owns SIGINT: the first Ctrl-C makes ``Tuner.fit`` save the
experiment and return early. ``StopSignals`` makes SIGTERM do the same (it calls
whatever SIGINT handler is installed: Tune's during ``fit``, Python's outside it,
which raises ``KeyboardInterrupt``) and remembers which signal came, so the command
line can exit 130 (SIGINT) or 143 (SIGTERM) instead of 0.

Install it after ``ray.init``: Ray's driver sets a SIGTERM handler of its own that
just exits (and leaves trial folders orphaned, with no report).
"""
from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["StopSignals", "exit_code_for"]


def exit_code_for(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


class StopSignals:
    """Context manager: SIGTERM behaves as SIGINT; ``received`` is the last stop signal seen."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: Any = None

    def __enter__(self) -> StopSignals:  # noqa: PYI034 -- Python 3.10 has no typing.Self
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.SIGTERM
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal.SIGINT, frame)  # Tune's: stop, save, return from fit()
        else:  # SIG_IGN / SIG_DFL: behave as Python's default Ctrl-C
            raise KeyboardInterrupt

    def note_interrupt(self) -> None:
        """Record a Ctrl-C (``KeyboardInterrupt`` or a ``fit`` that Tune ended early)."""
        if self.received is None:
            self.received = signal.SIGINT

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
