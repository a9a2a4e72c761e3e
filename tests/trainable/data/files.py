"""Tiny dataset folders in the real file formats, for the data tests."""

from __future__ import annotations

import gzip
import itertools
import pickle
from pathlib import Path

import numpy as np

__all__ = ["CIFAR_FILES", "FASHION_FILES", "write_cifar_folder", "write_fashion_folder", "write_idx_gz"]

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in the IDX format (magic 0 0 8 ndim, big-endian dims, data)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_fashion_folder(folder: Path, n_train: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train_x": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_y": (np.arange(n_train) % 10).astype(np.uint8),
        "test_x": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_y": (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, key in zip(FASHION_FILES, ("train_x", "train_y", "test_x", "test_y")):
        write_idx_gz(folder / name, arrays[key])
    return arrays


def _numpy1_pickle(obj: object) -> bytes:
    """Pickle like the official CIFAR files: protocol 2, numpy arrays as numpy.core.*."""
    raw = pickle.dumps(obj, protocol=2)
    # GLOBAL opcodes hold "module\nname\n" as text, so renaming the module is a byte swap.
    return raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


def write_cifar_folder(root: Path, per_batch: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """A tiny CIFAR-10 in the real format; returns the expected [N, 3, 32, 32] images and labels."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    images: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    labels: dict[str, list[int]] = {"train": [], "test": []}
    counter = itertools.count()
    for name in CIFAR_FILES:
        split = "test" if name == "test_batch" else "train"
        n = n_test if split == "test" else per_batch
        rows, batch_labels = [], []
        for _ in range(n):
            red, green, blue = (rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(3))
            # One row: the red plane, then green, then blue, each row-major (CIFAR's layout).
            rows.append(np.concatenate([red.ravel(), green.ravel(), blue.ravel()]))
            images[split].append(np.stack([red, green, blue]))
            label = next(counter) % 10
            batch_labels.append(label)
            labels[split].append(label)
        batch = {
            b"batch_label": f"{name}".encode(),
            b"labels": batch_labels,
            b"data": np.stack(rows),
            b"filenames": [f"img{i}.png".encode() for i in range(n)],
        }
        (folder / name).write_bytes(_numpy1_pickle(batch))
    meta = {
        b"label_names": [
            b"airplane",
            b"automobile",
            b"bird",
            b"cat",
            b"deer",
            b"dog",
            b"frog",
            b"horse",
            b"ship",
            b"truck",
        ],
        b"num_cases_per_batch": per_batch,
        b"num_vis": 3072,
    }
    (folder / "batches.meta").write_bytes(_numpy1_pickle(meta))
    return {
        "train_x": np.stack(images["train"]),
        "train_y": np.asarray(labels["train"]),
        "test_x": np.stack(images["test"]),
        "test_y": np.asarray(labels["test"]),
    }
