"""Image classifiers that also return their internal representation.

Every classifier maps a float image batch in [0, 1] to ``(logits, z)``: the class
logits and the representation z that the discriminator compares (docs/design.md, "One training step":
f = h(g(x)), z = g(x)). Input normalization lives inside the model as buffers, so a
saved state dict is all that is needed to use a trained network again.

Two architectures are registered:

- ``simple3``: the thesis net (three conv blocks, an MLP head).
- ``fast``: a small net in the style of the CIFAR-10 speed records (airbench), meant
  to be trained for a few epochs with channels_last and half precision.

Both take the input geometry from their arguments, so the same name works for 8x8
digits, 28x28 Fashion-MNIST and 32x32 CIFAR-10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from trainable.registry import Registry

__all__ = [
    "Classifier",
    "FastNet",
    "Simple3",
    "classifier_names",
    "create_classifier",
]

_CLASSIFIERS: Registry[Classifier] = Registry("classifier")

# No layer gets fewer channels than this, however small ``width`` is: below ~8
# channels BatchNorm statistics get noisy and the nets stop learning on CIFAR.
_MIN_CHANNELS = 8


def _scaled(channels: int, width: float) -> int:
    """``channels * width``, rounded, but never below ``_MIN_CHANNELS``."""
    return max(_MIN_CHANNELS, int(round(channels * width)))


def _pooled(size: int) -> int:
    """Spatial size after a 2x2 max-pool with ``ceil_mode=True`` (odd sizes keep their edge)."""
    return (size + 1) // 2


def _maybe_pool(size: int) -> tuple[nn.Module, int]:
    """A 2x2 max-pool, or the identity once the map is 1x1 (so tiny inputs still work)."""
    if size > 1:
        return nn.MaxPool2d(2, ceil_mode=True), _pooled(size)
    return nn.Identity(), size


class Classifier(nn.Module):
    """Base class: normalizes the input, returns ``(logits [B, K], z [B, *representation_shape])``.

    Subclasses implement :meth:`features` (normalized image -> feature map),
    :meth:`pre_logits` (feature map -> penultimate vector) and :meth:`logits`
    (penultimate vector -> logits), and set ``feature_map_shape`` and
    ``penultimate_size``. ``representation`` chooses which one is returned as z (what
    the discriminator sees): the last conv feature map (``last_conv``) or the
    penultimate vector (``penultimate``, the input of the last linear layer).
    """

    REPRESENTATIONS = ("last_conv", "penultimate")
    feature_map_shape: tuple[int, ...]
    penultimate_size: int

    input_mean: Tensor
    input_std: Tensor

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: int,
        num_classes: int,
        mean: Sequence[float],
        std: Sequence[float],
        width: float,
        representation: str = "last_conv",
    ) -> None:
        super().__init__()
        _check_geometry(in_channels, image_size, num_classes, mean, std, width)
        if representation not in self.REPRESENTATIONS:
            raise ValueError(f"representation must be one of {', '.join(self.REPRESENTATIONS)}, got {representation!r}")
        self.representation = representation
        self.in_channels = in_channels
        self.image_size = image_size
        self.num_classes = num_classes
        self.width = width
        # Buffers (not constants) so they travel with the state dict and with .to(device).
        self.register_buffer("input_mean", torch.tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("input_std", torch.tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def normalize(self, x: Tensor) -> Tensor:
        # Cast the buffers rather than the input, so half-precision inputs stay half.
        return (x - self.input_mean.to(x.dtype)) / self.input_std.to(x.dtype)

    def features(self, x: Tensor) -> Tensor:  # normalized image -> representation z
        raise NotImplementedError

    def pre_logits(self, z: Tensor) -> Tensor:  # feature map -> penultimate vector [B, D]
        raise NotImplementedError

    def logits(self, v: Tensor) -> Tensor:  # penultimate vector -> logits [B, K]
        raise NotImplementedError

    def head(self, z: Tensor) -> Tensor:
        """Feature map -> logits."""
        return self.logits(self.pre_logits(z))

    @property
    def representation_shape(self) -> tuple[int, ...]:  # type: ignore[override]
        """The shape of z per example: the feature map's, or (penultimate_size,)."""
        if self.representation == "penultimate":
            return (self.penultimate_size,)
        return self.feature_map_shape

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"input must be [B, {self.in_channels}, H, W] (this classifier was built for "
                f"{self.in_channels} channels), got shape {tuple(x.shape)}"
            )
        z = self.features(self.normalize(x))
        v = self.pre_logits(z)
        return self.logits(v), (v if self.representation == "penultimate" else z)


