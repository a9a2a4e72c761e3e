"""trainable.data.loading: load_dataset's train_size subsets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trainable import data
from trainable.data import Split, load_dataset


def test_train_size_is_stratified_nested_and_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, full, test_full = load_dataset("digits")
    _, small, test_small = load_dataset("digits", train_size=100)
    assert len(small) == 100 and torch.equal(test_small.labels, test_full.labels)
    class_counts = torch.bincount(full.labels, minlength=10).double()
    share = torch.bincount(small.labels, minlength=10).double()
    assert ((share - 100 * class_counts / len(full)).abs() <= 1).all()
    # Every chosen example is a training example with its own label.
    rows = {bytes(r.numpy()): int(y) for r, y in zip(full.images.flatten(1), full.labels)}
    assert all(rows[bytes(r.numpy())] == int(y) for r, y in zip(small.images.flatten(1), small.labels))
    # Same subset from a cold cache, and a smaller subset lies inside a larger one.
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(tmp_path / "other-cache"))
    _, again, _ = load_dataset("digits", train_size=100)
    assert torch.equal(again.images, small.images) and torch.equal(again.labels, small.labels)
    _, smaller, _ = load_dataset("digits", train_size=37)
    small_rows = {bytes(r.numpy()) for r in small.images.flatten(1)}
    assert all(bytes(r.numpy()) in small_rows for r in smaller.images.flatten(1))
    # train_size == all of it is the full split, unchanged.
    _, whole, _ = load_dataset("digits", train_size=len(full))
    assert torch.equal(whole.images, full.images) and torch.equal(whole.labels, full.labels)


@pytest.mark.parametrize("bad", [0, -3, 1348])
def test_train_size_out_of_range_is_an_error(bad: int) -> None:
    with pytest.raises(ValueError, match=rf"1 <= train_size <= 1347.*train_size={bad}"):
        load_dataset("digits", train_size=bad)


def test_subset_follows_unequal_class_shares() -> None:
    # Classes of 100, 30 and 10 examples: a 14-example subset keeps the 10 : 3 : 1 shares
    # (a round-robin over classes would give 5 : 5 : 4).
    labels = torch.cat([torch.full((100,), 0), torch.full((30,), 1), torch.full((10,), 2)])
    train = Split(torch.arange(140, dtype=torch.uint8).view(140, 1, 1, 1), labels)
    counts = torch.bincount(data.stratified_subset(train, 14).labels, minlength=3)
    assert ((counts - torch.tensor([10, 3, 1])).abs() <= 1).all()
    assert counts.sum() == 14
