"""``bench.gpu``'s trial-level sections: several trials sharing one device, and time to accuracy.

Sharing: ``n`` worker processes (spawned, as Ray's trial workers are separate
processes) each build one trial with ``PairTraining`` (its default plan: the fast
path), warm up, wait at a common barrier, then train for the same wall time; each
reports its images/s and its peak memory. The aggregate is the sum: all of them ran
over the same interval. Target: 4 trials at once give at least ``SHARING_TARGET``
times one trial's images/s.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["SHARING_TARGET", "run_sharing", "time_to_accuracy"]

SHARING_TARGET = 2.5  # 4 trials on one device: at least this many times one trial's images/s

_WARMUP_STEPS = 5
# 4 trials on one device: at least this many times one trial's images/s (here, not in
# bench.gpu, which imports this module: a late import back would be a cycle).
SHARING_TARGET = 2.5
_BARRIER_TIMEOUT_S = 300.0  # spawning and building 8 trials on a busy machine


def _train_for(training: Any, seconds: float, sync: Callable[[], None]) -> tuple[int, float]:
    """Train (epochs on end) until ``seconds`` pass; returns (images, measured seconds)."""
    batch = training.config.batch_size
    images, start = 0, time.perf_counter()
    while True:
        for x, y in training.data.train_batches(batch, training.data_generator):
            training.step(x, y)
            training.schedule.step()
            images += batch
            if time.perf_counter() - start >= seconds:
                sync()
                return images, time.perf_counter() - start


def _worker(config: dict[str, Any], threads: int, seconds: float, barrier: Any, results: Any) -> None:
    from bench.trials import build_trial

    torch.set_num_threads(threads)
    training = build_trial(config)
    device = training.device
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    for _ in range(_WARMUP_STEPS):  # allocator, cuDNN autotuning, first-call costs
        _train_for(training, 0.0, sync)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    barrier.wait(timeout=_BARRIER_TIMEOUT_S)
    images, elapsed = _train_for(training, seconds, sync)
    if device.type == "cuda":
        peak, kind = torch.cuda.max_memory_allocated(device), "cuda allocated"
    else:
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "host RSS"
    results.put({"pid": os.getpid(), "images": images, "seconds": elapsed, "peak_bytes": peak, "kind": kind})


def _collect(workers: list[Any], results: Any, timeout_s: float) -> list[dict[str, Any]]:
    """Every worker's result; a worker that dies (or a hang past ``timeout_s``) is an error."""
    import queue

    rows: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(rows) < len(workers):
        try:
            rows.append(results.get(timeout=2.0))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"sharing run of {len(workers)} trials failed: {len(rows)} results, "
                    f"worker exit codes {[w.exitcode for w in workers]}"
                ) from None
    return rows


def _one_count(config: dict[str, Any], n: int, seconds: float) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")  # a fresh process per trial, never a fork of a CUDA parent
    barrier, results = ctx.Barrier(n), ctx.Queue()
    threads = max(1, len(os.sched_getaffinity(0)) // n)
    workers = [ctx.Process(target=_worker, args=(config, threads, seconds, barrier, results)) for _ in range(n)]
    for w in workers:
        w.start()
    try:
        return _collect(workers, results, _BARRIER_TIMEOUT_S + seconds * 4 + 120)
    finally:
        for w in workers:
            w.join(timeout=60)
            if w.is_alive():
                w.kill()


def run_sharing(
    counts: Sequence[int], seconds: float, config: dict[str, Any], log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """One row per trial count: images/s each and in all, x one trial, peak memory per trial."""
    rows: list[dict[str, Any]] = []
    for n in counts:
        log(f"  {n} trial(s) at once ...")
        got = _one_count(config, n, seconds)
        each = [r["images"] / r["seconds"] for r in got]
        total = sum(each)
        one = rows[0]["images_per_s"] if rows else total
        rows.append(
            {
                "trials": n,
                "images_per_s": total,
                "images_per_s_each": total / n,
                "vs_one": total / one,
                "target": SHARING_TARGET if n == 4 else None,
                "passed": bool(total / one >= SHARING_TARGET) if n == 4 else None,
                "peak_mib_per_trial": max(r["peak_bytes"] for r in got) / 2**20,
                "memory_kind": got[0]["kind"],
                "per_trial": got,
            }
        )
    return rows


def time_to_accuracy(config: dict[str, Any], target: float, log: Callable[[str], None]) -> dict[str, Any]:
    """Train ``config`` epoch by epoch until both members reach ``target`` test accuracy."""
    from bench.trials import build_trial

    start = time.perf_counter()
    training = build_trial(config)
    build_s = time.perf_counter() - start
    history, reached = [], None
    while not training.finished:
        metrics = training.run_epoch()
        wall = time.perf_counter() - start
        history.append(
            {
                "epoch": training.epoch,
                "wall_s": wall,
                "acc_1": metrics["acc_1"],
                "acc_2": metrics["acc_2"],
                "ensemble_acc": metrics["ensemble_acc"],
            }
        )
        log(f"  epoch {training.epoch}: acc {metrics['acc_1']:.4f} / {metrics['acc_2']:.4f}, {wall:.1f} s")
        if min(metrics["acc_1"], metrics["acc_2"]) >= target:
            reached = training.epoch
            break
    best = max(history, key=lambda h: min(h["acc_1"], h["acc_2"]))
    last = history[-1] if reached else best
    return {
        "pair": f"{config['classifier']} {config['objective']} + {config['disc_arch']}",
        "target": target,
        "reached_epoch": reached,
        "seconds": last["wall_s"] if reached else None,
        "build_seconds": build_s,
        "acc_1": last["acc_1"],
        "acc_2": last["acc_2"],
        "ensemble_acc": last["ensemble_acc"],
        "epochs_planned": config["epochs"],
        "history": history,
    }
