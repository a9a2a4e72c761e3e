"""The redundancy probe: does a fresh discriminator find information the pair shares?

After training, both classifiers are frozen. A *new* discriminator, the same for every
arm and baseline (``mlp`` tower, class embedding, fixed budget), learns to tell the two
networks' views of one image, (z1(x), z2(x)), from views of two images of the same
class, (z1(x), z2(x')), on one split's features, and is scored (balanced accuracy) on
another split's. 0.5 means the two representations share nothing beyond the class
that this probe can find; higher means shared, redundant information. It is the
direct test of what the `dice` term is meant to remove (docs/design.md, "The metrics"), and it applies
to baselines too, which trained no discriminator at all.

On a (C, H, W) map (``features: last_conv``) the ``mlp`` tower global-average-pools, and
``absdiff`` matches channel i of one net with channel i of the other: the probe sees the
two nets' channel means only, so it can miss information shared at other positions or
in other channels. It stays so (every committed ``probe_acc`` was measured this way);
``mlp_flat`` is the un-pooled tower.

Pure: tensors in, a number out; no files, no global config. The probe's own random
numbers come from a generator seeded by ``ProbeSettings.seed``; torch's global RNG is
forked, so calling it does not change the trial's random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from trainable.evaluate import discriminator_accuracy
from trainable.models import create_discriminator
from trainable.step import same_class_partners

__all__ = ["ProbeSettings", "redundancy_probe"]


@dataclass(frozen=True)
class ProbeSettings:
    epochs: int = 30  # passes over the probe's training features
    batch_size: int = 256  # pairs' anchor images per step (each gives a positive and a negative)
    lr: float = 1e-3  # Adam
    width: int = 64  # mlp tower width
    depth: int = 2  # mlp tower depth
    seed: int = 0


def _train_probe(
    reps: tuple[Tensor, Tensor], labels: Tensor, num_classes: int, settings: ProbeSettings, generator: torch.Generator
) -> torch.nn.Module:
    z_1, z_2 = reps
    probe = create_discriminator(
        "mlp", rep_shape=tuple(z_1.shape[1:]), width=settings.width, depth=settings.depth, num_classes=num_classes
    ).to(z_1.device)
    optimizer = torch.optim.Adam(probe.parameters(), lr=settings.lr)
    n = labels.numel()
    for _ in range(settings.epochs):
        order = torch.randperm(n, generator=generator).to(z_1.device)
        for start in range(0, n, settings.batch_size):
            index = order[start : start + settings.batch_size]
            y = labels[index]
            a, b = z_1[index], z_2[index]
            partner, valid = same_class_partners(y, generator)
            if not bool(valid.any()):
                continue
            pos = probe(a, b, y)
            neg = probe(a[valid], b[partner[valid]], y[valid])
            # Weight both classes equally whatever the number of valid negatives.
            loss = 0.5 * F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos)) + 0.5 * (
                F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return probe.eval()


def redundancy_probe(
    fit_reps: tuple[Tensor, Tensor],
    fit_labels: Tensor,
    score_reps: tuple[Tensor, Tensor],
    score_labels: Tensor,
    num_classes: int,
    settings: ProbeSettings = ProbeSettings(),
) -> float:
    """Balanced accuracy on ``score_*`` of a probe trained on ``fit_*`` (frozen features).

    ``*_reps`` are the two networks' representations (``[N, ...]`` each, same shape) of
    the same N images, ``*_labels`` their classes. Use disjoint images for fitting and
    scoring (validation and test), or the probe measures memorisation.
    """
    if fit_reps[0].shape != fit_reps[1].shape or score_reps[0].shape[1:] != fit_reps[0].shape[1:]:
        raise ValueError(
            f"the probe needs two representations of one shape, got {tuple(fit_reps[0].shape)}, "
            f"{tuple(fit_reps[1].shape)} (fit) and {tuple(score_reps[0].shape)} (score)"
        )
    generator = torch.Generator().manual_seed(settings.seed)
    detached = tuple(z.detach().float() for z in fit_reps)
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        torch.manual_seed(settings.seed)
        probe = _train_probe((detached[0], detached[1]), fit_labels, num_classes, settings, generator)
    scored = (score_reps[0].detach().float(), score_reps[1].detach().float())
    return discriminator_accuracy(probe, "dice", scored, score_labels, settings.seed + 1)
