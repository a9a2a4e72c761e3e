"""What the pair and the discriminator add to one classifier's step: ratios with targets.

Every setting of a dataset trains on the same fixed, augmented batch, with a trial
built by ``trainable.loop.PairTraining`` exactly as a real trial is (its default
execution plan: the fast path unless ``--eager``), and is timed interleaved
(``bench.timing``). Targets, each a ratio of medians of the same run:

- ``single (B)``: one classifier's forward + backward + optimizer step on ``B``
  examples, the baseline of the pair steps. ``B`` is the batch (what each net sees when
  the pairing is ``shared``) or half of it (``split``).
- ``independent <pairing>`` <= 2.05 x ``single`` of the same per-net batch.
- ``dice + D`` (pairing shared) <= 1.15 x ``independent shared`` with the ``mlp``
  discriminator, <= 1.35 x with ``siamese_strided``; ``seed + D`` (pairing split)
  likewise against ``independent split``.
- ``batch prep``: drawing one batch from ``DeviceData.train_batches`` (sampling and
  augmentation, averaged over a whole epoch so the once-per-epoch draws count)
  <= 3% of the cheapest pair step, ``independent split`` (the strictest reading).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from bench.timing import Case, repeat
from bench.trials import build_trial
from sweep.formatting import text_table
from trainable.loop import PairTraining
from trainable.optim import FusedAdamW

__all__ = [
    "BATCH_PREP_TARGET",
    "JOINT_TARGETS",
    "PAIR_VS_SINGLE_TARGET",
    "OverheadSettings",
    "Row",
    "build_cases",
    "format_table",
    "rows_of",
    "single_step",
]

# Ratios are "at most".
PAIR_VS_SINGLE_TARGET = 2.05
JOINT_TARGETS = {"mlp": 1.15, "siamese_strided": 1.35}
BATCH_PREP_TARGET = 0.03


@dataclass(frozen=True)
class OverheadSettings:
    """What the overhead section measures."""

    datasets: tuple[str, ...] = ("fashion-mnist", "digits")
    classifier: str = "simple3"
    width: float = 1.0
    batch_size: int = 128
    # None: the whole training split (batch prep then also pays the full epoch's
    # permutation, as a real trial does).
    train_size: int | None = None
    disc_archs: tuple[str, ...] = ("mlp", "siamese_strided")
    eager: bool = False  # true: the plain step (eager=true) instead of the fast path
    seed: int = 0


@dataclass
class Row:
    """One line of the result table."""

    dataset: str
    setting: str
    median_ms: float
    samples_ms: list[float]
    baseline: str | None = None
    ratio: float | None = None
    target: float | None = None
    passed: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _trial(s: OverheadSettings, dataset: str, objective: str, pairing: str, disc_arch: str = "mlp") -> PairTraining:
    return build_trial(
        {
            "dataset": dataset,
            "train_size": s.train_size,
            "classifier": s.classifier,
            "width": s.width,
            "batch_size": s.batch_size,
            "objective": objective,
            "pairing": pairing,
            "disc_arch": disc_arch,
            "device": "cpu",
            "seed": s.seed,
            "eager": s.eager,
        }
    )


def single_step(
    training: PairTraining, x: torch.Tensor, y: torch.Tensor, net: torch.nn.Module | None = None
) -> Callable[[], None]:
    """One classifier alone: what ``JointStep`` does for one net of an independent pair.

    Its own AdamW (the trial's kind: fused on the fast path) with the trial's lr and
    weight decay over the same trainable parameters, the same float32 CE with the
    trial's label smoothing, under the trial's autocast. ``net`` replaces
    ``training.net_1`` in the forward (a compiled wrapper of it, say).
    """
    cfg = training.config
    forward = net if net is not None else training.net_1
    params = [p for p in training.net_1.parameters() if p.requires_grad]
    adamw = FusedAdamW if training.plan.fused_optimizers else torch.optim.AdamW
    opt = adamw(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    dtype = training.step.settings.autocast_dtype

    def step() -> None:
        with torch.autocast(x.device.type, dtype=dtype, enabled=dtype is not None):
            logits, _ = forward(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _batch_prep(training: PairTraining, batch_size: int, seed: int) -> Callable[[], int]:
    """One epoch of ``train_batches``, every batch materialized; returns the batch count."""
    generator = torch.Generator().manual_seed(seed)

    def run() -> int:
        count = 0
        for _x, _y in training.data.train_batches(batch_size, generator):
            count += 1
        return count

    return run


def build_cases(s: OverheadSettings, dataset: str, steps: int) -> tuple[list[Case], dict[str, Any]]:
    """Every timed setting of one dataset, all on the same batch; and facts about it."""
    bs = s.batch_size
    if bs % 2:
        raise ValueError(f"batch_size must be even (the split pairing halves it), got {bs}")
    half = bs // 2
    ind = {p: _trial(s, dataset, "independent", p) for p in ("shared", "split")}
    # The batch every setting trains on: one augmented batch drawn the loop's way.
    x, y = next(iter(ind["shared"].data.train_batches(bs, torch.Generator().manual_seed(s.seed))))
    x, y = x.clone(), y.clone()

    cases = [
        Case(f"single (B={bs})", repeat(single_step(ind["shared"], x, y), steps)),
        Case(f"single (B={half})", repeat(single_step(ind["split"], x[:half], y[:half]), steps)),
        Case(
            "independent shared",
            repeat(lambda: ind["shared"].step(x, y), steps),
            baseline=f"single (B={bs})",
            target=PAIR_VS_SINGLE_TARGET,
            note="each net sees the whole batch",
        ),
        Case(
            "independent split",
            repeat(lambda: ind["split"].step(x, y), steps),
            baseline=f"single (B={half})",
            target=PAIR_VS_SINGLE_TARGET,
            note="each net sees its half",
        ),
    ]
    for arch in s.disc_archs:
        target = JOINT_TARGETS.get(arch)
        for objective, pairing in (("dice", "shared"), ("seed", "split")):
            trial = _trial(s, dataset, objective, pairing, arch)
            cases.append(
                Case(
                    f"{objective} + {arch}",
                    repeat(lambda t=trial: t.step(x, y), steps),
                    baseline=f"independent {pairing}",
                    target=target,
                    note=f"pairing {pairing}",
                )
            )
    cases.append(
        Case(
            "batch prep",
            _batch_prep(ind["shared"], bs, s.seed),
            baseline="independent split",
            target=BATCH_PREP_TARGET,
            note="per batch, over a whole epoch",
        )
    )
    info = ind["shared"].info
    facts = {
        "image_shape": [info.channels, info.height, info.width],
        "train_examples": ind["shared"].data.num_train,
        "batches_per_epoch": ind["shared"].data.steps_per_epoch(bs),
        "representation_shape": list(ind["shared"].net_1.representation_shape),
        "plan": ind["shared"].plan.describe(),
    }
    return cases, facts


def rows_of(
    dataset: str, cases: Sequence[Case], samples: dict[str, list[float]], faults: dict[str, float]
) -> list[Row]:
    medians = {name: statistics.median(values) for name, values in samples.items()}
    rows = []
    for case in cases:
        row = Row(
            dataset=dataset,
            setting=case.name,
            median_ms=medians[case.name] * 1e3,
            samples_ms=[v * 1e3 for v in samples[case.name]],
            note=case.note,
            extra={"minor_faults_per_step": faults[case.name]},
        )
        if case.baseline is not None:
            row.baseline = case.baseline
            row.ratio = medians[case.name] / medians[case.baseline]
            row.target = case.target
            if case.target is not None:
                row.passed = row.ratio <= case.target
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("dataset", "setting", "median ms", "ratio", "vs", "target", "result", "faults/step")
    lines: list[tuple[str, ...]] = []
    for r in rows:
        prep = r["setting"] == "batch prep"
        lines.append(
            (
                r["dataset"],
                r["setting"],
                f"{r['median_ms']:.2f}",
                "" if r["ratio"] is None else (f"{r['ratio']:.2%}" if prep else f"{r['ratio']:.3f}x"),
                r["baseline"] or "",
                "" if r["target"] is None else (f"<= {r['target']:.0%}" if prep else f"<= {r['target']:.2f}x"),
                "" if r["passed"] is None else ("PASS" if r["passed"] else "FAIL"),
                f"{r['extra']['minor_faults_per_step']:.0f}",
            )
        )
    return text_table(header, lines)
