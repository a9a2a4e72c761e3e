"""A trial's outcome from what its Tune folder shows."""

from __future__ import annotations

from sweep.report.status import STATUSES, trial_status
from sweep.report.tune_folder import TuneTrial
from tests.sweep.tune_folders import DIVERGED_ERROR_TXT


def _trial(status: str, epochs: int, error: str | None = None) -> TuneTrial:
    rows = tuple({"epoch": e} for e in range(1, epochs + 1))
    return TuneTrial("t1", "trial_t1", status, {"epochs": 3}, rows, error, (), None)


def test_statuses_by_tune_status_and_epochs() -> None:
    assert trial_status(_trial("TERMINATED", 3), 3) == ("complete", "")
    assert trial_status(_trial("TERMINATED", 1), 3) == ("stopped_early", "")
    # The driver died after the last epoch was reported, before Tune recorded the end.
    assert trial_status(_trial("RUNNING", 3), 3) == ("complete", "")
    assert trial_status(_trial("", 3), 3) == ("complete", "")
    assert set(STATUSES) == {"complete", "stopped_early", "error", "interrupted"}


def test_error_reason_is_the_trials_own_exception() -> None:
    status, reason = trial_status(_trial("ERROR", 1, DIVERGED_ERROR_TXT), 3)
    assert status == "error" and reason.startswith("DivergedError: diverged at epoch 2, step 7")
    assert trial_status(_trial("ERROR", 1), 3) == ("error", "Tune marked the trial ERROR but wrote no error.txt")


def test_interrupted_says_where_it_stopped_and_an_earlier_failure() -> None:
    status, reason = trial_status(_trial("PENDING", 0), 3, run="compare run")
    assert status == "interrupted"
    assert reason == "PENDING when the compare run stopped, after 0 of 3 epochs; --resume continues it"
    status, reason = trial_status(_trial("", 2, DIVERGED_ERROR_TXT), 3)
    assert status == "interrupted" and reason.startswith(
        "not yet recorded by Tune when the sweep stopped, after 2 of 3 epochs; "
        "--resume cannot continue it and runs a new trial in its place"
    )
    assert reason.endswith(
        "(an earlier attempt failed: DivergedError: diverged at epoch 2, step 7: the discriminator loss is not finite)"
    )


def test_only_every_configured_epoch_makes_a_trial_complete() -> None:
    # The boundary, epoch by epoch: one epoch short is stopped early (TERMINATED by ASHA)
    # or interrupted (still running), never complete.
    for max_epochs in (1, 2, 3, 10):
        for epochs in range(max_epochs + 1):
            done = epochs == max_epochs
            terminated = trial_status(_trial("TERMINATED", epochs), max_epochs)[0]
            running = trial_status(_trial("RUNNING", epochs), max_epochs)[0]
            assert terminated == ("complete" if done else "stopped_early"), (max_epochs, epochs)
            assert running == ("complete" if done else "interrupted"), (max_epochs, epochs)
