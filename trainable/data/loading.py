"""``load_dataset``: a registered dataset's splits on the CPU, with a stable subset."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from trainable.data.cache import load_cached
from trainable.data.sources import DATASETS
from trainable.data.types import DatasetInfo, Split

__all__ = ["load_dataset", "stratified_subset"]

# Fixed seed of the train_size subset order: the same train_size always picks the same images.
_SUBSET_SEED = 0


def _stratified_order(labels: Tensor) -> Tensor:
    """An order of the examples whose every prefix is class-stratified.

    Within each class the examples are shuffled with a fixed seed; example j of a
    class with n members gets the rank (j + 0.5) / n, and sorting by rank interleaves
    the classes in proportion. So the first k examples hold each class's share of k
    (to within one), and a smaller subset is always part of a larger one.
    """
    y = labels.numpy()
    rng = np.random.default_rng(_SUBSET_SEED)
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


def load_dataset(
    name: str,
    data_dir: str | None = None,
    train_size: int | None = None,
    download: bool = True,
) -> tuple[DatasetInfo, Split, Split]:
    """Load ``(info, train, test)`` on the CPU, reading the cache when it exists.

    ``train_size`` keeps a deterministic, class-stratified subset of the training
    split (the same images for the same ``train_size``, whatever else changes); the
    test split is always complete. ``info.mean``/``info.std`` describe the full
    training split, so normalization does not change with ``train_size``.
    """
    source = DATASETS.create(name, data_dir=data_dir, download=download)
    train, test, mean, std = load_cached(name, source)
    if train_size is not None:
        train = stratified_subset(train, train_size)
    _, channels, height, width = train.images.shape
    info = DatasetInfo(
        name=name,
        channels=int(channels),
        height=int(height),
        width=int(width),
        num_classes=source.num_classes,
        flip_ok=source.flip_ok,
        mean=mean,
        std=std,
    )
    return info, train, test
