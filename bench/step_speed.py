"""The pair step against the machine: images/s, achieved FLOP/s, and what each part of the fast path buys.

For each setting (``STUDY``: what the registered Fashion-MNIST studies run; ``DEFAULT``:
the trial defaults' net and batch on Fashion-MNIST) one fixed batch is trained by
trials built with ``trainable.loop.PairTraining``, one per execution plan of a ladder
that adds one part of the fast path at a time (``trainable/fast_path.py``):

1. ``eager``: ``eager=true``, the plain step, the baseline of every ratio;
2. ``+ channels_last``; 3. ``+ fused optimizers``; 4. ``+ bits dropout`` (the fast path
   in fp32); 5. ``+ bf16 autocast`` (the fast path in bf16: emulated, so slow, on a CPU
   without bf16 instructions);
6. ``fast + compile``: the default plan with ``torch.compile`` (its first step, which
   compiles, is reported apart);
7. ``fast, N threads``: the default plan with all the CPUs' threads instead of one.

The row of the plan a trial gets by default on this machine is marked. Images/s are
training examples per second of the pair (the batch over the step's time); GFLOP/s
are ``bench.roofline.count_flops`` of the eager step (every plan does the same
arithmetic) over the step's time, and "% peak" compares them with the measured peak of
the row's precision at the same thread count.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from bench.roofline import Peak, count_flops
from bench.timing import Case, repeat, time_interleaved
from bench.trials import build_trial
from sweep.formatting import text_table
from trainable.config import TrialConfig
from trainable.fast_path import ExecutionPlan, execution_plan

__all__ = ["DEFAULT", "QUICK", "STUDY", "SpeedSetting", "format_speed_table", "ladder", "measure_setting"]


@dataclass(frozen=True)
class SpeedSetting:
    name: str
    config: dict[str, Any]  # trial settings; device cpu, the rest TrialConfig's defaults


# The fixed settings of studies/fmnist_dose.yaml (simple3 at width 0.25, batch 256, lr 2e-3,
# no augmentation, mlp D with disc_lr 4e-4) with its middle dose of dice.
STUDY = SpeedSetting(
    "study",
    {
        "dataset": "fashion-mnist",
        "classifier": "simple3",
        "width": 0.25,
        "train_size": 24_000,
        "val_size": 5_000,
        "batch_size": 256,
        "lr": 2e-3,
        "augment": False,
        "objective": "dice",
        "w_adv": 0.1,
        "disc_arch": "mlp",
        "disc_lr": 4e-4,
    },
)
# TrialConfig's defaults (simple3 at width 1.0, batch 128, dice + mlp, augmented) on Fashion-MNIST.
DEFAULT = SpeedSetting("default", {"dataset": "fashion-mnist"})
QUICK = (
    SpeedSetting("study", {"dataset": "digits", "train_size": 256, "width": 0.25, "batch_size": 32}),
    SpeedSetting("default", {"dataset": "digits", "train_size": 256, "width": 0.5, "batch_size": 32}),
)


def ladder(config: TrialConfig, compile_too: bool, threads: int, all_threads: int) -> list[tuple[str, ExecutionPlan]]:
    """The plans, each adding one part of the fast path to the one before (names as in the table)."""
    cpu = torch.device("cpu")
    plain = execution_plan(config.model_copy(update={"eager": True}), cpu)
    steps = [("eager", plain)]
    for name, change in (
        ("+ channels_last", {"eager": False, "channels_last": True}),
        ("+ fused optimizers", {"fused_optimizers": True}),
        ("+ bits dropout", {"bits_dropout": True}),
        ("+ bf16 autocast", {"autocast_dtype": torch.bfloat16}),
    ):
        steps.append((name, replace(steps[-1][1], **change)))
    default = execution_plan(config, cpu)
    if compile_too:
        steps.append(("fast + compile", replace(default, compile="inductor")))
    if all_threads > threads:
        steps.append((f"fast, {all_threads} threads", default))
    return steps


def _set_threads(count: int) -> Any:
    return lambda: torch.set_num_threads(count)


def measure_setting(
    setting: SpeedSetting,
    peaks: dict[str, Peak],
    *,
    rounds: int,
    steps: int,
    warmup: int,
    threads: int,
    all_threads: int,
    compile_too: bool,
) -> dict[str, Any]:
    """Time every plan of the ladder on one fixed batch; one row per plan, and the setting's facts."""
    raw = {**setting.config, "device": "cpu"}
    config = TrialConfig.from_dict(raw)
    default_plan = execution_plan(config, torch.device("cpu"))
    plans = ladder(config, compile_too, threads, all_threads)
    torch.set_num_threads(threads)
    trials = [(name, build_trial(raw, plan=plan)) for name, plan in plans]
    eager = trials[0][1]
    x, y = next(iter(eager.data.train_batches(config.batch_size, torch.Generator().manual_seed(config.seed))))
    x, y = x.clone(), y.clone()
    flops, per_op = count_flops(lambda: eager.step(x, y))

    cases, first_s = [], {}
    for name, trial in trials:
        count = all_threads if name.endswith(" threads") else threads
        torch.set_num_threads(count)
        start = time.perf_counter()
        trial.step(x, y)  # the first step: compilation happens here
        first_s[name] = time.perf_counter() - start
        cases.append(
            Case(name, repeat(lambda t=trial: t.step(x, y), steps), baseline="eager", before=_set_threads(count))
        )
    samples, _ = time_interleaved(cases, rounds, warmup)
    torch.set_num_threads(threads)
    base = statistics.median(samples["eager"])
    rows = []
    for name, trial in trials:
        median = statistics.median(samples[name])
        precision = trial.plan.precision
        peak = peaks.get(precision)
        achieved = flops / median / 1e9
        rows.append(
            {
                "setting": setting.name,
                "case": name,
                "default": trial.plan == default_plan and not name.endswith(" threads"),
                "plan": trial.plan.describe(),
                "threads": all_threads if name.endswith(" threads") else threads,
                "median_ms": median * 1e3,
                "samples_ms": [v * 1e3 for v in samples[name]],
                "images_per_s": config.batch_size / median,
                "speed_up": base / median,
                "gflops": achieved,
                "peak_fraction": None if peak is None or name.endswith(" threads") else achieved / peak.gflops,
                "first_step_s": first_s[name],
            }
        )
    facts = {
        "config": raw,
        "flops_per_step": flops,
        "flops_per_op": per_op,
        "default_plan": default_plan.describe(),
        "fp32_floor_ms": flops / peaks["fp32"].gflops / 1e6 if "fp32" in peaks else None,
        "bf16_floor_ms": flops / peaks["bf16"].gflops / 1e6 if "bf16" in peaks else None,
    }
    return {"rows": rows, "facts": facts}


def format_speed_table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("setting", "case", "precision", "ms/step", "images/s", "x eager", "GFLOP/s", "% peak", "first step s")
    body = [
        (
            r["setting"],
            r["case"] + (" (default)" if r["default"] else ""),
            r["plan"]["precision"],
            f"{r['median_ms']:.1f}",
            f"{r['images_per_s']:.0f}",
            f"{r['speed_up']:.2f}x",
            f"{r['gflops']:.1f}",
            "" if r["peak_fraction"] is None else f"{100 * r['peak_fraction']:.1f}",
            f"{r['first_step_s']:.1f}",
        )
        for r in rows
    ]
    return text_table(header, body)