def _check_geometry(
    in_channels: int,
    image_size: int,
    num_classes: int,
    mean: Sequence[float],
    std: Sequence[float],
    width: float,
) -> None:
    problems: list[str] = []
    if in_channels < 1:
        problems.append(f"in_channels must be >= 1, got {in_channels}")
    if image_size < 1:
        problems.append(f"image_size must be >= 1, got {image_size}")
    if num_classes < 2:
        problems.append(f"num_classes must be >= 2, got {num_classes}")
    if not (width > 0 and math.isfinite(width)):
        problems.append(f"width must be a finite number > 0, got {width}")
    if len(mean) != in_channels or len(std) != in_channels:
        problems.append(
            f"mean and std need one value per input channel ({in_channels}), got mean={tuple(mean)}, std={tuple(std)}"
        )
    if any(not s > 0 for s in std):
        problems.append(f"std values must all be > 0, got {tuple(std)}")
    if problems:
        raise ValueError("; ".join(problems))


def _conv_bn_relu(c_in: int, c_out: int) -> list[nn.Module]:
    # No conv bias: the BatchNorm right after it has its own shift.
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


@_CLASSIFIERS.register("simple3")
class Simple3(Classifier):
    """The thesis net: three conv blocks and an MLP head.

    Block k is conv3x3-BN-ReLU twice, a 2x2 max-pool and dropout; the channels are
    (32, 64), (128, 128), (256, 256), times ``width``. The head is
    flatten -> 1024 -> 512 -> classes with ReLU and dropout; its hidden sizes are
    scaled by ``width`` too, so ``width`` sizes the whole net (1.0 is the thesis's).
    z is the feature map after the last block, [256*width, s, s] with
    s = image_size halved three times (rounding up): 1 for 8x8, 4 for 28x28 and 32x32.
    """

    block_channels: tuple[tuple[int, int], ...] = ((32, 64), (128, 128), (256, 256))
    head_units: tuple[int, int] = (1024, 512)
    block_dropout = 0.1  # "light": the pools and BN already regularize the conv part
    head_dropout = 0.3  # the dense head holds most of the parameters, so it gets more

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: int,
        num_classes: int,
        mean: Sequence[float],
        std: Sequence[float],
        width: float = 1.0,
        representation: str = "last_conv",
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            image_size=image_size,
            num_classes=num_classes,
            mean=mean,
            std=std,
            width=width,
            representation=representation,
        )
        layers: list[nn.Module] = []
        c_prev, size = in_channels, image_size
        for c_a, c_b in self.block_channels:
            c_a, c_b = _scaled(c_a, width), _scaled(c_b, width)
            pool, size = _maybe_pool(size)
            layers += _conv_bn_relu(c_prev, c_a) + _conv_bn_relu(c_a, c_b)
            layers += [pool, nn.Dropout(self.block_dropout)]
            c_prev = c_b
        self.body = nn.Sequential(*layers)
        self.feature_map_shape = (c_prev, size, size)

        h1, h2 = (_scaled(u, width) for u in self.head_units)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(self.feature_map_shape), h1),
            nn.ReLU(inplace=True),
            nn.Dropout(self.head_dropout),
            nn.Linear(h1, h2),
            nn.ReLU(inplace=True),
            nn.Dropout(self.head_dropout),
            nn.Linear(h2, num_classes),
        )
        self.penultimate_size = h2

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def pre_logits(self, z: Tensor) -> Tensor:
        return self.classifier[:-1](z)

    def logits(self, v: Tensor) -> Tensor:
        return self.classifier[-1](v)


