"""The joint classifier-discriminator training step (docs/design.md, "One training step").

Order, every step, with no ``retain_graph``:

1. forward both classifiers (logits and representations);
2. update the discriminator on *detached* representations (``disc_steps`` times);
3. update both classifiers with ``w_ce * CE + w_adv * A``, where ``A`` goes through
   the (just updated) discriminator with its parameters frozen.

Step 2 never builds a graph through the classifiers (the representations are
detached), so step 3 can still backpropagate through the graph of step 1.

This module reads no files and no global config: the caller passes a
``StepSettings`` and the modules.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trainable.objectives import Objective, objective_spec

__all__ = [
    "JointStep",
    "StepResult",
    "StepSettings",
    "cross_half_partners",
    "dice_adversarial_term",
    "same_class_partners",
    "seed_pair_batch",
    "seed_pairs",
    "seed_partners",
    "shared_batch_partners",
]


@dataclass(frozen=True)
class StepSettings:
    objective: Objective
    pairing: Literal["split", "shared"]
    w_ce: float = 1.0
    w_adv: float = 0.0
    dice_tau: float = 10.0
    disc_steps: int = 1
    label_smoothing: float = 0.0
    autocast_dtype: torch.dtype | None = None  # bf16 on CUDA; None on the CPU


@dataclass
class StepResult:
    """Losses of one step, kept on the device (no host sync inside the hot loop)."""

    classifier_loss: Tensor
    disc_loss: Tensor | None


def seed_pairs(y_a: Tensor, y_b: Tensor) -> Tensor:
    """Discriminator targets of the ``seed`` objective: 1 where the pair shares a class.

    The thesis used a logical XOR of the class indices, which only works for two
    classes; equality of labels is right for any number of classes.
    """
    return (y_a == y_b).float()


def same_class_partners(y: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """For each example i, a random *other* example j of the same class in the batch.

    Returns ``(partner, valid)``: ``partner[i]`` is j, ``valid[i]`` is False where i is
    the only example of its class in the batch (then ``partner[i] == i`` and the pair
    must not be used as a negative). Batched: sort by (class, random key), then pair
    each example with the next one of its class group, cyclically, which never maps
    an example to itself in a group of two or more.
    """
    n = y.numel()
    keys = torch.rand(n, generator=generator).to(y.device)
    order = torch.argsort(y.to(torch.float64) + keys.to(torch.float64))  # by class, then random
    sorted_y = y[order]
    num_classes = int(y.max().item()) + 1 if n else 0
    counts = torch.bincount(sorted_y, minlength=num_classes)
    starts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(n, device=y.device)
    group_start = starts[sorted_y]
    group_size = counts[sorted_y]
    nxt = group_start + (pos - group_start + 1) % group_size
    partner = torch.empty_like(order)
    partner[order] = order[nxt]
    valid = partner != torch.arange(n, device=y.device)
    return partner, valid


def cross_half_partners(y_a: Tensor, y_b: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Balanced ``seed`` pairs: for each i of half a, one image of half b of the same class and one of another.

    Returns ``(same, same_ok, other, other_ok)``: ``same[i]`` indexes a random example of
    half b with ``y_b == y_a[i]`` and ``other[i]`` one with ``y_b != y_a[i]``; ``*_ok`` is
    False where half b has no such example (that pair must not be used). With K
    classes only ~1/K of *random* cross-half pairs share a class, so a discriminator
    trained on them sits at the prior; these pairs are half same-class (docs/design.md, "One training step",
    docs/protocol.md). Batched: half b sorted by (class, random key), then one random
    draw per i inside (or outside) its class block.
    """
    n_b = y_b.numel()
    device = y_b.device
    keys = torch.rand(n_b, generator=generator).to(device)
    order = torch.argsort(y_b.to(torch.float64) + keys.to(torch.float64))
    num_classes = int(max(int(y_a.max()), int(y_b.max()))) + 1
    counts = torch.bincount(y_b, minlength=num_classes)
    starts = torch.cumsum(counts, 0) - counts
    count_a, start_a = counts[y_a], starts[y_a]
    u_same = torch.rand(y_a.numel(), generator=generator).to(device)
    u_other = torch.rand(y_a.numel(), generator=generator).to(device)
    same_pos = start_a + (u_same * count_a).long().clamp(max=(count_a - 1).clamp(min=0))
    n_other = n_b - count_a
    r = (u_other * n_other).long().clamp(max=(n_other - 1).clamp(min=0))
    other_pos = torch.where(r < start_a, r, r + count_a)  # skip the class's own block
    same = order[same_pos.clamp(max=n_b - 1)]
    other = order[other_pos.clamp(max=n_b - 1)]
    return same, count_a > 0, other, n_other > 0


