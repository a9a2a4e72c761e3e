"""trainable.data.cache: written once, keyed by the source, reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.trainable.data.files import write_fashion_folder
from trainable.data import load_dataset, sources


def test_cache_is_written_once_and_reused(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    _, train, test = load_dataset("digits")
    files = list((private_cache / "tensors").glob("digits-*.pt"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns

    def no_source() -> None:
        raise AssertionError("the second load must not read the source")

    monkeypatch.setattr(sklearn.datasets, "load_digits", no_source)
    _, train2, test2 = load_dataset("digits")
    assert torch.equal(train.images, train2.images) and torch.equal(test.labels, test2.labels)
    assert files[0].stat().st_mtime_ns == mtime
    assert list((private_cache / "tensors").iterdir()) == files  # no stray temporary files
    blob = torch.load(files[0], weights_only=True)
    assert torch.equal(blob["train_images"], train.images)


def test_cache_key_depends_on_the_source_folder(
    tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = write_fashion_folder(tmp_path / "a", n_train=20, n_test=10, seed=1)
    second = write_fashion_folder(tmp_path / "b", n_train=20, n_test=10, seed=2)
    _, train_a, _ = load_dataset("fashion-mnist", data_dir=str(tmp_path / "a"), download=False)
    _, train_b, _ = load_dataset("fashion-mnist", data_dir=str(tmp_path / "b"), download=False)
    assert np.array_equal(train_a.images[:, 0].numpy(), first["train_x"])
    assert np.array_equal(train_b.images[:, 0].numpy(), second["train_x"])
    assert len(list((private_cache / "tensors").glob("fashion-mnist-*.pt"))) == 2
    # And a cached folder is not read again.
    monkeypatch.setattr(sources, "read_idx_gz", lambda path: pytest.fail(f"re-read {path}"))
    _, again, _ = load_dataset("fashion-mnist", data_dir=str(tmp_path / "a"), download=False)
    assert torch.equal(again.images, train_a.images)
