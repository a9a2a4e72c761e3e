"""Which device a trial trains on: a pure rule, and its reading of torch's CUDA state.

Under Ray, a trial that asked for GPUs is given ids by Ray (``ray.get_gpu_ids()``),
and Ray restricts ``CUDA_VISIBLE_DEVICES`` of the trial's process to them, so torch
numbers the trial's GPUs from 0. ``choose_device`` turns what the config asked for,
what Ray assigned and what torch sees into one device name; it reads nothing itself,
so every combination is testable without a GPU (tests/trainable/test_device.py).

Rules (``requested`` is TrialConfig's ``device``):

- ``"cpu"``: always the CPU.
- not under Ray's scheduling (``assigned_gpu_ids is None``: ``run_trial``, the
  benchmarks): ``"auto"`` is ``cuda:0`` when torch sees CUDA, else the CPU;
  ``"cuda"`` without CUDA is an error.
- Ray assigned no GPU (``[]``): ``"auto"`` is the CPU (a GPU the scheduler did not
  give us belongs to other trials); ``"cuda"`` is an error.
- Ray assigned GPUs: the first of them, ``cuda:0`` when Ray restricted the visible
  devices to the assignment (torch sees no more GPUs than were assigned), else
  ``cuda:<id>`` (Ray told not to set ``CUDA_VISIBLE_DEVICES``). Torch seeing no CUDA
  then is an error, for ``"auto"`` too: a GPU trial silently training on the CPU
  would hold a GPU slot for nothing, many times slower.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["DEVICE_CHOICES", "DeviceError", "choose_device", "resolve_device"]

DEVICE_CHOICES = ("auto", "cpu", "cuda")


class DeviceError(RuntimeError):
    """The requested device cannot be used with what Ray assigned and torch sees."""


def _assigned_gpu(ids: list[str], cuda_available: bool, cuda_device_count: int) -> str:
    if not cuda_available or cuda_device_count < 1:
        raise DeviceError(
            f"Ray assigned GPU {', '.join(ids)} to this trial, but torch sees no CUDA device "
            f"(torch {torch.__version__}: a CPU-only build, or no driver on this node)"
        )
    if cuda_device_count <= len(ids):
        return "cuda:0"  # visibility restricted to the assignment: renumbered from 0
    first = ids[0]
    if first.isdigit() and int(first) < cuda_device_count:
        return f"cuda:{int(first)}"  # every GPU visible: address Ray's id directly
    raise DeviceError(
        f"Ray assigned GPU {first!r} to this trial, but torch sees {cuda_device_count} CUDA "
        "devices and none is restricted to it (CUDA_VISIBLE_DEVICES not set by Ray)"
    )


def choose_device(
    requested: str,
    assigned_gpu_ids: Sequence[str | int] | None,
    cuda_available: bool,
    cuda_device_count: int,
) -> str:
    """The device a trial uses, as a torch device string (``"cpu"``, ``"cuda:0"``...).

    ``assigned_gpu_ids``: ``ray.get_gpu_ids()`` inside a Ray trial, ``None`` outside
    Ray. ``cuda_available``/``cuda_device_count``: what torch reports in the trial's
    process. Raises ``DeviceError`` when the request cannot be met (see the module).
    """
    if requested not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, but got {requested!r}")
    if requested == "cpu":
        return "cpu"
    if assigned_gpu_ids is None:
        if cuda_available and cuda_device_count >= 1:
            return "cuda:0"
        if requested == "cuda":
            raise DeviceError("device 'cuda' was asked for, but torch sees no CUDA device")
        return "cpu"
    ids = [str(i) for i in assigned_gpu_ids]
    if not ids:
        if requested == "cuda":
            raise DeviceError(
                "device 'cuda' was asked for, but Ray assigned this trial no GPU "
                "(run the sweep with --gpus-per-trial > 0)"
            )
        return "cpu"
    return _assigned_gpu(ids, cuda_available, cuda_device_count)


def resolve_device(requested: str, assigned_gpu_ids: Sequence[str | int] | None = None) -> torch.device:
    """``choose_device`` with what torch sees in this process."""
    available = torch.cuda.is_available()
    count = torch.cuda.device_count() if available else 0
    return torch.device(choose_device(requested, assigned_gpu_ids, available, count))
