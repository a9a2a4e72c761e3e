"""Tests for trainable.data: sources, cache, subsets, errors and on-device batches."""
from __future__ import annotations

import gzip
import itertools
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import require
from trainable import data
from trainable.data import (
    DatasetInfo,
    DatasetMissingError,
    DeviceData,
    Split,
    dataset_names,
    load_dataset,
    read_idx_gz,
)
from trainable.registry import UnknownNameError

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache folder (never the user's ~/.cache)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(cache))
    return cache


# ------------------------------------------------------------------------- helpers


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
        b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                         b"frog", b"horse", b"ship", b"truck"],
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


def make_device_data(images: torch.Tensor, labels: torch.Tensor, flip_ok: bool, augment: bool = True,
                     test: Split | None = None) -> DeviceData:
    _, c, h, w = images.shape
    info = DatasetInfo("synthetic", c, h, w, int(labels.max()) + 1, flip_ok, (0.5,) * c, (0.25,) * c)
    train = Split(images, labels)
    return DeviceData(info, train, test if test is not None else train, torch.device("cpu"), augment)


def variants(image: np.ndarray, pad: int, flip_ok: bool) -> dict[tuple[int, int, bool], np.ndarray]:
    """Every allowed augmentation of one [C, H, W] image, computed independently with numpy:
    reflect-pad by ``pad``, crop at each offset (content moves by (dy, dx)), maybe mirror."""
    _, h, w = image.shape
    padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    out = {}
    for dy, dx in itertools.product(range(-pad, pad + 1), repeat=2):
        crop = padded[:, pad - dy: pad - dy + h, pad - dx: pad - dx + w]
        out[(dy, dx, False)] = crop
        if flip_ok:
            out[(dy, dx, True)] = crop[:, :, ::-1]
    return out


# --------------------------------------------------------------------------- registry


def test_registry_lists_the_four_datasets() -> None:
    assert dataset_names() == ["cifar10", "cifar10-catdog", "digits", "fashion-mnist"]
    with pytest.raises(UnknownNameError, match="known: cifar10, cifar10-catdog, digits, fashion-mnist"):
        load_dataset("mnist")


# ----------------------------------------------------------------------------- digits


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


# ------------------------------------------------------------------------- train_size


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


# ------------------------------------------------------------------------------ cache


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


def test_cache_key_depends_on_the_source_folder(tmp_path: Path, private_cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_fashion_folder(tmp_path / "a", n_train=20, n_test=10, seed=1)
    second = write_fashion_folder(tmp_path / "b", n_train=20, n_test=10, seed=2)
    _, train_a, _ = load_dataset("fashion-mnist", data_dir=str(tmp_path / "a"), download=False)
    _, train_b, _ = load_dataset("fashion-mnist", data_dir=str(tmp_path / "b"), download=False)
    assert np.array_equal(train_a.images[:, 0].numpy(), first["train_x"])
    assert np.array_equal(train_b.images[:, 0].numpy(), second["train_x"])
    assert len(list((private_cache / "tensors").glob("fashion-mnist-*.pt"))) == 2
    # And a cached folder is not read again.
    monkeypatch.setattr(data, "read_idx_gz", lambda path: pytest.fail(f"re-read {path}"))
    _, again, _ = load_dataset("fashion-mnist", data_dir=str(tmp_path / "a"), download=False)
    assert torch.equal(again.images, train_a.images)


# ------------------------------------------------------------------- fashion-mnist


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
    with pytest.raises(ValueError, match=r"needs 12 bytes, but the file has 10"):
        read_idx_gz(tmp_path / "short.gz")


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
    require(all((data.DEBIAN_FASHION_MNIST_DIR / name).is_file() for name in FASHION_FILES),
            f"Debian's dataset-fashion-mnist is not installed ({data.DEBIAN_FASHION_MNIST_DIR})")
    info, train, test = load_dataset("fashion-mnist", download=False)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert torch.bincount(train.labels).tolist() == [6000] * 10
    assert torch.bincount(test.labels).tolist() == [1000] * 10
    assert 0.2 < info.mean[0] < 0.4 and 0.3 < info.std[0] < 0.4  # known: ~0.286, ~0.353


def test_fashion_mnist_missing_names_the_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as caught:
        load_dataset("fashion-mnist", data_dir=str(tmp_path), download=False)
    message = str(caught.value)
    assert str(tmp_path) in message and "dataset-fashion-mnist" in message
    assert all(name in message for name in FASHION_FILES)
    assert "download=False" in message


# --------------------------------------------------------------------------- CIFAR-10


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


def test_cifar_batches_may_not_reference_other_code(tmp_path: Path) -> None:
    write_cifar_folder(tmp_path, per_batch=1, n_test=1, seed=2)

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="builtins.print"):
        load_dataset("cifar10", data_dir=str(tmp_path), download=False)


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


# ------------------------------------------------------------------------ DeviceData


