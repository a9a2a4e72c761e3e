"""trainable.data.readers: the IDX reader and the restricted CIFAR unpickler."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.trainable.data.files import write_cifar_folder, write_idx_gz
from trainable.data import load_dataset, read_idx_gz


def test_idx_reader_reads_what_was_written(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    write_idx_gz(tmp_path / "x.gz", array)
    assert np.array_equal(read_idx_gz(tmp_path / "x.gz"), array)
    write_idx_gz(tmp_path / "y.gz", np.array([7, 1, 9], dtype=np.uint8))
    assert read_idx_gz(tmp_path / "y.gz").tolist() == [7, 1, 9]


def test_idx_reader_rejects_bad_files(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "magic.gz", "wb") as f:
        f.write(bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="two zero bytes"):
        read_idx_gz(tmp_path / "magic.gz")
    with gzip.open(tmp_path / "float.gz", "wb") as f:
        f.write(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\0\0\0\0")
    with pytest.raises(ValueError, match="0x0d"):
        read_idx_gz(tmp_path / "float.gz")
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 2]))
    with pytest.raises(ValueError, match=r"needs 4 data bytes, but the file has 2"):
        read_idx_gz(tmp_path / "short.gz")
    with gzip.open(tmp_path / "long.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"needs 2 data bytes, but the file has more than 2"):
        read_idx_gz(tmp_path / "long.gz")
    (tmp_path / "plain.gz").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 1, 5]))  # not gzip'd at all
    with pytest.raises(ValueError, match="cannot be read as a gzip'd IDX file"):
        read_idx_gz(tmp_path / "plain.gz")


def test_idx_reader_checks_the_size_before_inflating(tmp_path: Path) -> None:
    # A header that claims 4 x 2**31 bytes: refused from the header alone, before any data is inflated
    # (a gzip bomb in a shared data folder cannot make the reader allocate gigabytes).
    with gzip.open(tmp_path / "bomb.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 2, 0, 0, 0, 4, 0x80, 0, 0, 0]))
        f.write(b"\0" * (1 << 20))  # 1 MiB of zeros compresses to ~1 KiB
    with pytest.raises(ValueError, match=r"needs 8589934592 bytes, more than the 1073741824 allowed"):
        read_idx_gz(tmp_path / "bomb.gz")
    with gzip.open(tmp_path / "ok.gz", "wb") as f:
        f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]))
    with pytest.raises(ValueError, match="more than the 2 allowed"):
        read_idx_gz(tmp_path / "ok.gz", max_bytes=2)


def test_cifar_batches_may_not_reference_other_code(tmp_path: Path) -> None:
    write_cifar_folder(tmp_path, per_batch=1, n_test=1, seed=2)

    class Evil:
        # os.getcwd, not print: Ray, imported by other tests in the same process, may
        # replace builtins.print, and pickle would then record the replacement's name.
        def __reduce__(self) -> tuple[object, tuple[()]]:
            return (os.getcwd, ())

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match=r"references \w+\.getcwd"):
        load_dataset("cifar10", data_dir=str(tmp_path), download=False)
