"""The trial's device choice: every combination of request, Ray's assignment and CUDA."""

from __future__ import annotations

import itertools

import pytest
import torch

from trainable.device import DeviceError, choose_device, resolve_device

# (assigned GPU ids, torch's cuda_available, cuda_device_count) -> expected per request.
# "error" means DeviceError. Counts describe what torch sees in the trial's process:
# with Ray restricting CUDA_VISIBLE_DEVICES, as many GPUs as were assigned.
CASES = [
    # not under Ray (run_trial, the benchmarks)
    (None, False, 0, {"auto": "cpu", "cpu": "cpu", "cuda": "error"}),
    (None, True, 1, {"auto": "cuda:0", "cpu": "cpu", "cuda": "cuda:0"}),
    (None, True, 4, {"auto": "cuda:0", "cpu": "cpu", "cuda": "cuda:0"}),
    # Ray assigned no GPU (--gpus-per-trial 0): never take a GPU others were given
    ([], False, 0, {"auto": "cpu", "cpu": "cpu", "cuda": "error"}),
    ([], True, 2, {"auto": "cpu", "cpu": "cpu", "cuda": "error"}),
    # Ray assigned one GPU and restricted visibility to it: torch calls it cuda:0
    (["1"], True, 1, {"auto": "cuda:0", "cpu": "cpu", "cuda": "cuda:0"}),
    ([0], True, 1, {"auto": "cuda:0", "cpu": "cpu", "cuda": "cuda:0"}),
    # ... two GPUs: the first of them
    (["2", "3"], True, 2, {"auto": "cuda:0", "cpu": "cpu", "cuda": "cuda:0"}),
    # Ray did not restrict visibility (RAY_EXPERIMENTAL_NOSET_CUDA_VISIBLE_DEVICES): its id
    (["3"], True, 4, {"auto": "cuda:3", "cpu": "cpu", "cuda": "cuda:3"}),
    # ... an id torch cannot address
    (["7"], True, 4, {"auto": "error", "cpu": "cpu", "cuda": "error"}),
    (["GPU-5f2c"], True, 4, {"auto": "error", "cpu": "cpu", "cuda": "error"}),
    # Ray assigned a GPU but torch sees none (CPU-only build, fake GPUs): never silently the CPU
    (["0"], False, 0, {"auto": "error", "cpu": "cpu", "cuda": "error"}),
    (["0"], True, 0, {"auto": "error", "cpu": "cpu", "cuda": "error"}),
]


@pytest.mark.parametrize("assigned, available, count, expected", CASES)
@pytest.mark.parametrize("requested", ["auto", "cpu", "cuda"])
def test_choose_device(requested, assigned, available, count, expected) -> None:
    want = expected[requested]
    if want == "error":
        with pytest.raises(DeviceError):
            choose_device(requested, assigned, available, count)
    else:
        assert choose_device(requested, assigned, available, count) == want


def test_cases_cover_every_kind_of_assignment_and_cuda_state() -> None:
    kinds = {
        ("none" if a is None else "empty" if not a else "one" if len(a) == 1 else "many", av, c > 0)
        for a, av, c, _ in CASES
    }
    for assigned_kind, available in itertools.product(("none", "empty", "one"), (False, True)):
        assert (assigned_kind, available, available) in kinds, (assigned_kind, available)


def test_errors_name_the_problem() -> None:
    with pytest.raises(DeviceError, match="no CUDA device"):
        choose_device("cuda", None, False, 0)
    with pytest.raises(DeviceError, match="assigned this trial no GPU.*--gpus-per-trial"):
        choose_device("cuda", [], True, 1)
    with pytest.raises(DeviceError, match="assigned GPU 0 .*torch sees no CUDA device"):
        choose_device("auto", ["0"], False, 0)
    with pytest.raises(ValueError, match="one of auto, cpu, cuda.*'tpu'"):
        choose_device("tpu", None, False, 0)


def test_resolve_device_reads_this_process() -> None:
    if torch.cuda.is_available():
        assert resolve_device("auto").type == "cuda"
    else:
        assert resolve_device("auto") == torch.device("cpu")
        assert resolve_device("auto", assigned_gpu_ids=[]) == torch.device("cpu")
        with pytest.raises(DeviceError, match="no CUDA device"):
            resolve_device("cuda")
