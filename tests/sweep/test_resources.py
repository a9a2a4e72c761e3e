"""Per-trial resources (``sweep.resources``): one rule for sweeps and compare runs."""

from __future__ import annotations

import pytest

from sweep.errors import UserError
from sweep.resources import (
    DEFAULT_CPUS_PER_TRIAL,
    DEFAULT_GPU_FRACTION,
    TrialResources,
    default_max_concurrent,
    resolve_trial_resources,
)


@pytest.mark.parametrize(
    "cpus, gpus, cpt, gpt, expected",
    [
        (8, 0, 1, 0, 8),
        (8, 0, 3, 0, 2),  # floor, not round
        (3, 0, 0.3, 0, 10),  # 3 / 0.3 is 9.999999999999998 in floating point
        (8, 1, 1, 0.25, 4),  # the GPUs bind first
        (2, 4, 1, 0.5, 2),  # the CPUs bind first
        (0.5, 0, 1, 0, 1),  # at least one
        (4, 0, 0, 0, 1),  # nothing reserved: one at a time, not unbounded
    ],
)
def test_default_max_concurrent(cpus, gpus, cpt, gpt, expected):
    assert default_max_concurrent(cpus, gpus, cpt, gpt) == expected


def test_defaults_come_from_the_cluster():
    assert resolve_trial_resources(None, None, None, 4, 0) == TrialResources(DEFAULT_CPUS_PER_TRIAL, 0.0, 4)
    assert resolve_trial_resources(None, None, None, 4, 2) == TrialResources(1.0, DEFAULT_GPU_FRACTION, 4)
    assert resolve_trial_resources(2, 0, 3, 4, 0) == TrialResources(2, 0, 3)  # an explicit limit wins


@pytest.mark.parametrize(
    "args, flag",
    [
        ((None, 0.5, None, 4, 0), "--gpus-per-trial"),
        ((8, None, None, 4, 0), "--cpus-per-trial"),
    ],
)
def test_impossible_requests_are_user_errors(args, flag):
    with pytest.raises(UserError, match=flag):
        resolve_trial_resources(*args)


def test_cpu_trials_do_not_reserve_gpus():
    with pytest.raises(UserError, match="device=cpu"):
        resolve_trial_resources(None, None, None, 4, 1, device="cpu")
    assert resolve_trial_resources(None, 0, None, 4, 1, device="cpu").gpus_per_trial == 0
