"""Where each registered dataset's files are, and how to read them (docs/design.md, "The machines it is built on").

Each source factory locates its files (downloading through torchvision only when a
file is missing and ``download`` is true) and returns a ``Source`` whose ``key``
names exactly what will be read, so the cache never reuses the wrong tensors.
Heavy libraries are imported only when a source needs them: scikit-learn when the
digits are actually read (not when their cache is hit), torchvision only for a
download.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from trainable.data.cache import load_cached
from trainable.data.readers import read_cifar_batch, read_idx_gz
from trainable.data.types import (
    DatasetMissingError,
    Source,
    Split,
    cache_dir,
    split_from_numpy,
)
from trainable.registry import Registry

__all__ = ["DATASETS", "DEBIAN_FASHION_MNIST_DIR", "dataset_names"]

# Debian's dataset-fashion-mnist package installs the four IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
# Seconds one network operation of a download (connect, each read) may wait: torchvision
# sets none, so an unreachable mirror behind a silent firewall would hang the sweep's start.
DOWNLOAD_TIMEOUT_S = 30.0
_FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_CIFAR_CAT, _CIFAR_DOG = 3, 5
# The pair of Fashion-MNIST classes our baselines confuse most (docs/results/README.md,
# "The hardest pair of Fashion-MNIST classes"; scripts/confused_pair.py measures it).
_FASHION_TSHIRT, _FASHION_SHIRT = 0, 6
_OFFLINE_ALTERNATIVES = (
    "Offline alternatives: dataset 'digits' (bundled with scikit-learn, nothing to "
    "download) or 'fashion-mnist' (`apt-get install dataset-fashion-mnist` puts its "
    f"files in {DEBIAN_FASHION_MNIST_DIR})."
)

DATASETS: Registry[Source] = Registry("dataset")


def dataset_names() -> list[str]:
    """The registered dataset names, sorted."""
    return DATASETS.names()


def _file_identity(paths: list[Path]) -> str:
    """Path, size and mtime of each file: changes whenever the source changes."""
    parts = []
    for path in paths:
        stat = path.stat()
        parts.append(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def _download_note(download: bool, error: BaseException | None) -> str:
    if not download:
        return "Download was not attempted (download=False)."
    if error is None:
        return "torchvision's download ran, but the files above are still not all there."
    return f"Downloading through torchvision failed: {type(error).__name__}: {error}."


def _datasets_root(data_dir: str | None) -> Path:
    """The torchvision-style root folder: ``data_dir``, else the cache's ``datasets/``."""
    return Path(data_dir).expanduser() if data_dir is not None else cache_dir() / "datasets"


def _find_complete(candidates: list[Path], files: tuple[str, ...]) -> Path | None:
    for folder in candidates:
        if all((folder / name).is_file() for name in files):
            return folder
    return None


# ----------------------------------------------------------------------------- digits


def _read_digits() -> tuple[Split, Split]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    bunch = datasets.load_digits()
    # Pixel values are counts 0..16 (4x4 blocks of a 32x32 bitmap); scale to 0..255.
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=0)
    train = split_from_numpy(images[train_idx], labels[train_idx])
    return train, split_from_numpy(images[test_idx], labels[test_idx])


@DATASETS.register("digits")
def _digits_source(data_dir: str | None, download: bool) -> Source:
    # data_dir and download do not apply: the digits ship inside scikit-learn. The
    # key names scikit-learn's version and folder without importing it (~2 s), so a
    # cache hit costs no scikit-learn import at all.
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetMissingError("dataset 'digits' needs scikit-learn: `pip install scikit-learn`")
    folder = Path(next(iter(spec.submodule_search_locations))).resolve() / "datasets"
    key = f"digits|sklearn-{importlib.metadata.version('scikit-learn')}|{folder}"
    return Source(key=key, num_classes=10, flip_ok=False, read=_read_digits)


# ------------------------------------------------------------------ fashion-mnist (IDX)


def _fashion_candidates(data_dir: str | None) -> list[Path]:
    root = _datasets_root(data_dir)
    # Accept both the four files directly in the folder (Debian's layout) and
    # torchvision's layout below it (what a torchvision download leaves).
    torchvision_dir = root / "FashionMNIST" / "raw"
    if data_dir is None:
        return [DEBIAN_FASHION_MNIST_DIR, root / "fashion-mnist", torchvision_dir]
    return [root, torchvision_dir]


