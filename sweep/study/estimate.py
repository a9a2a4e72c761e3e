"""Power before compute: a study's planned runs, their wall time, and the difference they can detect.

The wall time comes from timing one short epoch of each kind of arm here (in this
process, on the threads one run gets), scaled to the arm's training-set size and
epochs, plus the run's once-only final test and redundancy probe (timed too); the
minimum detectable difference from the spread of paired differences that an
earlier study or compare in the same storage folder measured against the same
baseline settings. Both are estimates, printed as such; ``--dry-run`` stops after them.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweep.compare.plan import PLAN_FILE, Arm, ComparePlan
from sweep.stats.power import minimum_detectable_difference

__all__ = [
    "RUN_OVERHEAD_S",
    "TIMING_EXAMPLES",
    "Estimate",
    "estimate_study",
    "previous_sd",
    "time_epoch",
    "time_final_test",
]

TIMING_EXAMPLES = 2048  # training images in the timed epoch (at most): a few seconds on one CPU core
RUN_OVERHEAD_S = 10.0  # per run: Ray starts its actor, loads the data, writes checkpoints (measured ~5-15 s)


@dataclass(frozen=True)
class Estimate:
    runs: int
    concurrent: int
    epoch_seconds: dict[str, float]  # arm -> estimated seconds per epoch at its full size
    wall_seconds: float
    sd: float | None  # sd of paired primary differences measured before (fraction), None if none
    sd_source: str  # where sd comes from
    mde: float  # minimum detectable difference at 80 % power with the planned seeds (NaN without sd)

    def lines(self, effect: float, seeds: int) -> list[str]:
        wall = self.wall_seconds
        shown = f"{wall / 3600:.1f} h" if wall >= 3600 else f"{wall / 60:.1f} min"
        out = [
            f"planned runs: {self.runs} ({self.runs // seeds} arms x {seeds} seeds), {self.concurrent} at a time",
            f"estimated wall time: {shown} (one short timed epoch per kind of arm, scaled to the arm's "
            f"training images and epochs, plus its timed final test and probe and {RUN_OVERHEAD_S:.0f} s per run)",
        ]
        if self.sd is None:
            out.append(
                "expected minimum detectable difference: unknown (no earlier study or compare with these "
                "baseline settings in this storage folder); the report gives it after the run"
            )
        else:
            verdict = "can" if self.mde <= effect else "cannot"
            out.append(
                f"expected minimum detectable difference (80% power): {100 * self.mde:.2f} pp with {seeds} seeds, "
                f"from a paired sd of {100 * self.sd:.2f} pp in {self.sd_source}; it {verdict} detect the "
                f"registered effect of {100 * effect:.2f} pp"
            )
        return out


def _timed_run(config: dict[str, Any], threads: int, examples: int, final_test: bool) -> float:
    """Seconds of one 1-epoch run of ``config`` on ``examples`` training images, in this process."""
    import torch

    from trainable.config import TrialConfig
    from trainable.loop import PairTraining

    timed = TrialConfig.from_dict({**config, "seed": 0, "epochs": 1, "train_size": examples, "final_test": final_test})
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        training = PairTraining(timed)
        start = time.perf_counter()
        training.run_epoch()
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(before)


def _timing_examples(config: dict[str, Any]) -> int:
    size = config.get("train_size")
    return TIMING_EXAMPLES if size is None else min(int(size), TIMING_EXAMPLES)


def time_epoch(config: dict[str, Any], threads: int) -> float:
    """Seconds per training image of one short epoch of ``config`` (validation included)."""
    examples = _timing_examples(config)
    return _timed_run(config, threads, examples, final_test=False) / examples


def time_final_test(config: dict[str, Any], threads: int) -> float:
    """Seconds a run spends once, after its last epoch: the test split and the redundancy probe.

    The difference between the same short run with and without ``final_test``; it does
    not grow with the training set (the test split and the probe's pairs are fixed).
    """
    examples = _timing_examples(config)
    with_test = _timed_run(config, threads, examples, final_test=True)
    without = _timed_run(config, threads, examples, final_test=False)
    return max(0.0, with_test - without)


def _training_examples(config: dict[str, Any]) -> int:
    from trainable.data import load_dataset

    if config.get("train_size") is not None:
        return int(config["train_size"])
    _, train, _ = load_dataset(
        config.get("dataset", "digits"), config.get("data_dir"), None, download=False, val_size=config.get("val_size")
    )
    return len(train.labels)


def _kind(arm: Arm) -> tuple[str, str]:
    """Arms of one kind cost the same per image: the objective and the discriminator."""
    return str(arm.config.get("objective", "dice")), str(arm.config.get("disc_arch", ""))


def previous_sd(plan: ComparePlan, storage: Path) -> tuple[float | None, str]:
    """The largest sd of paired differences an earlier study or compare measured with this baseline."""
    baseline = next(a.config for a in plan.arms if a.is_baseline)
    here = Path(plan.compare_dir).resolve()
    found: list[tuple[float, str]] = []
    candidates = [*storage.glob(f"*/{PLAN_FILE}"), *storage.glob(f"*/compare/{PLAN_FILE}")]
    for path in candidates:
        if path.parent.resolve() == here:
            continue
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            same = any(a.get("is_baseline") and a.get("config") == baseline for a in saved.get("arms", []))
            with (path.parent / "paired.csv").open(encoding="utf-8") as f:
                sds = [float(r["sd_diff"]) for r in csv.DictReader(f) if r.get("sd_diff")]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            continue  # someone else's file, or a run without a report: not evidence
        usable = [s for s in sds if math.isfinite(s) and s > 0]
        if same and usable:
            found.append((max(usable), str(path.parent)))
    if not found:
        return None, ""
    return max(found)


def estimate_study(plan: ComparePlan, storage: Path, concurrent: int, threads: int) -> Estimate:
    """Runs, wall time and expected MDE of ``plan``, run ``concurrent`` at a time."""
    per_image: dict[tuple[str, str], float] = {}
    final: dict[tuple[str, str], float] = {}
    epoch_seconds: dict[str, float] = {}
    for arm in plan.arms:
        kind = _kind(arm)
        if kind not in per_image:
            per_image[kind] = time_epoch(arm.config, threads)
            final[kind] = time_final_test(arm.config, threads)
        epoch_seconds[arm.name] = per_image[kind] * _training_examples(arm.config)
    one_seed = [
        epoch_seconds[a.name] * int(a.config.get("epochs", 1)) + final[_kind(a)] + RUN_OVERHEAD_S for a in plan.arms
    ]
    run_seconds = one_seed * len(plan.seeds)
    # Runs are packed `concurrent` at a time; the total divided evenly is the estimate.
    wall = sum(run_seconds) / max(1, concurrent)
    sd, source = previous_sd(plan, storage)
    mde = minimum_detectable_difference(sd, len(plan.seeds)) if sd is not None else math.nan
    return Estimate(
        runs=len(run_seconds),
        concurrent=concurrent,
        epoch_seconds=epoch_seconds,
        wall_seconds=wall,
        sd=sd,
        sd_source=source,
        mde=mde,
    )