def test_train_batches_shapes_range_and_labels() -> None:
    # Image k is constant k, so every output (translated or flipped) still says which it is.
    n = 50
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 6, 6).contiguous()
    labels = torch.arange(n) % 7
    dd = make_device_data(images, labels, flip_ok=True)
    assert dd.steps_per_epoch(16) == 3
    batches = list(dd.train_batches(16, torch.Generator().manual_seed(0)))
    assert len(batches) == 3
    seen = []
    for x, y in batches:
        assert x.shape == (16, 3, 6, 6) and x.dtype == torch.float32 and y.dtype == torch.int64
        assert 0.0 <= x.min() and x.max() <= 1.0
        ids = (x[:, 0, 0, 0] * 255).round().long()
        assert (x * 255 - ids.view(-1, 1, 1, 1)).abs().max() < 1e-4
        assert torch.equal(y, labels[ids])
        seen += ids.tolist()
    assert len(set(seen)) == 48  # drop_last: 48 distinct examples, none twice
    assert seen != sorted(seen)  # shuffled


def test_train_batches_are_deterministic_per_generator_seed() -> None:
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    dd = make_device_data(images, torch.arange(40) % 4, flip_ok=True)

    def epoch(seed: int) -> list[torch.Tensor]:
        return [x for x, _ in dd.train_batches(8, torch.Generator().manual_seed(seed))]

    assert all(torch.equal(a, b) for a, b in zip(epoch(3), epoch(3)))
    assert not all(torch.equal(a, b) for a, b in zip(epoch(3), epoch(4)))


@pytest.mark.parametrize(("size", "pad"), [(8, 1), (28, 2), (32, 2)])
def test_translate_moves_a_bright_pixel_by_at_most_pad(size: int, pad: int) -> None:
    n = 400  # enough draws that every one of the (2*pad+1)**2 shifts occurs
    images = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    y0, x0 = size // 2 - 1, size // 2
    images[:, 0, y0, x0] = 255
    dd = make_device_data(images, torch.zeros(n, dtype=torch.long), flip_ok=False)
    assert dd.pad == pad
    moves = set()
    for x, _ in dd.train_batches(100, torch.Generator().manual_seed(0)):
        for image in x[:, 0]:
            where = (image == 1.0).nonzero()
            assert where.shape == (1, 2) and image.sum() == 1.0  # moved, not smeared or lost
            moves.add((int(where[0, 0]) - y0, int(where[0, 1]) - x0))
    assert moves == set(itertools.product(range(-pad, pad + 1), repeat=2))


@pytest.mark.parametrize("flip_ok", [False, True])
def test_augmentation_is_a_translate_and_flips_only_where_allowed(flip_ok: bool) -> None:
    n = 96
    images = torch.randint(0, 256, (n, 2, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    # Label = index, so each output can be compared with its own source image.
    dd = make_device_data(images, torch.arange(n), flip_ok=flip_ok)
    used: set[tuple[int, int, bool]] = set()
    for x, y in dd.train_batches(32, torch.Generator().manual_seed(2)):
        out = (x * 255).round().to(torch.uint8).numpy()
        for image, label in zip(out, y.tolist()):
            matches = [k for k, v in variants(images[label].numpy(), 1, flip_ok).items() if np.array_equal(v, image)]
            assert matches, "output is not an allowed translate/flip of its source image"
            used.update(matches)
    assert any(flip for _, _, flip in used) == flip_ok
    assert {(dy, dx) for dy, dx, _ in used} == set(itertools.product(range(-1, 2), repeat=2))


def test_no_augmentation_gives_the_images_themselves() -> None:
    images = torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    dd = make_device_data(images, torch.arange(20), flip_ok=True, augment=False)
    for x, y in dd.train_batches(5, torch.Generator().manual_seed(0)):
        assert torch.equal(x, images[y].float() / 255)


def test_test_batches_cover_every_example_once_in_order() -> None:
    test = Split(torch.randint(0, 256, (23, 1, 8, 8), dtype=torch.uint8), torch.arange(23) % 10)
    dd = make_device_data(test.images, test.labels, flip_ok=True, test=test)
    batches = list(dd.test_batches(10))
    assert [len(y) for _, y in batches] == [10, 10, 3]
    assert torch.equal(torch.cat([x for x, _ in batches]), test.images.float() / 255)
    assert torch.equal(torch.cat([y for _, y in batches]), test.labels)


def test_bad_batch_arguments_are_errors() -> None:
    dd = make_device_data(torch.zeros(10, 1, 8, 8, dtype=torch.uint8), torch.arange(10), flip_ok=False)
    with pytest.raises(ValueError, match=r"batch_size <= 10.*batch_size=11"):
        dd.steps_per_epoch(11)
    with pytest.raises(ValueError, match="batch_size=0"):
        list(dd.test_batches(0))
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="CPU"):
            next(dd.train_batches(2, torch.Generator(device="cuda")))


def test_split_rejects_wrong_dtypes() -> None:
    with pytest.raises(ValueError, match="uint8"):
        Split(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="int64"):
        Split(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.zeros(3, dtype=torch.long))


def test_subset_follows_unequal_class_shares() -> None:
    # Classes of 100, 30 and 10 examples: a 14-example subset keeps the 10 : 3 : 1 shares
    # (a round-robin over classes would give 5 : 5 : 4).
    labels = torch.cat([torch.full((100,), 0), torch.full((30,), 1), torch.full((10,), 2)])
    train = Split(torch.arange(140, dtype=torch.uint8).view(140, 1, 1, 1), labels)
    counts = torch.bincount(data._subset(train, 14).labels, minlength=3)
    assert ((counts - torch.tensor([10, 3, 1])).abs() <= 1).all()
    assert counts.sum() == 14
