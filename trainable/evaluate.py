"""Evaluate a classifier pair (and its discriminator) on the held-out test split.

Produces every metric of docs/design.md's "The metrics" and the per-example predictions that the compare
mode keeps, so any metric can be recomputed later without retraining.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from trainable.metrics import pair_metrics
from trainable.step import same_class_partners, seed_pair_batch

__all__ = ["PairOutputs", "collect_outputs", "discriminator_accuracy", "evaluate_pair"]


@dataclass
class PairOutputs:
    """What both classifiers said on the test split (on the CPU)."""

    probs: Tensor  # float32 [2, N, C], softmax outputs
    labels: Tensor  # int64 [N]
    reps: tuple[Tensor, Tensor]  # representations of the first `rep_examples` test examples

    @property
    def predictions(self) -> Tensor:
        """int64 [2, N] argmax class of each classifier."""
        return self.probs.argmax(dim=-1)


@torch.no_grad()
def collect_outputs(
    net_1: nn.Module, net_2: nn.Module, batches: Iterable[tuple[Tensor, Tensor]], rep_examples: int
) -> PairOutputs:
    """Run both classifiers in eval mode over ``batches`` (the test split, in order)."""
    was_training = net_1.training, net_2.training
    net_1.eval(), net_2.eval()
    probs: list[list[Tensor]] = [[], []]
    reps: list[list[Tensor]] = [[], []]
    labels: list[Tensor] = []
    kept = 0
    for x, y in batches:
        take = max(0, min(rep_examples - kept, x.shape[0]))
        for k, net in enumerate((net_1, net_2)):
            logits, z = net(x)
            probs[k].append(torch.softmax(logits.float(), dim=-1).cpu())
            if take:
                reps[k].append(z[:take].float().cpu())
        kept += take
        labels.append(y.cpu())
    net_1.train(was_training[0]), net_2.train(was_training[1])
    return PairOutputs(
        probs=torch.stack([torch.cat(p) for p in probs]),
        labels=torch.cat(labels),
        reps=(torch.cat(reps[0]), torch.cat(reps[1])),
    )


@torch.no_grad()
def discriminator_accuracy(
    discriminator: nn.Module, objective: str, reps: tuple[Tensor, Tensor], labels: Tensor, seed: int
) -> float:
    """Balanced accuracy of D on held-out pairs built the way its training pairs are.

    Balanced (mean of the accuracy on positives and on negatives) because the ``seed``
    targets are mostly "different class": plain accuracy would reward a D that always
    says so. The pairs come from a fixed generator so epochs are comparable.
    """
    z_1, z_2 = reps
    device = next(discriminator.parameters()).device
    z_1, z_2, labels = z_1.to(device), z_2.to(device), labels.to(device)
    generator = torch.Generator().manual_seed(seed)
    was_training = discriminator.training
    discriminator.eval()
    try:
        if objective == "seed":
            # Balanced pairs as in training: z_1 of one image against z_2 of another
            # image of the same class, and of a different class (a permutation keeps an
            # image from being paired with itself most of the time). The same pairs
            # whichever pairing D trained with: the permuted set plays half b.
            perm = torch.randperm(labels.numel(), generator=generator).to(device)
            left, right, targets = seed_pair_batch(z_1, z_2[perm], labels, labels[perm], generator, "split")
            logits = discriminator(left, right)
        elif objective == "dice":  # true pairs vs. another image of the same class
            partner, valid = same_class_partners(labels, generator)
            pos = discriminator(z_1, z_2, labels)
            neg = discriminator(z_1[valid], z_2[partner[valid]], labels[valid])
            logits = torch.cat([pos, neg])
            targets = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
        else:
            raise ValueError(f"no discriminator pairs for objective {objective!r}")
    finally:
        discriminator.train(was_training)
    said_positive = logits.float() > 0
    positive = targets > 0.5
    rates = []
    for mask, want in ((positive, True), (~positive, False)):
        if mask.any():
            rates.append((said_positive[mask] == want).float().mean().item())
    return float(sum(rates) / len(rates)) if rates else math.nan


def evaluate_pair(outputs: PairOutputs, discriminator: nn.Module | None, objective: str, seed: int) -> dict[str, float]:
    """Every metric of docs/design.md's "The metrics" for one pair; ``disc_acc`` is NaN without a D."""
    metrics = pair_metrics(outputs.probs, outputs.labels, outputs.reps[0], outputs.reps[1])
    if discriminator is None:
        metrics["disc_acc"] = math.nan
    else:
        n = outputs.reps[0].shape[0]
        metrics["disc_acc"] = discriminator_accuracy(discriminator, objective, outputs.reps, outputs.labels[:n], seed)
    return metrics