def shared_batch_partners(y: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Balanced ``seed`` pairs inside one shared batch: for each i, another image of its class and one of another.

    Returns ``(same, same_ok, other, other_ok)`` as ``cross_half_partners`` does, with
    both members seeing the whole batch (pairing ``shared``). ``same[i]`` is never i:
    the pair (z_1(x_i), z_2(x_i)) is one image seen by both networks, which is what
    ``dice`` asks D about, not whether two images share a class. The same-class
    partners are a random derangement within each class (``same_class_partners``: every
    image is some image's partner once); ``same_ok`` is False for an image alone in its
    class. The other-class partners are uniform draws outside the class
    (``cross_half_partners`` with the batch as both halves); ``other_ok`` is False
    only when the batch holds one class.
    """
    same, same_ok = same_class_partners(y, generator)
    _, _, other, other_ok = cross_half_partners(y, y, generator)
    return same, same_ok, other, other_ok


def seed_partners(
    pairing: str, y_1: Tensor, y_2: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The ``seed`` partners of one batch under ``pairing``: (same, same_ok, other, other_ok).

    ``split``: z_1 of half a against z_2 of half b (``cross_half_partners``);
    ``shared``: both halves are the whole batch, so y_2 is y_1 (``shared_batch_partners``).
    """
    if pairing == "split":
        return cross_half_partners(y_1, y_2, generator)
    if pairing == "shared":
        return shared_batch_partners(y_1, generator)
    raise ValueError(f"no seed pairs for pairing {pairing!r}")


def seed_pair_batch(
    z_1: Tensor, z_2: Tensor, y_1: Tensor, y_2: Tensor, generator: torch.Generator, pairing: str
) -> tuple[Tensor, Tensor, Tensor]:
    """The balanced ``seed`` pairs of one batch under ``pairing``: (left reps, right reps, targets 1 = same class)."""
    same, same_ok, other, other_ok = seed_partners(pairing, y_1, y_2, generator)
    left = torch.cat([z_1[same_ok], z_1[other_ok]])
    right = torch.cat([z_2[same[same_ok]], z_2[other[other_ok]]])
    targets = torch.cat(
        [torch.ones(int(same_ok.sum()), device=z_1.device), torch.zeros(int(other_ok.sum()), device=z_1.device)]
    )
    return left, right, targets


def dice_adversarial_term(logits: Tensor, tau: float) -> Tensor:
    """The classifiers' DICE term: mean of tau * tanh(logit / tau) over positive pairs.

    Minimizing it pushes D to call the true pairs "not from the same input"; the
    tanh clips the logit at +-tau so a confident discriminator cannot blow it up.
    """
    return (tau * torch.tanh(logits.float() / tau)).mean()


class JointStep:
    """One training step for a pair of classifiers and (optionally) a discriminator."""

    def __init__(
        self,
        settings: StepSettings,
        net_1: nn.Module,
        net_2: nn.Module,
        classifier_optimizer: torch.optim.Optimizer,
        discriminator: nn.Module | None = None,
        disc_optimizer: torch.optim.Optimizer | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        spec = objective_spec(settings.objective)
        if spec.needs_discriminator and (discriminator is None or disc_optimizer is None):
            raise ValueError(f"objective {settings.objective!r} needs a discriminator and its optimizer")
        if settings.pairing not in spec.pairings:
            raise ValueError(f"objective {spec.name!r} needs pairing {spec.pairings_text()}, got {settings.pairing!r}")
        self.settings = settings
        self.net_1, self.net_2 = net_1, net_2
        self.classifier_optimizer = classifier_optimizer
        self.discriminator = discriminator if spec.needs_discriminator else None
        self.disc_optimizer = disc_optimizer
        # CPU generator: the within-class shuffle of dice negatives is reproducible and
        # its state is checkpointable whatever the device.
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)

    # ------------------------------------------------------------------ helpers
    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if self.settings.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.settings.autocast_dtype)

    def _disc_logits_and_targets(self, z_1: Tensor, z_2: Tensor, y_1: Tensor, y_2: Tensor) -> tuple[Tensor, Tensor]:
        """The discriminator's logits on its training pairs, and their targets."""
        disc = self.discriminator
        assert disc is not None
        if self.settings.objective == "seed":
            left, right, targets = seed_pair_batch(z_1, z_2, y_1, y_2, self.generator, self.settings.pairing)
            return disc(left, right).float(), targets
        if self.settings.objective != "dice":
            raise ValueError(f"no discriminator pairs for objective {self.settings.objective!r}")
        # dice: positives are the two views of the same input, negatives pair z_1(x_i)
        # with z_2(x_j) for another image x_j of the same class.
        y = y_1
        partner, valid = same_class_partners(y, self.generator)
        pos_logits = disc(z_1, z_2, y).float()
        neg_logits = disc(z_1[valid], z_2[partner[valid]], y[valid]).float()
        logits = torch.cat([pos_logits, neg_logits])
        targets = torch.cat([torch.ones_like(pos_logits), torch.zeros_like(neg_logits)])
        return logits, targets

    def _adversarial_term(self, z_1: Tensor, z_2: Tensor, y_1: Tensor, y_2: Tensor) -> Tensor:
        """A_k, shared by both classifiers; D's parameters are frozen around the call."""
        disc = self.discriminator
        assert disc is not None
        if self.settings.objective == "seed":
            # Fight only what D should not tell: on same-class pairs, push D towards
            # "different class". On different-class pairs a target of 0 would agree
            # with D (the thesis's all-pairs BCE-against-0), not oppose it.
            same, same_ok, _, _ = seed_partners(self.settings.pairing, y_1, y_2, self.generator)
            if not bool(same_ok.any()):
                return z_1.sum() * 0.0  # no same-class pair in this batch: no term
            logits = disc(z_1[same_ok], z_2[same[same_ok]]).float()
            return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
        if self.settings.objective == "dice":
            return dice_adversarial_term(disc(z_1, z_2, y_1), self.settings.dice_tau)
        raise ValueError(f"no adversarial term for objective {self.settings.objective!r}")

    # --------------------------------------------------------------------- step
    def __call__(self, x: Tensor, y: Tensor, x_2: Tensor | None = None, y_2: Tensor | None = None) -> StepResult:
        """One step on batch ``(x, y)``; with pairing ``separate``, ``(x_2, y_2)`` is member 2's own batch."""
        s = self.settings
        if s.pairing == "separate":
            if x_2 is None or y_2 is None:
                raise ValueError("pairing 'separate' needs the second member's own batch (x_2, y_2)")
            x_1, y_1 = x, y
        elif s.pairing == "split":
            half = x.shape[0] // 2
            x_1, y_1, x_2, y_2 = x[:half], y[:half], x[half : 2 * half], y[half : 2 * half]
        else:
            x_1, y_1, x_2, y_2 = x, y, x, y

        # 1. forward both classifiers
        with self._autocast(x.device):
            logits_1, z_1 = self.net_1(x_1)
            logits_2, z_2 = self.net_2(x_2)

        # 2. discriminator update on detached representations
        disc_loss: Tensor | None = None
        if self.discriminator is not None:
            assert self.disc_optimizer is not None
            z_1d, z_2d = z_1.detach(), z_2.detach()
            for _ in range(s.disc_steps):
                with self._autocast(x.device):
                    d_logits, d_targets = self._disc_logits_and_targets(z_1d, z_2d, y_1, y_2)
                disc_loss = F.binary_cross_entropy_with_logits(d_logits, d_targets)
                self.disc_optimizer.zero_grad(set_to_none=True)
                disc_loss.backward()
                self.disc_optimizer.step()

        # 3. classifier update: w_ce * CE + w_adv * A. Each classifier's own gradient
        # is w_ce * dCE_k + w_adv * dA/dtheta_k, so one backward of the sum gives both.
        ce = F.cross_entropy(logits_1.float(), y_1, label_smoothing=s.label_smoothing) + F.cross_entropy(
            logits_2.float(), y_2, label_smoothing=s.label_smoothing
        )
        loss = s.w_ce * ce
        if self.discriminator is not None and s.w_adv > 0:
            # Frozen, not merely left out of the optimizer: no gradient is computed for D.
            self.discriminator.requires_grad_(False)
            try:
                with self._autocast(x.device):
                    adv = self._adversarial_term(z_1, z_2, y_1, y_2)
            finally:
                self.discriminator.requires_grad_(True)
            loss = loss + s.w_adv * adv
        self.classifier_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.classifier_optimizer.step()
        return StepResult(
            classifier_loss=loss.detach() / 2, disc_loss=None if disc_loss is None else disc_loss.detach()
        )
