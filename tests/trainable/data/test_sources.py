"""trainable.data.sources: the registry and where each dataset is read from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import require
from tests.trainable.data.files import (
    CIFAR_FILES,
    FASHION_FILES,
    write_cifar_folder,
    write_fashion_folder,
)
from trainable import data
from trainable.data import DatasetInfo, DatasetMissingError, dataset_names, load_dataset, load_splits
from trainable.registry import UnknownNameError


def test_registry_lists_the_five_datasets() -> None:
    assert dataset_names() == ["cifar10", "cifar10-catdog", "digits", "fashion-mnist", "fashion-mnist-shirts"]
    with pytest.raises(
        UnknownNameError, match="known: cifar10, cifar10-catdog, digits, fashion-mnist, fashion-mnist-shirts"
    ):
        load_dataset("mnist")


def test_digits_shapes_values_and_info() -> None:
    info, train, test = load_dataset("digits")
    assert info == DatasetInfo("digits", 1, 8, 8, 10, False, info.mean, info.std)
    assert train.images.shape == (1347, 1, 8, 8) and test.images.shape == (450, 1, 8, 8)
    assert train.images.dtype == torch.uint8 and train.labels.dtype == torch.int64
    # 0..16 scaled to 0..255: only those 17 values occur, including both ends.
    allowed = {round(k * 255 / 16) for k in range(17)}
    values = set(torch.cat([train.images, test.images]).unique().tolist())
    assert values <= allowed and {0, 255} <= values
    assert set(train.labels.tolist()) == set(range(10)) == set(test.labels.tolist())
    # mean/std are the training split's, per channel, in [0, 1] units.
    pixels = train.images.double() / 255
    assert info.mean == pytest.approx((pixels.mean().item(),), rel=1e-9)
    assert info.std == pytest.approx((pixels.std(unbiased=False).item(),), rel=1e-9)


def test_digits_split_is_a_stratified_partition() -> None:
    from sklearn.datasets import load_digits

    _, train, test = load_dataset("digits")
    bunch = load_digits()
    everything = np.rint(bunch.images * 255 / 16).astype(np.uint8).reshape(len(bunch.target), -1)
    ours = torch.cat([train.images, test.images]).reshape(len(bunch.target), -1).numpy()
    # Same multiset of (image, label) rows: nothing lost, nothing duplicated.
    key = lambda rows, labels: sorted(map(bytes, np.column_stack([rows, labels]).astype(np.uint8)))
    assert key(ours, torch.cat([train.labels, test.labels]).numpy()) == key(everything, bunch.target)
    for cls in range(10):
        n_cls = int((bunch.target == cls).sum())
        assert abs(int((test.labels == cls).sum()) - n_cls / 4) <= 1


def test_digits_split_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, train_a, test_a = load_dataset("digits")
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(tmp_path / "other-cache"))  # read the source again
    _, train_b, test_b = load_dataset("digits")
    assert torch.equal(train_a.images, train_b.images) and torch.equal(train_a.labels, train_b.labels)
    assert torch.equal(test_a.images, test_b.images) and torch.equal(test_a.labels, test_b.labels)


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_fashion_mnist_from_a_folder(tmp_path: Path, layout: str) -> None:
    folder = tmp_path if layout == "flat" else tmp_path / "FashionMNIST" / "raw"
    arrays = write_fashion_folder(folder, n_train=30, n_test=12, seed=0)
    info, train, test = load_dataset("fashion-mnist", data_dir=str(tmp_path), download=False)
    assert (info.channels, info.height, info.width, info.num_classes, info.flip_ok) == (1, 28, 28, 10, True)
    assert train.images.shape == (30, 1, 28, 28) and test.images.shape == (12, 1, 28, 28)
    assert np.array_equal(train.images[:, 0].numpy(), arrays["train_x"])
    assert np.array_equal(test.labels.numpy(), arrays["test_y"])
    assert test.labels.dtype == torch.int64


def test_fashion_mnist_from_debian_package() -> None:
    if not all((data.DEBIAN_FASHION_MNIST_DIR / name).is_file() for name in FASHION_FILES):
        require(False, f"Debian's dataset-fashion-mnist is not installed ({data.DEBIAN_FASHION_MNIST_DIR})")
    info, train, test = load_dataset("fashion-mnist", download=False)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(train.labels).tolist() == [6000] * 10
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    assert 0.2 < info.mean[0] < 0.4 and 0.3 < info.std[0] < 0.4  # known: ~0.286, ~0.353


def test_fashion_mnist_shirts_keeps_t_shirts_and_shirts_as_0_and_1(tmp_path: Path) -> None:
    arrays = write_fashion_folder(tmp_path, n_train=40, n_test=20, seed=2)
    info, train, test = load_dataset("fashion-mnist-shirts", data_dir=str(tmp_path), download=False)
    assert (info.channels, info.height, info.width, info.num_classes, info.flip_ok) == (1, 28, 28, 2, True)
    for split, prefix in ((train, "train"), (test, "test")):
        labels = arrays[f"{prefix}_y"]
        keep = (labels == 0) | (labels == 6)  # T-shirt/top, shirt
        assert np.array_equal(split.images[:, 0].numpy(), arrays[f"{prefix}_x"][keep])
        assert np.array_equal(split.labels.numpy(), (labels[keep] == 6).astype(np.int64))
    assert train.labels.tolist() == [0, 1, 0, 1, 0, 1, 0, 1] and test.labels.tolist() == [0, 1, 0, 1]
    # mean/std are the two classes' own (the normalisation the pair trains with), not all ten's.
    pixels = np.concatenate([arrays["train_x"][(arrays["train_y"] == c)] for c in (0, 6)]).astype(np.float64) / 255
    assert info.mean == pytest.approx((pixels.mean(),), rel=1e-9)


def test_fashion_mnist_shirts_has_its_own_stratified_validation_split(tmp_path: Path) -> None:
    write_fashion_folder(tmp_path, n_train=200, n_test=20, seed=3)  # 20 T-shirts, 20 shirts
    info, train, validation, test = load_splits("fashion-mnist-shirts", data_dir=str(tmp_path), download=False)
    assert validation is not None and info.num_classes == 2
    # Default 10 % of the pair's 40 training images, 2 per class, none of them trained on.
    assert torch.bincount(validation.labels).tolist() == [2, 2] and torch.bincount(train.labels).tolist() == [18, 18]
    rows = [{bytes(row) for row in split.images.reshape(len(split), -1).numpy()} for split in (validation, train)]
    assert not rows[0] & rows[1]  # random images: equal rows would be the same image
    assert len(test) == 4  # the test split stays whole


def test_fashion_mnist_shirts_from_debian_package() -> None:
    if not all((data.DEBIAN_FASHION_MNIST_DIR / name).is_file() for name in FASHION_FILES):
        require(False, f"Debian's dataset-fashion-mnist is not installed ({data.DEBIAN_FASHION_MNIST_DIR})")
    info, train, validation, test = load_splits("fashion-mnist-shirts", download=False)
    assert validation is not None and info.num_classes == 2
    assert torch.bincount(validation.labels).tolist() == [600, 600]  # 10 % of 12,000
    assert torch.bincount(train.labels).tolist() == [5400, 5400]
    assert torch.bincount(test.labels).tolist() == [1000, 1000]


def test_fashion_mnist_shirts_missing_names_the_fashion_mnist_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as caught:
        load_dataset("fashion-mnist-shirts", data_dir=str(tmp_path), download=False)
    assert str(tmp_path) in str(caught.value) and all(name in str(caught.value) for name in FASHION_FILES)


def test_fashion_mnist_missing_names_the_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as caught:
        load_dataset("fashion-mnist", data_dir=str(tmp_path), download=False)
    message = str(caught.value)
    assert str(tmp_path) in message and "dataset-fashion-mnist" in message
    assert all(name in message for name in FASHION_FILES)
    assert "download=False" in message


def test_cifar10_reads_the_real_format(tmp_path: Path) -> None:
    expected = write_cifar_folder(tmp_path, per_batch=4, n_test=6, seed=0)
    info, train, test = load_dataset("cifar10", data_dir=str(tmp_path), download=False)
    assert (info.channels, info.height, info.width, info.num_classes, info.flip_ok) == (3, 32, 32, 10, True)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (6, 3, 32, 32)
    # Channel 0 is the red plane, and each plane is row-major.
    assert np.array_equal(train.images.numpy(), expected["train_x"])
    assert np.array_equal(test.images.numpy(), expected["test_x"])
    assert np.array_equal(train.labels.numpy(), expected["train_y"])
    assert np.array_equal(test.labels.numpy(), expected["test_y"])
    red_mean = expected["train_x"][:, 0].mean() / 255
    assert info.mean[0] == pytest.approx(red_mean, rel=1e-9)


def test_cifar10_catdog_keeps_cats_and_dogs_as_0_and_1(tmp_path: Path) -> None:
    expected = write_cifar_folder(tmp_path, per_batch=4, n_test=6, seed=1)
    info, train, test = load_dataset("cifar10-catdog", data_dir=str(tmp_path), download=False)
    assert info.num_classes == 2 and info.flip_ok
    for split, prefix in ((train, "train"), (test, "test")):
        labels = expected[f"{prefix}_y"]
        keep = (labels == 3) | (labels == 5)
        assert np.array_equal(split.images.numpy(), expected[f"{prefix}_x"][keep])
        assert np.array_equal(split.labels.numpy(), (labels[keep] == 5).astype(np.int64))
    assert set(train.labels.tolist()) == {0, 1}


def _assert_cifar_missing_message(message: str, root: Path) -> None:
    assert str(root / "cifar-10-batches-py") in message
    assert all(name in message for name in CIFAR_FILES)
    assert "'digits'" in message and "'fashion-mnist'" in message


@pytest.mark.parametrize("name", ["cifar10", "cifar10-catdog"])
def test_cifar_missing_without_download(tmp_path: Path, name: str) -> None:
    with pytest.raises(DatasetMissingError) as caught:
        load_dataset(name, data_dir=str(tmp_path), download=False)
    _assert_cifar_missing_message(str(caught.value), tmp_path)
    assert "download=False" in str(caught.value)


def test_cifar_failed_download_is_the_same_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.datasets

    calls: list[str] = []

    class OfflineCIFAR10:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            calls.append(root)
            raise OSError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", OfflineCIFAR10)
    with pytest.raises(DatasetMissingError) as caught:
        load_dataset("cifar10", data_dir=str(tmp_path), download=True)
    assert calls == [str(tmp_path)]
    _assert_cifar_missing_message(str(caught.value), tmp_path)
    assert "OSError: network is unreachable" in str(caught.value)
