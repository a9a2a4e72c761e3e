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
    """Context manager: SIGTERM behaves as SIGINT; ``received`` is the first stop signal seen.

    A first Ctrl-C during ``fit`` goes to Tune's handler, not here; Tune then puts back
    the handler it found, this one. So after ``fit`` returns, ``tune_was_interrupted``
    tells whether that happened (Tune leaves its own handler in place otherwise).
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._sigint = self._on_sigint  # one bound method, compared by identity below
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:  # noqa: PYI034 -- Python 3.10 has no typing.Self
        if threading.current_thread() is threading.main_thread():
            self._previous = {
                signal.SIGINT: signal.signal(signal.SIGINT, self._sigint),
                signal.SIGTERM: signal.signal(signal.SIGTERM, self._on_sigterm),
            }
        return self

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.SIGINT
        raise KeyboardInterrupt

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.SIGTERM
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not self._sigint:
            handler(signal.SIGINT, frame)  # Tune's: stop, save, return from fit()
        else:  # outside fit(): as Ctrl-C there, a KeyboardInterrupt
            raise KeyboardInterrupt

    def tune_was_interrupted(self) -> bool:
        """After ``fit`` returned: did Tune's SIGINT handler run (and give ours back)?"""
        return self._previous != {} and signal.getsignal(signal.SIGINT) is self._sigint

    def note_interrupt(self) -> None:
        """Record a Ctrl-C (a ``KeyboardInterrupt``, or a ``fit`` that Tune ended early)."""
        if self.received is None:
            self.received = signal.SIGINT

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
