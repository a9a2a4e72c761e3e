"""How a trial's step runs: the fast path, or the plain step (``eager=true``) to compare with.

``execution_plan(config, device)`` turns a ``TrialConfig`` and the trial's device into
an ``ExecutionPlan``; ``PairTraining`` builds the trial from it. The fast path (the
default) and what each part buys at the study setting on a 2-core Xeon with AMX are in
bench/README.md (``python -m bench.step``):

- classifiers in ``channels_last`` memory format (what oneDNN's convolutions and
  max-pooling are fastest with on the CPU; CUDA trials used it already);
- fused AdamW / Adam / SGD kernels that do not import ``torch._dynamo``
  (``trainable.optim``: one kernel per step instead of a loop over tensors, and 1-1.7 s
  less start-up per trial worker);
- dropout masks with half the random draws (``trainable.models.dropout``);
- bf16 autocast (``precision``): on CUDA as before; on the CPU by default only where
  the CPU computes bf16 natively (AMX or AVX512-BF16, ``cpu_bf16_native``), else fp32;
- ``torch.compile`` of the classifiers and D, only when ``compile=true``: on the CPU
  its compilation takes longer than it saves in a trial (bench/README.md).

``eager=true`` is the step as it was before the fast path, exactly: contiguous memory
format and fp32 on the CPU (channels_last and bf16 on CUDA), ``torch.optim``'s
optimizers, ``nn.Dropout``.

This module reads no files and no global config: the CPU's features come from torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trainable.config import TrialConfig

__all__ = ["ExecutionPlan", "cpu_bf16_native", "execution_plan"]


@dataclass(frozen=True)
class ExecutionPlan:
    """What the trial's step does differently from the plain one (all False/None: the plain CPU step)."""

    eager: bool
    channels_last: bool  # classifiers (and so their feature maps) in channels_last
    autocast_dtype: torch.dtype | None  # autocast of the forwards; None: fp32
    fused_optimizers: bool  # trainable.optim's fused kernels instead of torch.optim's loops
    bits_dropout: bool  # trainable.models.dropout.BitsDropout instead of nn.Dropout
    compile: str | None  # torch.compile's backend for the classifiers and D ("inductor"); None: not compiled

    @property
    def precision(self) -> str:
        names = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}
        return names.get(self.autocast_dtype, str(self.autocast_dtype))

    def describe(self) -> dict[str, object]:
        """The plan as plain values (for a checkpoint, a benchmark's JSON)."""
        return {
            "eager": self.eager,
            "channels_last": self.channels_last,
            "precision": self.precision,
            "fused_optimizers": self.fused_optimizers,
            "bits_dropout": self.bits_dropout,
            "compile": self.compile,
        }


def cpu_bf16_native() -> bool:
    """Whether this CPU computes bf16 in hardware: AMX-BF16 or AVX512-BF16 (x86).

    Without them torch emulates bf16 with fp32 instructions and conversions, which is
    slower than fp32 itself, so ``precision: auto`` stays fp32 there. Read from torch's
    cpuinfo (``torch.cpu.get_capabilities``; older torch: its ``_is_*_supported``).
    """
    capabilities = getattr(torch.cpu, "get_capabilities", None)
    if capabilities is not None:
        found = capabilities()
        return bool(found.get("amx_bf16", False) or found.get("avx512_bf16", False))
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def _autocast_dtype(precision: str, device: torch.device, native_bf16: bool) -> torch.dtype | None:
    if precision == "fp32":
        return None
    if precision == "bf16" or device.type == "cuda":
        return torch.bfloat16
    return torch.bfloat16 if native_bf16 else None  # auto on the CPU


def execution_plan(config: TrialConfig, device: torch.device, native_bf16: bool | None = None) -> ExecutionPlan:
    """The plan for ``config`` on ``device``; ``native_bf16`` overrides the CPU's detection (tests)."""
    on_cuda = device.type == "cuda"
    if config.eager:
        # The step as it was: channels_last and bf16 on CUDA only, torch.optim, nn.Dropout.
        return ExecutionPlan(
            eager=True,
            channels_last=on_cuda,
            autocast_dtype=torch.bfloat16 if on_cuda else None,
            fused_optimizers=False,
            bits_dropout=False,
            compile=None,
        )
    if native_bf16 is None:
        native_bf16 = not on_cuda and cpu_bf16_native()
    return ExecutionPlan(
        eager=False,
        channels_last=True,
        autocast_dtype=_autocast_dtype(config.precision, device, native_bf16),
        fused_optimizers=True,
        bits_dropout=True,
        compile="inductor" if config.compile else None,
    )
