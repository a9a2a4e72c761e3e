"""How close a step gets to the machine: its FLOP count, and the machine's measured peak.

``count_flops`` runs a function once under ``torch.utils.flop_counter.FlopCounterMode``
and returns the floating-point operations torch counts for it: convolutions, their
backward, matrix products (2 FLOPs per multiply-add), not the element-wise work
(BatchNorm, ReLU, pooling, dropout, the optimizer), which moves memory rather than
doing arithmetic. A step's achieved FLOP/s is that count over its time.

``measure_peak`` times what the device does best (on the CPU with the same thread
count): a large square matrix product and a large 3x3 convolution (channels_last,
oneDNN's and cuDNN's fastest layout), in fp32 and, where asked, bf16. The larger of the two is the peak a step's achieved
FLOP/s is compared with; on a machine whose bf16 peak is far above its fp32 peak (AMX),
the fraction says how much the step could still gain from lower precision alone.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["Peak", "count_flops", "measure_peak", "measure_peaks"]

# The probes. Sizes are large enough that one call takes milliseconds (a cache-resident
# kernel at full speed), small enough that the measurement takes a few seconds per dtype.
MATMUL_SIZE = 2048  # square: 2 * 2048**3 = 17.2 GFLOP a call
CONV_SHAPE = (32, 64, 56, 56)  # batch, channels in = out, height, width: 3x3, padding 1; 14.8 GFLOP a call


@dataclass
class Peak:
    """The best of the probes of one dtype, in GFLOP/s (median over the repeats of each probe)."""

    dtype: str
    gflops: float
    matmul_gflops: float
    conv_gflops: float
    threads: int


def count_flops(run: Callable[[], Any]) -> tuple[int, dict[str, int]]:
    """FLOPs torch counts for one call of ``run``: the total and per aten op."""
    with FlopCounterMode(display=False) as counter:
        run()
    per_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return int(counter.get_total_flops()), per_op


def _gflops_of(run: Callable[[], Any], flops: int, repeats: int, sync: Callable[[], None], warmup: int = 2) -> float:
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return flops / statistics.median(times) / 1e9


def measure_peak(dtype: torch.dtype, repeats: int = 5, scale: float = 1.0, device: str = "cpu") -> Peak:
    """The matrix-product and convolution probes in ``dtype`` on ``device``, at torch's current thread count.

    ``scale`` multiplies the probes' sizes: below 1 a smoke run (the peak is then not
    the machine's), above 1 a GPU (whose kernels need more work to reach full speed).
    """
    target = torch.device(device)
    sync = (lambda: torch.cuda.synchronize(target)) if target.type == "cuda" else (lambda: None)
    n = max(64, int(MATMUL_SIZE * scale))
    a = torch.randn(n, n, device=target).to(dtype)
    b = torch.randn(n, n, device=target).to(dtype)
    matmul = _gflops_of(lambda: a @ b, 2 * n**3, repeats, sync)
    batch, channels, height, width = CONV_SHAPE
    batch = max(1, int(batch * scale))
    x = torch.randn(batch, channels, height, width, device=target).to(dtype)
    w = torch.randn(channels, channels, 3, 3, device=target).to(dtype)
    x, w = x.contiguous(memory_format=torch.channels_last), w.contiguous(memory_format=torch.channels_last)
    conv_flops, _ = count_flops(lambda: F.conv2d(x, w, padding=1))
    conv = _gflops_of(lambda: F.conv2d(x, w, padding=1), conv_flops, repeats, sync)
    name = {torch.float32: "fp32", torch.bfloat16: "bf16"}.get(dtype, str(dtype))
    return Peak(
        dtype=name, gflops=max(matmul, conv), matmul_gflops=matmul, conv_gflops=conv, threads=torch.get_num_threads()
    )


def measure_peaks(
    dtypes: Sequence[torch.dtype], repeats: int = 5, scale: float = 1.0, device: str = "cpu"
) -> dict[str, Peak]:
    """``measure_peak`` for each dtype, by its short name (``fp32``, ``bf16``)."""
    peaks = [measure_peak(dtype, repeats, scale, device) for dtype in dtypes]
    return {p.dtype: p for p in peaks}
