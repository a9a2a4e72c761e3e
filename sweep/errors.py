"""User-facing errors: bad input that the command line reports in one line, exit 2."""

from __future__ import annotations

__all__ = ["UserError", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_USAGE"]

EXIT_USAGE = 2  # the exit code for every user mistake (argparse uses 2 as well)
EXIT_FAILED = 1  # the runs started but did not all finish (a failure, or Tune stopped early)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), the shell's convention; SIGTERM gives 143


class UserError(Exception):
    """A mistake in the user's input, reported without a traceback.

    The message names where the problem is (file, key or flag), the rule broken and
    the bad value, e.g. ``search_spaces/x.yaml: params.w_adv.low: `low < high` must
    hold, but got (low=1.0, high=0.5)``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
