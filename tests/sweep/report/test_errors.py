"""The one line of a Tune error.txt that says why a trial failed."""

from __future__ import annotations

from sweep.report import error_reason
from tests.sweep.tune_folders import DIVERGED_ERROR_TXT


def test_error_reason_finds_the_trials_own_exception_in_the_last_failure() -> None:
    assert error_reason(DIVERGED_ERROR_TXT) == (
        "DivergedError: diverged at epoch 2, step 7: the discriminator loss is not finite"
    )


def test_error_reason_of_a_chain_is_the_outermost_own_exception() -> None:
    text = (
        'Traceback (most recent call last):\n  File "/work/main/trainable/data.py", line 3, in load\n'
        "KeyError: 'cifar10'\n\nThe above exception was the direct cause of the following exception:\n\n"
        '  File "/work/main/trainable/data.py", line 5, in load\n'
        "trainable.data.DatasetMissingError: dataset 'cifar10' is missing; put the files in /data\n"
    )
    assert error_reason(text) == "DatasetMissingError: dataset 'cifar10' is missing; put the files in /data"


def test_error_reason_falls_back_to_ray_errors_and_last_lines() -> None:
    ray_only = "Failure # 1 (occurred at x)\nray.exceptions.ActorDiedError: The actor died unexpectedly\n"
    assert error_reason(ray_only) == "ActorDiedError: The actor died unexpectedly"
    assert error_reason("something odd happened\n\nthe node went away\n") == "the node went away"
    assert error_reason("") == "error.txt is empty"
