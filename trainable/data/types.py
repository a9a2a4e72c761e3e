"""The plain types of the data package: splits, dataset facts, located sources, errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["DatasetInfo", "DatasetMissingError", "Source", "Split", "cache_dir", "split_from_numpy"]


class DatasetMissingError(Exception):
    """A dataset's files are not where they should be and could not be downloaded."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset's images and labels."""

    name: str
    channels: int
    height: int  # pixels
    width: int  # pixels
    num_classes: int
    flip_ok: bool  # a mirrored image is still an image of its class (not so for digits)
    mean: tuple[float, ...]  # per channel, of the full training split, in [0, 1] units
    std: tuple[float, ...]  # per channel, of the full training split, in [0, 1] units


@dataclass(frozen=True)
class Split:
    """One split: uint8 images ``[N, C, H, W]`` and int64 labels ``[N]``."""

    images: Tensor
    labels: Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(
                "Split.images must be uint8 [N, C, H, W], but got "
                f"dtype={self.images.dtype}, shape={tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(
                f"Split.labels must be int64 [N] with N={self.images.shape[0]}, but got "
                f"dtype={self.labels.dtype}, shape={tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Source:
    """A located dataset: ``key`` names exactly what ``read`` will read (the cache key)."""

    key: str
    num_classes: int
    flip_ok: bool
    read: Callable[[], tuple[Split, Split]]


def split_from_numpy(images: np.ndarray, labels: np.ndarray) -> Split:
    """A ``Split`` from uint8 ``[N, C, H, W]`` images and integer labels."""
    return Split(
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)),
        torch.from_numpy(np.asarray(labels, dtype=np.int64)),
    )


def cache_dir() -> Path:
    """netsep's cache folder: ``$NETSEP_CACHE_DIR``, else ``~/.cache/netsep``."""
    configured = os.environ.get("NETSEP_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "netsep"
