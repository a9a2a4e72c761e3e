"""Readers of the dataset file formats: gzip'd IDX (MNIST family) and CIFAR-10's pickles."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np

__all__ = ["read_cifar_batch", "read_idx_gz"]


def read_idx_gz(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes (the MNIST format).

    Layout: two zero bytes, a type byte (0x08 = uint8), the number of dimensions,
    then each dimension as a big-endian uint32, then the data in C order.
    """
    path = Path(path)
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: only IDX type 0x08 (uint8) is supported, but got 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        raise ValueError(f"{path}: header shape {shape} needs {expected} bytes, but the file has {len(raw)}")
    # copy(): frombuffer views the immutable bytes, and torch wants writable arrays.
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's batch files, refusing any global but numpy's array pieces.

    The files are pickles (that is the official format); a plain ``pickle.load`` of a
    file someone put in a shared data folder could run arbitrary code (DESIGN §7b).
    """

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # bytes pickled by Python 3 with protocol <= 2
        }
    )

    def find_class(self, module: str, name: str) -> object:
        # The official files were written by numpy 1 (numpy.core); numpy 2 calls it numpy._core.
        if module.startswith("numpy.core."):
            module = "numpy._core." + module[len("numpy.core.") :]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"CIFAR-10 batch files may only contain numpy arrays, lists and bytes, "
                f"but this one references {module}.{name}"
            )
        return super().find_class(module, name)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch file: uint8 images ``[n, 3, 32, 32]`` and int64 labels ``[n]``."""
    with path.open("rb") as f:
        batch = _CifarUnpickler(f, encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{path}: b'data' must be uint8 [n, 3072] with one label each, but got "
            f"data shape {data.shape} and {labels.shape[0]} labels"
        )
    # Each row is three 32x32 planes (red, green, blue), each row-major.
    return data.reshape(-1, 3, 32, 32), labels