@contextlib.contextmanager
def _network_timeout(seconds: float) -> Iterator[None]:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _download_fashion(data_dir: str | None) -> BaseException | None:
    try:
        from torchvision.datasets import FashionMNIST

        with _network_timeout(DOWNLOAD_TIMEOUT_S):
            FashionMNIST(root=str(_datasets_root(data_dir)), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 (network, checksum, disk: all mean "still missing")
        return exc
    return None


@DATASETS.register("fashion-mnist")
def _fashion_source(data_dir: str | None, download: bool) -> Source:
    candidates = _fashion_candidates(data_dir)
    folder = _find_complete(candidates, _FASHION_FILES)
    error: BaseException | None = None
    if folder is None and download:
        error = _download_fashion(data_dir)
        folder = _find_complete(candidates, _FASHION_FILES)
    if folder is None:
        # Suggest a folder the user can write to (Debian's is filled by its package).
        target = candidates[0] if data_dir is not None else candidates[1]
        raise DatasetMissingError(
            "fashion-mnist is missing: put the four files "
            f"{', '.join(_FASHION_FILES)} into {target} "
            f"(looked in: {', '.join(str(c) for c in candidates)}). "
            "On Debian/Ubuntu, `apt-get install dataset-fashion-mnist` installs them in "
            f"{DEBIAN_FASHION_MNIST_DIR}. {_download_note(download, error)}"
        )
    paths = [folder / name for name in _FASHION_FILES]

    def read() -> tuple[Split, Split]:
        train_x, train_y, test_x, test_y = (read_idx_gz(p) for p in paths)
        return split_from_numpy(train_x[:, None], train_y), split_from_numpy(test_x[:, None], test_y)

    return Source(key=f"fashion-mnist|{_file_identity(paths)}", num_classes=10, flip_ok=True, read=read)


@DATASETS.register("fashion-mnist-shirts")
def _shirts_source(data_dir: str | None, download: bool) -> Source:
    fashion = _fashion_source(data_dir, download)

    def restrict(split: Split) -> Split:
        keep = (split.labels == _FASHION_TSHIRT) | (split.labels == _FASHION_SHIRT)
        return Split(split.images[keep].contiguous(), (split.labels[keep] == _FASHION_SHIRT).long())

    def read() -> tuple[Split, Split]:
        # From the cached Fashion-MNIST tensors, as cifar10-catdog does from CIFAR-10's.
        train, test, _, _ = load_cached("fashion-mnist", fashion)
        return restrict(train), restrict(test)

    return Source(key=f"shirts|{fashion.key}", num_classes=2, flip_ok=True, read=read)


# ---------------------------------------------------------------------------- CIFAR-10


def _download_cifar(root: Path) -> BaseException | None:
    try:
        from torchvision.datasets import CIFAR10

        with _network_timeout(DOWNLOAD_TIMEOUT_S):
            CIFAR10(root=str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 (network, checksum, disk: all mean "still missing")
        return exc
    return None


@DATASETS.register("cifar10")
def _cifar10_source(data_dir: str | None, download: bool) -> Source:
    root = _datasets_root(data_dir)
    folder = root / _CIFAR_FOLDER
    found = _find_complete([folder], _CIFAR_FILES)
    error: BaseException | None = None
    if found is None and download:
        error = _download_cifar(root)
        found = _find_complete([folder], _CIFAR_FILES)
    if found is None:
        raise DatasetMissingError(
            f"CIFAR-10 is missing: the folder {folder} must hold the files "
            f"{', '.join(_CIFAR_FILES)} (unpack the python version, cifar-10-python.tar.gz "
            f"from https://www.cs.toronto.edu/~kriz/cifar.html, inside {root}). "
            f"{_download_note(download, error)} {_OFFLINE_ALTERNATIVES}"
        )
    paths = [folder / name for name in _CIFAR_FILES]

    def read() -> tuple[Split, Split]:
        batches = [read_cifar_batch(p) for p in paths]
        train_x = np.concatenate([b[0] for b in batches[:5]])
        train_y = np.concatenate([b[1] for b in batches[:5]])
        return split_from_numpy(train_x, train_y), split_from_numpy(*batches[5])

    return Source(key=f"cifar10|{_file_identity(paths)}", num_classes=10, flip_ok=True, read=read)


@DATASETS.register("cifar10-catdog")
def _catdog_source(data_dir: str | None, download: bool) -> Source:
    cifar = _cifar10_source(data_dir, download)

    def restrict(split: Split) -> Split:
        keep = (split.labels == _CIFAR_CAT) | (split.labels == _CIFAR_DOG)
        return Split(split.images[keep].contiguous(), (split.labels[keep] == _CIFAR_DOG).long())

    def read() -> tuple[Split, Split]:
        # Start from the cached CIFAR-10 tensors: reading the pickles again would be slower.
        train, test, _, _ = load_cached("cifar10", cifar)
        return restrict(train), restrict(test)

    return Source(key=f"catdog|{cifar.key}", num_classes=2, flip_ok=True, read=read)
