"""Siamese discriminators over pairs of classifier representations.

A discriminator D(z1, z2[, y]) returns one logit per pair (docs/design.md, "One training step"). All are
Siamese: one shared tower phi maps z1 and z2 to feature vectors, a combine rule
merges them, and a small head MLP (optionally also fed a learned embedding of the
class y, as DICE conditions its discriminator on the class) gives the logit.

Registered towers:

- ``siamese_pool``: conv3x3 + ReLU + 2x2 max-pool, ``depth`` times, then flatten
  (Koch et al. 2015; the thesis's first discriminator).
- ``siamese_strided``: stride-1 conv3x3 + BatchNorm + LeakyReLU(0.2), ``depth``
  times, no pooling, then global average pool (the thesis's second; the thesis drew
  its weights with the DCGAN init, ``init="dcgan"``).
- ``mlp``: global average pool of the feature map, then ``depth`` Linear + ReLU
  layers. The cheap one. On a (C, H, W) map it sees the C channel means only.
- ``mlp_flat``: the same MLP tower on the whole representation flattened (C*H*W
  inputs): every feature the classifier's head reads, where it is. On a vector it is
  ``mlp``.

Combine rules (``combine``):

- ``absdiff`` (default): |phi(z1) - phi(z2)|. Symmetric: D(z1, z2) == D(z2, z1).
- ``product``: phi(z1) * phi(z2). Symmetric.
- ``concat``: [phi(z1), phi(z2), |phi(z1) - phi(z2)|, phi(z1) * phi(z2)]. The head
  sees which side is which, so D is *not* symmetric; it can learn anything the two
  symmetric rules can, at four times the head input.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from trainable.registry import Registry

__all__ = [
    "COMBINES",
    "INITS",
    "Discriminator",
    "FlatMLPDiscriminator",
    "MLPDiscriminator",
    "SiamesePool",
    "SiameseStrided",
    "create_discriminator",
    "dcgan_init_",
    "discriminator_names",
]

COMBINES: tuple[str, ...] = ("absdiff", "concat", "product")
INITS: tuple[str, ...] = ("default", "dcgan")

_DISCRIMINATORS: Registry[Discriminator] = Registry("discriminator")

M = TypeVar("M", bound=nn.Module)


def dcgan_init_(module: M) -> M:
    """Re-draw weights in place the DCGAN way; returns ``module``.

    Conv and linear weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02), all their
    biases 0 (Radford et al. 2016, as the thesis used it). Embeddings keep PyTorch's
    N(0, 1): they are inputs to the head, not weights that DCGAN's rule is about.
    """
    for m in module.modules():
        if isinstance(m, (_ConvNd, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def _pooled(size: int) -> int:
    """Spatial size after a 2x2 max-pool with ``ceil_mode=True``."""
    return (size + 1) // 2


class Discriminator(nn.Module):
    """Shared tower, combine rule, optional class embedding, head MLP -> logit [B].

    Subclasses build the tower ``phi`` (a module mapping [B, *rep_shape] to
    [B, feature_dim]) and pass it here.
    """

    def __init__(
        self,
        tower: nn.Module,
        feature_dim: int,
        *,
        rep_shape: tuple[int, ...],
        width: int,
        init: str,
        combine: str,
        num_classes: int | None,
    ) -> None:
        super().__init__()
        self.rep_shape = tuple(rep_shape)
        self.combine = combine
        self.num_classes = num_classes
        self.tower = tower
        head_in = feature_dim * (4 if combine == "concat" else 1)
        if num_classes is not None:
            # The class goes in next to the pair's features, so D can judge "same
            # beyond the class" (DICE) instead of rediscovering the class itself.
            self.class_embedding: nn.Embedding | None = nn.Embedding(num_classes, width)
            head_in += width
        else:
            self.class_embedding = None
        self.head = nn.Sequential(nn.Linear(head_in, width), nn.ReLU(inplace=True), nn.Linear(width, 1))
        if init == "dcgan":
            dcgan_init_(self)

    def _combine(self, h1: Tensor, h2: Tensor) -> Tensor:
        if self.combine == "absdiff":
            return (h1 - h2).abs()
        if self.combine == "product":
            return h1 * h2
        return torch.cat([h1, h2, (h1 - h2).abs(), h1 * h2], dim=1)

    def forward(self, z1: Tensor, z2: Tensor, y: Tensor | None = None) -> Tensor:
        if z1.shape != z2.shape or tuple(z1.shape[1:]) != self.rep_shape:
            raise ValueError(
                f"z1 and z2 must both be [B, {', '.join(map(str, self.rep_shape))}] "
                f"(the rep_shape this discriminator was built for), got {tuple(z1.shape)} and {tuple(z2.shape)}"
            )
        if (y is None) != (self.class_embedding is None):
            raise ValueError(
                "y (the class of each pair) must be given exactly when the discriminator has a class "
                f"embedding (num_classes={self.num_classes}), got y={'None' if y is None else 'a tensor'}"
            )
        # One tower call on both sides: half the kernel launches, and BatchNorm in
        # training mode normalizes both sides with the same statistics, which keeps
        # the symmetric combine rules symmetric.
        h = self.tower(torch.cat([z1, z2], dim=0))
        h1, h2 = h.chunk(2, dim=0)
        features = self._combine(h1, h2)
        if self.class_embedding is not None and y is not None:  # both or neither, checked above
            features = torch.cat([features, self.class_embedding(y).to(features.dtype)], dim=1)
        return self.head(features).squeeze(1)


def _spatial(rep_shape: tuple[int, ...], name: str) -> tuple[int, int, int]:
    if len(rep_shape) != 3:
        raise ValueError(
            f"discriminator {name!r} convolves over a feature map, so rep_shape must be (C, H, W), "
            f"got {tuple(rep_shape)}"
        )
    c, h, w = rep_shape
    return c, h, w


@_DISCRIMINATORS.register("siamese_pool")
class SiamesePool(Discriminator):
    """Tower: (conv3x3 -> ReLU -> 2x2 max-pool) x depth, then flatten.

    Pooling stops once the map is 1x1, so any depth works on small maps.
    """

    def __init__(
        self,
        *,
        rep_shape: tuple[int, ...],
        width: int,
        depth: int,
        init: str,
        combine: str,
        num_classes: int | None,
    ) -> None:
        c, h, w = _spatial(rep_shape, "siamese_pool")
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.ReLU(inplace=True)]
            if h > 1 or w > 1:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
                h, w = _pooled(h), _pooled(w)
            c = width
        layers.append(nn.Flatten())
        super().__init__(
            nn.Sequential(*layers),
            width * h * w,
            rep_shape=rep_shape,
            width=width,
            init=init,
            combine=combine,
            num_classes=num_classes,
        )


@_DISCRIMINATORS.register("siamese_strided")
class SiameseStrided(Discriminator):
    """Tower: (stride-1 conv3x3 -> BatchNorm -> LeakyReLU(0.2)) x depth, global average pool.

    The thesis's DCGAN-inspired variant: no pooling layers inside the tower.
    """

    def __init__(
        self,
        *,
        rep_shape: tuple[int, ...],
        width: int,
        depth: int,
        init: str,
        combine: str,
        num_classes: int | None,
    ) -> None:
        c, _, _ = _spatial(rep_shape, "siamese_strided")
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [
                nn.Conv2d(c, width, 3, stride=1, padding=1, bias=False),  # BN supplies the shift
                nn.BatchNorm2d(width),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        super().__init__(
            nn.Sequential(*layers),
            width,
            rep_shape=rep_shape,
            width=width,
            init=init,
            combine=combine,
            num_classes=num_classes,
        )


class _GlobalAvgPool(nn.Module):
    """Mean over every dimension after the channel one; vectors pass through."""

    def forward(self, z: Tensor) -> Tensor:
        return z.flatten(2).mean(dim=2) if z.dim() > 2 else z


def _mlp_layers(first: nn.Module, inputs: int, width: int, depth: int) -> nn.Sequential:
    """``first`` (the map to a vector of ``inputs``), then (Linear -> ReLU) x depth."""
    layers: list[nn.Module] = [first]
    for _ in range(depth):
        layers += [nn.Linear(inputs, width), nn.ReLU(inplace=True)]
        inputs = width
    return nn.Sequential(*layers)


def _vector_or_map(rep_shape: tuple[int, ...], name: str) -> None:
    if len(rep_shape) not in (1, 3):
        raise ValueError(f"discriminator {name!r} needs rep_shape (C,) or (C, H, W), got {tuple(rep_shape)}")


@_DISCRIMINATORS.register("mlp")
class MLPDiscriminator(Discriminator):
    """Tower: global average pool, then (Linear -> ReLU) x depth. Accepts (C,) or (C, H, W)."""

    def __init__(
        self,
        *,
        rep_shape: tuple[int, ...],
        width: int,
        depth: int,
        init: str,
        combine: str,
        num_classes: int | None,
    ) -> None:
        _vector_or_map(rep_shape, "mlp")
        super().__init__(
            _mlp_layers(_GlobalAvgPool(), rep_shape[0], width, depth),
            width,
            rep_shape=rep_shape,
            width=width,
            init=init,
            combine=combine,
            num_classes=num_classes,
        )


@_DISCRIMINATORS.register("mlp_flat")
class FlatMLPDiscriminator(Discriminator):
    """Tower: flatten (C*H*W, no pooling), then (Linear -> ReLU) x depth. Accepts (C,) or (C, H, W).

    The un-pooled view: the first layer reads each channel at each position, as the
    classifier's head does, so D can use where a feature fires, not only how much.
    Its first layer has H*W times the ``mlp`` tower's weights (64x4x4 -> 64: 65,600).
    """

    def __init__(
        self,
        *,
        rep_shape: tuple[int, ...],
        width: int,
        depth: int,
        init: str,
        combine: str,
        num_classes: int | None,
    ) -> None:
        _vector_or_map(rep_shape, "mlp_flat")
        super().__init__(
            _mlp_layers(nn.Flatten(), math.prod(rep_shape), width, depth),
            width,
            rep_shape=rep_shape,
            width=width,
            init=init,
            combine=combine,
            num_classes=num_classes,
        )


def create_discriminator(
    name: str,
    *,
    rep_shape: tuple[int, ...],
    width: int = 64,
    depth: int = 2,
    init: str = "default",
    combine: str = "absdiff",
    num_classes: int | None = None,
) -> Discriminator:
    """Build the discriminator registered as ``name`` for representations of ``rep_shape``.

    ``num_classes`` given: the head also sees a learned embedding of the class, and
    ``forward`` then requires ``y``. Raises ``UnknownNameError`` for an unknown name
    and ``ValueError`` (stating each broken rule) for bad arguments.
    """
    factory = _DISCRIMINATORS.get(name)
    problems: list[str] = []
    if init not in INITS:
        problems.append(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if combine not in COMBINES:
        problems.append(f"combine must be one of {', '.join(COMBINES)}, got {combine!r}")
    if width < 1:
        problems.append(f"width must be >= 1, got {width}")
    if depth < 1:
        problems.append(f"depth must be >= 1, got {depth}")
    if num_classes is not None and num_classes < 1:
        problems.append(f"num_classes must be >= 1 or None, got {num_classes}")
    if len(rep_shape) == 0 or any(d < 1 for d in rep_shape):
        problems.append(f"rep_shape must be non-empty with every size >= 1, got {tuple(rep_shape)}")
    if problems:
        raise ValueError("; ".join(problems))
    return factory(
        rep_shape=tuple(int(d) for d in rep_shape),
        width=width,
        depth=depth,
        init=init,
        combine=combine,
        num_classes=num_classes,
    )


def discriminator_names() -> list[str]:
    """The registered discriminator names, sorted."""
    return _DISCRIMINATORS.names()
