"""Readers of the dataset file formats: gzip'd IDX (MNIST family) and CIFAR-10's pickles."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np

__all__ = ["read_cifar_batch", "read_idx_gz"]


IDX_MAX_BYTES = 1 << 30  # the largest IDX payload read (1 GiB; Fashion-MNIST's training images are 47 MB)
IDX_MAX_DIMS = 4  # images: count x rows x cols (x channels); labels: count


def read_idx_gz(path: str | os.PathLike[str], max_bytes: int = IDX_MAX_BYTES) -> np.ndarray:
    """Read a gzip-compressed IDX file of unsigned bytes (the MNIST format).

    Layout: two zero bytes, a type byte (0x08 = uint8), the number of dimensions,
    then each dimension as a big-endian uint32, then the data in C order. The header
    is checked before the data is decompressed, and no more than the header's size is
    read: a file from a shared data folder cannot make the reader inflate gigabytes
    (a gzip bomb) or accept trailing bytes.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0:
                raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes")
            if head[2] != 0x08:
                raise ValueError(f"{path}: only IDX type 0x08 (uint8) is supported, but got 0x{head[2]:02x}")
            ndim = head[3]
            if not 1 <= ndim <= IDX_MAX_DIMS:
                raise ValueError(
                    f"{path}: an IDX file of images or labels has 1 to {IDX_MAX_DIMS} dimensions, got {ndim}"
                )
            dims = f.read(4 * ndim)
            if len(dims) != 4 * ndim:
                raise ValueError(f"{path}: the IDX header is cut short")
            shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
            size = int(np.prod(shape, dtype=np.int64))
            if size > max_bytes:
                raise ValueError(f"{path}: header shape {shape} needs {size} bytes, more than the {max_bytes} allowed")
            data = f.read(size)
            trailing = f.read(1)
    except (OSError, EOFError) as error:  # not gzip, or a gzip stream cut short
        raise ValueError(f"{path}: cannot be read as a gzip'd IDX file ({type(error).__name__}: {error})") from None
    if len(data) != size or trailing:
        found = f"{len(data)}" if len(data) != size else f"more than {size}"
        raise ValueError(f"{path}: header shape {shape} needs {size} data bytes, but the file has {found}")
    # copy(): frombuffer views the immutable bytes, and torch wants writable arrays.
    return np.frombuffer(data, dtype=np.uint8).reshape(shape).copy()


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's batch files, refusing any global but numpy's array pieces.

    The files are pickles (that is the official format); a plain ``pickle.load`` of a
    file someone put in a shared data folder could run arbitrary code (docs/design.md, "Trust").
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
