"""Carving the splits: validation out of training, the train_size subset out of the rest, test untouched.

Each image of the hand-made dataset encodes its own index in its two pixels, so every
split can be read back as the set of examples it holds: overlaps, losses and sizes are
checked exactly, through the real ``load_splits`` (fed the dataset as the driver's copy).
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from trainable.data.loading import (
    ShippedDataset,
    load_splits,
    resolve_val_size,
    split_validation,
    stratified_subset,
)
from trainable.data.types import Split

CLASSES = 4
# Unequal class sizes (40, 30, 20, 10): a split that ignored the classes would show.
TRAIN_LABELS = [c for c, n in enumerate((40, 30, 20, 10)) for _ in range(n)]
N_TRAIN, N_TEST = len(TRAIN_LABELS), 24


def _split(ids: range, labels: list[int]) -> Split:
    index = torch.tensor(list(ids))
    images = torch.stack([index // 256, index % 256], dim=-1).to(torch.uint8).reshape(-1, 1, 1, 2)
    return Split(images, torch.tensor(labels, dtype=torch.int64))


def ids(split: Split | None) -> list[int]:
    """The examples a split holds, in its order (each image is its own index)."""
    if split is None:
        return []
    flat = split.images.reshape(-1, 2).to(torch.int64)
    return (flat[:, 0] * 256 + flat[:, 1]).tolist()


# Training examples 0..99 shuffled across classes (labels interleaved, not sorted), test 1000..1023.
TRAIN = _split(range(N_TRAIN), [TRAIN_LABELS[(7 * i) % N_TRAIN] for i in range(N_TRAIN)])
TEST = _split(range(1000, 1000 + N_TEST), [i % CLASSES for i in range(N_TEST)])
LABEL = dict(zip(ids(TRAIN), TRAIN.labels.tolist()))
SHIPPED = ShippedDataset("digits", None, TRAIN, TEST, (0.5,), (0.25,), CLASSES, False)


def _class_counts(split: Split) -> Counter:
    return Counter(split.labels.tolist())


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("val_size", [1, 10, 37, N_TRAIN - 1])
def test_validation_and_the_rest_partition_the_training_split(val_size: int) -> None:
    rest, validation = split_validation(TRAIN, val_size)
    assert len(ids(validation)) == val_size and len(ids(rest)) == N_TRAIN - val_size
    assert not set(ids(validation)) & set(ids(rest))  # no validation image is trained on
    assert sorted(ids(validation) + ids(rest)) == list(range(N_TRAIN))  # none lost, none repeated
    # Labels travel with their images.
    for split in (rest, validation):
        assert split.labels.tolist() == [LABEL[i] for i in ids(split)]
    # Original order kept in both.
    assert ids(validation) == sorted(ids(validation)) and ids(rest) == sorted(ids(rest))


def test_validation_is_class_stratified() -> None:
    _, validation = split_validation(TRAIN, 20)  # 20 % of each class: 8, 6, 4, 2
    assert _class_counts(validation) == {0: 8, 1: 6, 2: 4, 3: 2}


def test_validation_depends_on_the_training_split_and_val_size_alone() -> None:
    assert ids(split_validation(TRAIN, 10)[1]) == ids(split_validation(TRAIN, 10)[1])
    # A bigger validation split holds the smaller one: its order is fixed.
    assert set(ids(split_validation(TRAIN, 10)[1])) <= set(ids(split_validation(TRAIN, 30)[1]))


def test_val_size_0_leaves_training_whole() -> None:
    rest, validation = split_validation(TRAIN, 0)
    assert validation is None and ids(rest) == ids(TRAIN)


def test_resolve_val_size_default_and_bounds() -> None:
    assert resolve_val_size(1347, None) == 135  # digits: 10 %, rounded (134.7)
    assert resolve_val_size(60_000, None) == 6000
    assert resolve_val_size(N_TRAIN, 0) == 0 and resolve_val_size(N_TRAIN, N_TRAIN - 1) == N_TRAIN - 1
    for bad in (N_TRAIN, N_TRAIN + 1, -1):
        with pytest.raises(ValueError, match="val_size must satisfy"):
            resolve_val_size(N_TRAIN, bad)


# ---------------------------------------------------------------- train_size
def test_a_subset_has_exactly_train_size_examples_stratified_and_nested() -> None:
    small, large = stratified_subset(TRAIN, 20), stratified_subset(TRAIN, 50)
    assert len(ids(small)) == 20 and len(set(ids(small))) == 20
    assert _class_counts(small) == {0: 8, 1: 6, 2: 4, 3: 2}
    assert set(ids(small)) <= set(ids(large))
    assert ids(stratified_subset(TRAIN, N_TRAIN)) == ids(TRAIN)  # the whole split, unchanged
    assert ids(stratified_subset(TRAIN, 1)) != [] and len(ids(stratified_subset(TRAIN, 1))) == 1


@pytest.mark.parametrize("bad", [0, N_TRAIN + 1])
def test_a_subset_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="train_size must satisfy"):
        stratified_subset(TRAIN, bad)


# ------------------------------------------------------- load_splits, whole
def _load(train_size: int | None, val_size: int | None) -> tuple[list[int], list[int], list[int]]:
    _, train, validation, test = load_splits("digits", None, train_size, val_size, shipped=SHIPPED)
    return ids(train), ids(validation), ids(test)


@pytest.mark.parametrize("train_size, val_size", [(None, 10), (None, None), (30, 10), (89, 11), (5, 90)])
def test_training_never_holds_a_validation_image_and_test_is_neither(train_size: int | None, val_size: int) -> None:
    train, validation, test = _load(train_size, val_size)
    expected_val = resolve_val_size(N_TRAIN, val_size)
    assert len(validation) == expected_val
    assert len(train) == (train_size if train_size is not None else N_TRAIN - expected_val)
    assert not set(train) & set(validation)
    assert set(train) | set(validation) <= set(range(N_TRAIN))  # both come from the training split
    assert test == list(range(1000, 1000 + N_TEST))  # the whole test split, in order, in neither of them
    # The validation images do not change with train_size: trials of any size are scored alike.
    assert validation == _load(None, val_size)[1]


def test_without_validation_training_is_the_subset_of_the_whole_split() -> None:
    train, validation, test = _load(40, 0)
    assert validation == [] and len(train) == 40
    assert train == ids(stratified_subset(TRAIN, 40))
    assert test == list(range(1000, 1000 + N_TEST))


def test_the_subset_is_taken_from_the_rest_after_validation() -> None:
    rest, validation = split_validation(TRAIN, 10)
    train, val, _ = _load(30, 10)
    assert val == ids(validation)
    assert train == ids(stratified_subset(rest, 30))
    assert _load(N_TRAIN - 10, 10)[0] == ids(rest)  # the largest subset is the whole rest
