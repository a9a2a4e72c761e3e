"""A trial's outcome, judged from what its Tune folder shows. Pure.

Statuses (``STATUSES``): ``complete`` (all configured epochs), ``stopped_early``
(ended before them without an error: ASHA), ``error`` (Tune gave up on it),
``interrupted`` (running or pending when the run stopped; ``--resume`` goes on).
The sweep's report and compare's runs both judge trials here.
"""

from __future__ import annotations

from typing import Literal

from sweep.report.errors import error_reason
from sweep.report.tune_folder import TuneTrial

__all__ = ["Status", "STATUSES", "trial_status"]

Status = Literal["complete", "stopped_early", "error", "interrupted"]
STATUSES: tuple[Status, ...] = ("complete", "stopped_early", "error", "interrupted")


def trial_status(trial: TuneTrial, max_epochs: int, run: str = "sweep") -> tuple[Status, str]:
    """(status, reason); the reason says why it errored or was interrupted, "" otherwise.

    ``run`` names what stopped in the reason ("sweep", "compare run").
    """
    epochs = trial.epochs
    if trial.status == "ERROR":
        if not trial.error_text:
            return "error", "Tune marked the trial ERROR but wrote no error.txt"
        return "error", error_reason(trial.error_text)
    if trial.status == "TERMINATED":
        return ("complete" if epochs >= max_epochs else "stopped_early"), ""
    if epochs >= max_epochs and trial.results:
        return "complete", ""  # all epochs were reported; the driver died before Tune recorded the end
    if trial.status:
        reason = f"{trial.status} when the {run} stopped, after {epochs} of {max_epochs} epochs; --resume continues it"
    else:  # started after Tune last saved its state: a resume does not know it and runs a new trial instead
        reason = (
            f"not yet recorded by Tune when the {run} stopped, after {epochs} of {max_epochs} epochs; "
            "--resume cannot continue it and runs a new trial in its place"
        )
    if trial.error_text:
        reason += f" (an earlier attempt failed: {error_reason(trial.error_text)})"
    return "interrupted", reason
