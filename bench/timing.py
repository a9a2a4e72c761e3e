"""Interleaved timing of benchmark cases: each round runs every case once, medians over rounds.

A burst of load from another process then hits every case alike, so ratios between
cases of one run hold even on a shared machine; a case's time is the median over the
rounds of its time per step.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Case", "load_now", "repeat", "time_interleaved"]


@dataclass
class Case:
    """One timed setting. ``run()`` does one timed unit of work and returns how many
    steps (or batches) it covered, so the time per step is elapsed / count."""

    name: str
    run: Callable[[], int]
    baseline: str | None = None  # the case it is compared with
    target: float | None = None  # the ratio it must not exceed
    note: str = ""
    before: Callable[[], None] | None = None  # untimed, before each run (e.g. set the thread count)


def repeat(step: Callable[[], Any], count: int) -> Callable[[], int]:
    """A ``Case.run`` that calls ``step`` ``count`` times."""

    def run() -> int:
        for _ in range(count):
            step()
        return count

    return run


def load_now() -> list[float]:
    """The 1-, 5- and 15-minute load averages, rounded."""
    return [round(v, 2) for v in os.getloadavg()]


def time_interleaved(
    cases: Sequence[Case], rounds: int, warmup: int, sync: Callable[[], None] | None = None
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds per step of each case, one sample per round; and minor page faults per step.

    Each round runs every case once; the starting case rotates from round to round
    so no case always runs right after the same neighbour. The page faults are a
    diagnostic: a step that makes the allocator hand memory back to the kernel and
    take it again pays for it in faults (and in time). ``sync`` waits for queued
    device work (``torch.cuda.synchronize`` on a GPU), before each clock reading.
    """
    wait = sync or (lambda: None)
    for case in cases:
        if case.before is not None:
            case.before()
        for _ in range(warmup):
            case.run()
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    faults = {case.name: 0 for case in cases}
    counts = {case.name: 0 for case in cases}
    for r in range(rounds):
        for i in range(len(cases)):
            case = cases[(r + i) % len(cases)]
            if case.before is not None:
                case.before()
            wait()
            faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            count = case.run()
            wait()
            samples[case.name].append((time.perf_counter() - start) / count)
            faults[case.name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before
            counts[case.name] += count
    return samples, {name: faults[name] / counts[name] for name in faults}
