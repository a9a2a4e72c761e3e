"""``load_dataset``: a registered dataset's splits on the CPU, with a stable subset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from trainable.data.cache import load_cached
from trainable.data.sources import DATASETS
from trainable.data.types import DatasetInfo, Split

__all__ = [
    "DEFAULT_VAL_FRACTION",
    "ShippedDataset",
    "load_dataset",
    "load_shippable",
    "load_splits",
    "resolve_val_size",
    "split_validation",
    "stratified_subset",
]

# Fixed seed of the train_size subset order: the same train_size always picks the same images.
_SUBSET_SEED = 0
# Fixed seed of the validation split's order, apart from the subset's: the validation
# images depend on (dataset, val_size) alone.
_VALIDATION_SEED = 1
# val_size None: this share of the training split (digits: 135 of 1,347; Fashion-MNIST: 6,000).
DEFAULT_VAL_FRACTION = 0.1


def _stratified_order(labels: Tensor, seed: int = _SUBSET_SEED) -> Tensor:
    """An order of the examples whose every prefix is class-stratified.

    Within each class the examples are shuffled with a fixed seed; example j of a
    class with n members gets the rank (j + 0.5) / n, and sorting by rank interleaves
    the classes in proportion. So the first k examples hold each class's share of k
    (to within one), and a smaller subset is always part of a larger one.
    """
    y = labels.numpy()
    rng = np.random.default_rng(seed)
    rank = np.empty(len(y), dtype=np.float64)
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        rank[rng.permutation(members)] = (np.arange(len(members)) + 0.5) / len(members)
    # Ties (classes of equal size) are broken by class label, then index: stable and fixed.
    return torch.from_numpy(np.lexsort((np.arange(len(y)), y, rank)))


def stratified_subset(train: Split, train_size: int) -> Split:
    """The first ``train_size`` examples of the stratified order, in their original order."""
    if not 1 <= train_size <= len(train):
        raise ValueError(
            f"train_size must satisfy 1 <= train_size <= {len(train)} (the training split), "
            f"but got train_size={train_size}"
        )
    # Keep the original order, so train_size == len(train) gives the full split unchanged.
    chosen = _stratified_order(train.labels)[:train_size].sort().values
    return Split(train.images[chosen].contiguous(), train.labels[chosen].contiguous())


def resolve_val_size(num_train: int, val_size: int | None) -> int:
    """The validation split's size in examples: ``val_size``, or 10 % of the training split."""
    size = round(DEFAULT_VAL_FRACTION * num_train) if val_size is None else val_size
    if not 0 <= size < num_train:
        raise ValueError(
            f"val_size must satisfy 0 <= val_size < {num_train} (the training split), but got val_size={size}"
        )
    return size


def split_validation(train: Split, val_size: int) -> tuple[Split, Split | None]:
    """``(rest, validation)``: a class-stratified ``val_size`` images carved out of ``train``.

    The choice depends on the training split and ``val_size`` alone (a fixed seed), so
    a `train_size` subset taken from the rest afterwards never overlaps it. Both keep
    the original order. ``val_size`` 0 gives ``(train, None)``.
    """
    if val_size == 0:
        return train, None
    order = _stratified_order(train.labels, seed=_VALIDATION_SEED)
    val_index, rest_index = order[:val_size].sort().values, order[val_size:].sort().values
    validation = Split(train.images[val_index].contiguous(), train.labels[val_index].contiguous())
    return Split(train.images[rest_index].contiguous(), train.labels[rest_index].contiguous()), validation


def load_dataset(
    name: str,
    data_dir: str | None = None,
    train_size: int | None = None,
    download: bool = True,
    val_size: int | None = 0,
) -> tuple[DatasetInfo, Split, Split]:
    """Load ``(info, train, test)`` on the CPU, reading the cache when it exists.

    ``train_size`` keeps a deterministic, class-stratified subset of the training
    split (the same images for the same ``train_size``, whatever else changes); the
    test split is always complete. ``info.mean``/``info.std`` describe the full
    training split, so normalization does not change with ``train_size``.
    ``val_size`` (None: 10 %) images are left out of the returned training split first
    (``split_validation``); ``load_splits`` returns them.
    """
    info, train, _, test = load_splits(name, data_dir, train_size, val_size, download)
    return info, train, test


@dataclass(frozen=True)
class ShippedDataset:
    """A dataset's decoded splits as one process read them, to hand to trials elsewhere.

    The sweep's driver reads the dataset once and Ray's object store carries this to
    every trial (``trainable.tune_function``), so a worker node needs no dataset files
    and no network. ``name`` and ``data_dir`` say which trial settings it serves.
    """

    name: str
    data_dir: str | None
    train: Split  # the whole training split (validation not yet carved out)
    test: Split
    mean: tuple[float, ...]  # per channel, of the whole training split, in [0, 1] units
    std: tuple[float, ...]
    num_classes: int
    flip_ok: bool

    def serves(self, name: str, data_dir: str | None) -> bool:
        return (name, data_dir) == (self.name, self.data_dir)

    @property
    def nbytes(self) -> int:
        tensors = (self.train.images, self.train.labels, self.test.images, self.test.labels)
        return sum(t.numel() * t.element_size() for t in tensors)


def load_shippable(name: str, data_dir: str | None = None, download: bool = True) -> ShippedDataset:
    """Read (or download, then cache) dataset ``name`` whole, as a ``ShippedDataset``."""
    source = DATASETS.create(name, data_dir=data_dir, download=download)
    train, test, mean, std = load_cached(name, source)
    return ShippedDataset(name, data_dir, train, test, tuple(mean), tuple(std), source.num_classes, source.flip_ok)


def load_splits(
    name: str,
    data_dir: str | None = None,
    train_size: int | None = None,
    val_size: int | None = None,
    download: bool = True,
    shipped: ShippedDataset | None = None,
) -> tuple[DatasetInfo, Split, Split | None, Split]:
    """``(info, train, validation, test)``; validation is None when ``val_size`` is 0.

    ``shipped``: the dataset as the driver read it; used instead of the files when it
    serves ``(name, data_dir)``, so the same images are chosen either way.
    """
    data = (
        shipped if shipped is not None and shipped.serves(name, data_dir) else load_shippable(name, data_dir, download)
    )
    train, validation = split_validation(data.train, resolve_val_size(len(data.train), val_size))
    if train_size is not None:
        train = stratified_subset(train, train_size)
    _, channels, height, width = train.images.shape
    info = DatasetInfo(
        name=name,
        channels=int(channels),
        height=int(height),
        width=int(width),
        num_classes=data.num_classes,
        flip_ok=data.flip_ok,
        mean=data.mean,
        std=data.std,
    )
    return info, train, validation, data.test
