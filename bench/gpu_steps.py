"""``bench.gpu``'s step section: one setting's pair step, plain (``eager=true``), fast, and fast + compile.

Every trial is built by ``trainable.loop.PairTraining`` (``bench.trials``) on the
device, with the plan a trial gets: ``eager`` is the step as it was (channels_last and
bf16 autocast on CUDA, torch.optim, nn.Dropout), ``fast`` the default fast path (the
same plus fused optimizers and cheaper dropout masks), ``fast + compile`` the fast path
with ``torch.compile`` (``compile=true``; its first step, where it compiles, is reported
apart). All train one fixed batch, timed interleaved and synchronised with the device
(``bench.timing``); FLOPs are counted once on the eager step (``bench.roofline``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from bench.roofline import Peak, count_flops
from bench.timing import Case, repeat, time_interleaved
from bench.trials import build_trial
from trainable.config import TrialConfig
from trainable.fast_path import execution_plan

__all__ = ["device_sync", "step_section"]


def device_sync(device: torch.device) -> Callable[[], None]:
    """Wait for the device's queued work (nothing to wait for on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def step_section(
    name: str,
    raw: dict[str, Any],
    *,
    device: torch.device,
    compile_backend: str | None,
    peak: Peak | None,
    rounds: int,
    steps: int,
    warmup: int,
) -> list[dict[str, Any]]:
    """One row per case (eager, fast, fast + compile when a backend is given) of the setting ``raw``."""
    raw = {**raw, "device": device.type}
    config = TrialConfig.from_dict(raw)
    fast_plan = execution_plan(config, device)
    plans = [("eager", execution_plan(config.model_copy(update={"eager": True}), device)), ("fast", fast_plan)]
    if compile_backend:
        plans.append(("fast + compile", replace(fast_plan, compile=compile_backend)))
    trials = [(case, build_trial(raw, device, plan=plan)) for case, plan in plans]
    eager = trials[0][1]
    batch = config.batch_size
    x, y = next(iter(eager.data.train_batches(batch, torch.Generator().manual_seed(config.seed))))
    x, y = x.clone(), y.clone()
    sync = device_sync(device)
    flops, _ = count_flops(lambda: eager.step(x, y))
    first: dict[str, float] = {}
    failed: dict[str, str] = {}
    cases = []
    for case, trial in trials:
        sync()
        start = time.perf_counter()
        try:
            trial.step(x, y)  # compiles, for the compiled case
        except Exception as error:  # a compiler missing on the machine: keep the other cases
            if case != "fast + compile":
                raise
            failed[case] = f"{type(error).__name__}: {error}"[:2000]
            continue
        sync()
        first[case] = time.perf_counter() - start
        cases.append(Case(case, repeat(lambda t=trial: t.step(x, y), steps)))
    trials = [(case, trial) for case, trial in trials if case not in failed]
    samples, _ = time_interleaved(cases, rounds, warmup, sync=sync)
    base = statistics.median(samples["eager"])
    rows = []
    for case, trial in trials:
        median = statistics.median(samples[case])
        achieved = flops / median / 1e9
        rows.append(
            {
                "setting": name,
                "case": case,
                "plan": trial.plan.describe(),
                "median_ms": median * 1e3,
                "samples_ms": [v * 1e3 for v in samples[case]],
                "images_per_s": batch / median,
                "speed_up": base / median,
                "gflops": achieved,
                "peak_fraction": None if peak is None else achieved / peak.gflops,
                "first_step_s": first[case],
                "flops_per_step": flops,
            }
        )
    rows += [{"setting": name, "case": case, "error": error} for case, error in failed.items()]
    return rows
