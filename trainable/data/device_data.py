"""Both splits resident on one device; every batch made with a few batched tensor ops.

One gather does the random translate and the horizontal flip for the whole batch,
so batch preparation costs a small fraction of a training step (the airbench
recipe; no per-sample ``DataLoader`` in the hot loop).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from trainable.data.types import DatasetInfo, Split

__all__ = ["DeviceData"]


def _reflect(index: Tensor, size: int) -> Tensor:
    """Map indices in [-(size-1), 2*(size-1)] into [0, size) by reflection (edge not repeated)."""
    last = size - 1
    return last - (last - index.abs()).abs()


class DeviceData:
    """Train/test tensors resident on one device; batches made with batched tensor ops."""

    def __init__(
        self,
        info: DatasetInfo,
        train: Split,
        test: Split,
        device: torch.device,
        augment: bool = True,
        validation: Split | None = None,
    ) -> None:
        self.info = info
        self.device = torch.device(device)
        self.augment = augment
        # Translate by up to 1/16 of the image: 2 px on 32x32 (the CIFAR standard), 1 px on 8x8.
        self.pad = max(1, round(info.height / 16))
        if self.pad >= min(info.height, info.width):
            raise ValueError(
                f"images must be larger than the translate pad {self.pad}, but got {info.height}x{info.width}"
            )
        self.train_images = train.images.to(self.device).contiguous()
        self.train_labels = train.labels.to(self.device)
        self.test_images = test.images.to(self.device).contiguous()
        self.test_labels = test.labels.to(self.device)
        # The validation split (None without one): what a sweep trial is scored on.
        self.val_images = validation.images.to(self.device).contiguous() if validation is not None else None
        self.val_labels = validation.labels.to(self.device) if validation is not None else None
        self._rows = torch.arange(info.height, device=self.device)
        self._cols = torch.arange(info.width, device=self.device)

    @property
    def num_train(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_labels.shape[0])

    def steps_per_epoch(self, batch_size: int) -> int:
        """Full batches per epoch (the last partial batch is dropped)."""
        if not 1 <= batch_size <= self.num_train:
            raise ValueError(
                f"batch_size must satisfy 1 <= batch_size <= {self.num_train} (training "
                f"examples), but got batch_size={batch_size}"
            )
        return self.num_train // batch_size

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        """One shuffled, augmented epoch of ``(x float32 [B, C, H, W] in [0, 1], y int64)``.

        All random numbers of the epoch are drawn from ``generator`` (on the CPU, so its
        state is checkpointable and the same on every device) when the epoch starts, in
        a fixed order: permutation, shifts, flips.
        """
        if generator.device.type != "cpu":
            raise ValueError(f"generator must live on the CPU, but got device={generator.device}")
        steps = self.steps_per_epoch(batch_size)
        used = steps * batch_size
        order = torch.randperm(self.num_train, generator=generator)[:used].to(self.device)
        shifts = flips = None
        if self.augment:
            shifts = torch.randint(-self.pad, self.pad + 1, (used, 2), generator=generator).to(self.device)
            if self.info.flip_ok:
                flips = torch.randint(0, 2, (used,), generator=generator, dtype=torch.bool).to(self.device)
        for step in range(steps):
            window = slice(step * batch_size, (step + 1) * batch_size)
            index = order[window]
            if shifts is None:
                images = self.train_images[index]
            else:
                images = self._translate_flip(index, shifts[window], None if flips is None else flips[window])
            yield images.float().div_(255.0), self.train_labels[index]

    def _translate_flip(self, index: Tensor, shifts: Tensor, flips: Tensor | None) -> Tensor:
        """Gather a batch shifted by ``shifts`` (dy, dx) with reflect padding, then mirrored.

        out[b, c, i, j] = image[b, c, R(i - dy), R(j' - dx)], j' = W-1-j where flipped,
        so content moves down/right by (dy, dx). One gather over the flattened pixels,
        with one [B, H*W] source index shared by all channels, does it for the whole
        batch (no padded copy, no loop; ~1.5x the cost of plain indexing on the CPU,
        where a 4-tensor advanced index or two gathers cost 3-4x).
        """
        batch = index.shape[0]
        height, width = self.info.height, self.info.width
        cols = self._cols.expand(batch, width)
        if flips is not None:
            cols = torch.where(flips[:, None], width - 1 - cols, cols)
        rows = _reflect(self._rows[None, :] - shifts[:, :1], height)  # [B, H]
        cols = _reflect(cols - shifts[:, 1:], width)  # [B, W]
        source = (rows[:, :, None] * width + cols[:, None, :]).view(batch, 1, height * width)
        images = self.train_images[index].view(batch, self.info.channels, height * width)
        gathered = images.gather(2, source.expand(batch, self.info.channels, height * width))
        return gathered.view(batch, self.info.channels, height, width)

    @property
    def has_validation(self) -> bool:
        return self.val_labels is not None

    def test_batches(self, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """The test split in order, without augmentation, including the last partial batch."""
        return self.eval_batches("test", batch_size)

    def eval_batches(self, split: str, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """``split`` ("validation", "test" or "train") in order, unaugmented, the last partial batch included."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, but got batch_size={batch_size}")
        if split == "test":
            images, labels = self.test_images, self.test_labels
        elif split == "train":  # unaugmented, in order (the probe's features without validation)
            images, labels = self.train_images, self.train_labels
        elif split == "validation" and self.val_images is not None and self.val_labels is not None:
            images, labels = self.val_images, self.val_labels
        else:
            raise ValueError(f"no {split!r} split here (validation exists: {self.has_validation})")
        for start in range(0, int(labels.shape[0]), batch_size):
            stop = start + batch_size
            yield images[start:stop].float().div_(255.0), labels[start:stop]
