"""Datasets as uint8 tensors, cached once, then held on the trial's device (docs/design.md, "The machines it is built on").

``load_dataset(name)`` returns ``(info, train, test)``: the images as uint8
``[N, C, H, W]`` and the labels as int64 ``[N]``, on the CPU. The first load of a
dataset reads its source files (or scikit-learn's bundled copy) and writes the
tensors to ``$NETSEP_CACHE_DIR/tensors/`` (default ``~/.cache/netsep``); later loads
memory-map that file only. The cache key includes the source path, size and mtime,
so a different ``data_dir`` (or a replaced file) never reuses the wrong tensors.

``DeviceData`` then keeps both splits on one device and makes each batch with a few
batched tensor ops.

Registered datasets:

- ``digits``: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), with a
  fixed stratified 3/4 : 1/4 train/test split. Ships with scikit-learn, so it needs no
  files and ``data_dir`` does not apply to it.
- ``fashion-mnist``: the four IDX ``.gz`` files, read from ``data_dir`` (or its
  torchvision layout ``FashionMNIST/raw``); with ``data_dir=None`` from Debian's
  ``/usr/share/datasets/fashion-mnist``, then the cache's ``datasets/`` folder.
  Missing files are downloaded through torchvision when ``download`` is true.
- ``fashion-mnist-shirts``: Fashion-MNIST restricted to T-shirt/top (0) and shirt (6),
  relabelled 0/1: the pair of classes our baselines confuse most (12,000 training and
  2,000 test images; validation is carved out of these 12,000 like any dataset's).
- ``cifar10``: torchvision's ``cifar-10-batches-py/`` folder under ``data_dir``
  (default: the cache's ``datasets/`` folder).
- ``cifar10-catdog``: CIFAR-10 restricted to cat (3) and dog (5), relabelled 0/1.

A dataset that is missing and cannot be downloaded raises ``DatasetMissingError``,
whose message names the exact folder and files to provide; there is never a silent
substitute.

Modules: ``types`` (Split, DatasetInfo, the error), ``readers`` (IDX and CIFAR
files), ``sources`` (the registry: where each dataset is), ``cache`` (the tensor
cache), ``loading`` (``load_dataset``, subsets, ``ShippedDataset``: the splits as the
driver read them, carried to trials on nodes without the files), ``device_data`` (batches).
"""

from __future__ import annotations

from trainable.data.cache import cache_path
from trainable.data.device_data import DeviceData
from trainable.data.loading import (
    ShippedDataset,
    load_dataset,
    load_shippable,
    load_splits,
    resolve_val_size,
    split_validation,
    stratified_subset,
)
from trainable.data.readers import read_cifar_batch, read_idx_gz
from trainable.data.sources import DEBIAN_FASHION_MNIST_DIR, dataset_names
from trainable.data.types import DatasetInfo, DatasetMissingError, Split, cache_dir

__all__ = [
    "DEBIAN_FASHION_MNIST_DIR",
    "DatasetInfo",
    "DatasetMissingError",
    "DeviceData",
    "ShippedDataset",
    "Split",
    "cache_dir",
    "cache_path",
    "dataset_names",
    "load_dataset",
    "load_shippable",
    "load_splits",
    "resolve_val_size",
    "split_validation",
    "read_cifar_batch",
    "read_idx_gz",
    "stratified_subset",
]
