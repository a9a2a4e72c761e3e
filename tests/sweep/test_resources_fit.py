"""check_trial_fits: a trial must fit on one node, by GPUs and CPUs together."""

from __future__ import annotations

import pytest

from sweep.errors import UserError
from sweep.resources import check_trial_fits

NODES = [{"CPU": 8.0, "GPU": 2.0, "memory": 1e9}, {"CPU": 16.0}]


@pytest.mark.parametrize("cpus, gpus", [(1, 0), (1, 0.25), (8, 2), (16, 0), (2, 1.0), (1, 2.0)])
def test_fitting_trials_pass(cpus: float, gpus: float) -> None:
    check_trial_fits(cpus, gpus, NODES)


def test_more_gpus_than_the_largest_node() -> None:
    # The cluster has 2 GPUs in all, but also a trial of 3 on a 2-GPU node never runs.
    with pytest.raises(
        UserError,
        match=r"^--gpus-per-trial: 3 asked for, .* largest node .* has 2 GPUs; "
        r"use --gpus-per-trial <= 2$",
    ):
        check_trial_fits(1, 3, NODES)
    two_nodes = [{"CPU": 4, "GPU": 2}, {"CPU": 4, "GPU": 2}]  # 4 GPUs in all, 2 per node
    with pytest.raises(UserError, match="has 2 GPUs"):
        check_trial_fits(1, 3, two_nodes)


def test_more_cpus_than_the_largest_node() -> None:
    with pytest.raises(UserError, match=r"^--cpus-per-trial: 17 asked for, .* has 16 CPUs"):
        check_trial_fits(17, 0, NODES)


def test_cpus_and_gpus_must_be_on_the_same_node() -> None:
    # 16 CPUs exist (node 2) and 2 GPUs exist (node 1), but not on one node.
    with pytest.raises(UserError, match="no node of the Ray cluster has both"):
        check_trial_fits(12, 1, NODES)


def test_fractional_amounts_compare_with_a_tolerance() -> None:
    check_trial_fits(1, 0.1 + 0.2, [{"CPU": 1, "GPU": 0.3}])


def test_no_nodes_means_nothing_to_check() -> None:
    check_trial_fits(64, 8, [])