class _ShiftOnlyBatchNorm(nn.BatchNorm2d):
    """BatchNorm whose scale is fixed at 1 and only the shift is learned.

    The speed-record nets do this: the next conv can absorb any per-channel scale,
    so a learnable one only adds a direction for weight decay to fight over. The
    running statistics move fast (momentum 0.4) because runs are a few epochs long
    and slow statistics would lag the weights at evaluation time.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(channels, momentum=0.4)
        self.weight.requires_grad_(False)


class _FastBlock(nn.Module):
    """conv3x3 -> 2x2 max-pool -> BN -> GELU -> conv3x3 -> BN -> GELU.

    Pooling straight after the first conv (before its BN and activation) is the
    speed-record order: BN and GELU then run on a quarter of the pixels.
    """

    def __init__(self, c_in: int, c_out: int, size: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.pool, self.out_size = _maybe_pool(size)
        self.norm1 = _ShiftOnlyBatchNorm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.norm2 = _ShiftOnlyBatchNorm(c_out)
        self.act = nn.GELU()

    def forward(self, x: Tensor) -> Tensor:
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return self.act(self.norm2(self.conv2(x)))


@_CLASSIFIERS.register("fast")
class FastNet(Classifier):
    """A small, fast net in the style of the CIFAR-10 speed records.

    A 3x3 stem conv (32*width channels), then three blocks (64, 256, 256 channels,
    times ``width``), each halving the map once; a global max-pool and a bias-free
    linear layer whose output is multiplied by ``logit_scale``. z is the last block's
    feature map, [256*width, s, s] (s = 1 for 8x8 inputs, 4 for 28x28 and 32x32).
    Every layer works in ``channels_last`` memory format.
    """

    stem_channels = 32
    block_channels: tuple[int, int, int] = (64, 256, 256)
    # Fixed logit temperature: keeps the initial logits small so the first steps at a
    # high learning rate do not saturate the softmax; the lr schedule is tuned to it.
    logit_scale = 1.0 / 9.0

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: int,
        num_classes: int,
        mean: Sequence[float],
        std: Sequence[float],
        width: float = 1.0,
        representation: str = "last_conv",
    ) -> None:
        super().__init__(
            in_channels=in_channels,
            image_size=image_size,
            num_classes=num_classes,
            mean=mean,
            std=std,
            width=width,
            representation=representation,
        )
        c_stem = _scaled(self.stem_channels, width)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False),
            _ShiftOnlyBatchNorm(c_stem),
            nn.GELU(),
        )
        blocks: list[nn.Module] = []
        c_prev, size = c_stem, image_size
        for c in self.block_channels:
            block = _FastBlock(c_prev, _scaled(c, width), size)
            blocks.append(block)
            c_prev, size = _scaled(c, width), block.out_size
        self.blocks = nn.Sequential(*blocks)
        self.feature_map_shape = (c_prev, size, size)
        self.penultimate_size = c_prev
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.linear = nn.Linear(c_prev, num_classes, bias=False)

    def features(self, x: Tensor) -> Tensor:
        return self.blocks(self.stem(x))

    def pre_logits(self, z: Tensor) -> Tensor:
        return torch.flatten(self.pool(z), 1)

    def logits(self, v: Tensor) -> Tensor:
        return self.linear(v) * self.logit_scale


def create_classifier(
    name: str,
    *,
    in_channels: int,
    image_size: int,
    num_classes: int,
    mean: Sequence[float],
    std: Sequence[float],
    width: float = 1.0,
    representation: str = "last_conv",
) -> Classifier:
    """Build the classifier registered as ``name`` for the given input geometry.

    Raises ``UnknownNameError`` (listing the known names) for an unknown ``name`` and
    ``ValueError`` for a bad geometry.
    """
    factory = _CLASSIFIERS.get(name)
    return factory(
        in_channels=in_channels,
        image_size=image_size,
        num_classes=num_classes,
        mean=tuple(mean),
        std=tuple(std),
        width=width,
        representation=representation,
    )


def classifier_names() -> list[str]:
    """The registered classifier names, sorted."""
    return _CLASSIFIERS.names()
