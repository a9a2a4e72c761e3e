"""Datasets as uint8 tensors, cached once, then held on the trial's device (DESIGN §5).

``load_dataset(name)`` returns ``(info, train, test)``: the images as uint8
``[N, C, H, W]`` and the labels as int64 ``[N]``, on the CPU. The first load of a
dataset reads its source files (or scikit-learn's bundled copy) and writes the
tensors to ``$NETSEP_CACHE_DIR/tensors/`` (default ``~/.cache/netsep``); later loads
read that file only. The cache key includes the source path, size and mtime, so a
different ``data_dir`` (or a replaced file) never reuses the wrong tensors.

``DeviceData`` then keeps both splits on one device and makes each batch with a few
batched tensor ops: one gather does the random translate and the horizontal flip
for the whole batch, so batch preparation costs a small fraction of a training step
(the airbench recipe; no per-sample ``DataLoader`` in the hot loop).

Registered datasets:

- ``digits``: scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), with a
  fixed stratified 3/4 : 1/4 train/test split. Ships with scikit-learn, so it needs no
  files and ``data_dir`` does not apply to it.
- ``fashion-mnist``: the four IDX ``.gz`` files, read from ``data_dir`` (or its
  torchvision layout ``FashionMNIST/raw``); with ``data_dir=None`` from Debian's
  ``/usr/share/datasets/fashion-mnist``, then the cache's ``datasets/`` folder.
  Missing files are downloaded through torchvision when ``download`` is true.
- ``cifar10``: torchvision's ``cifar-10-batches-py/`` folder under ``data_dir``
  (default: the cache's ``datasets/`` folder).
- ``cifar10-catdog``: CIFAR-10 restricted to cat (3) and dog (5), relabelled 0/1.

A dataset that is missing and cannot be downloaded raises ``DatasetMissingError``,
whose message names the exact folder and files to provide; there is never a silent
substitute.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from trainable.registry import Registry

__all__ = [
    "DatasetInfo",
    "DatasetMissingError",
    "DeviceData",
    "Split",
    "cache_dir",
    "dataset_names",
    "load_dataset",
    "read_idx_gz",
]

# Bump when the cached tensors' layout or a reader changes, so stale caches are not reused.
_CACHE_FORMAT = 1
# Fixed seed of the train_size subset order: the same train_size always picks the same images.
_SUBSET_SEED = 0
# Debian's dataset-fashion-mnist package installs the four IDX files here.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_CIFAR_CAT, _CIFAR_DOG = 3, 5
_OFFLINE_ALTERNATIVES = (
    "Offline alternatives: dataset 'digits' (bundled with scikit-learn, nothing to "
    "download) or 'fashion-mnist' (`apt-get install dataset-fashion-mnist` puts its "
    f"files in {DEBIAN_FASHION_MNIST_DIR})."
)


class DatasetMissingError(Exception):
    """A dataset's files are not where they should be and could not be downloaded."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a dataset's images and labels."""

    name: str
    channels: int
    height: int
    width: int
    num_classes: int
    flip_ok: bool  # a mirrored image is still an image of its class (not so for digits)
    mean: tuple[float, ...]  # per channel, of the full training split, in [0, 1] units
    std: tuple[float, ...]  # per channel, of the full training split, in [0, 1] units


@dataclass(frozen=True)
class Split:
    """One split: uint8 images ``[N, C, H, W]`` and int64 labels ``[N]``."""

    images: Tensor
    labels: Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(
                "Split.images must be uint8 [N, C, H, W], but got "
                f"dtype={self.images.dtype}, shape={tuple(self.images.shape)}"
            )
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(
                f"Split.labels must be int64 [N] with N={self.images.shape[0]}, but got "
                f"dtype={self.labels.dtype}, shape={tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def cache_dir() -> Path:
    """netsep's cache folder: ``$NETSEP_CACHE_DIR``, else ``~/.cache/netsep``."""
    configured = os.environ.get("NETSEP_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "netsep"


# ---------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    """A located dataset: ``key`` names exactly what ``read`` will read (cache key)."""

    key: str
    num_classes: int
    flip_ok: bool
    read: Callable[[], tuple[Split, Split]]


_DATASETS: Registry[_Source] = Registry("dataset")


def dataset_names() -> list[str]:
    """The registered dataset names, sorted."""
    return _DATASETS.names()


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


@_DATASETS.register("digits")
def _digits_source(data_dir: str | None, download: bool) -> _Source:
    # data_dir and download do not apply: the digits ship inside scikit-learn.
    import sklearn
    from sklearn import datasets

    def read() -> tuple[Split, Split]:
        from sklearn.model_selection import train_test_split

        bunch = datasets.load_digits()
        # Pixel values are counts 0..16 (4x4 blocks of a 32x32 bitmap); scale to 0..255.
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
        labels = bunch.target.astype(np.int64)
        train_idx, test_idx = train_test_split(
            np.arange(len(labels)), test_size=0.25, stratify=labels, random_state=0
        )
        return _split(images[train_idx], labels[train_idx]), _split(images[test_idx], labels[test_idx])

    key = f"digits|sklearn-{sklearn.__version__}|{Path(datasets.__file__).resolve().parent}"
    return _Source(key=key, num_classes=10, flip_ok=False, read=read)


def _split(images: np.ndarray, labels: np.ndarray) -> Split:
    return Split(
        torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)),
        torch.from_numpy(np.asarray(labels, dtype=np.int64)),
    )


# ------------------------------------------------------------------ fashion-mnist (IDX)


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
        raise ValueError(
            f"{path}: header shape {shape} needs {expected} bytes, but the file has {len(raw)}"
        )
    # copy(): frombuffer views the immutable bytes, and torch wants writable arrays.
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _fashion_candidates(data_dir: str | None) -> list[Path]:
    root = _datasets_root(data_dir)
    # Accept both the four files directly in the folder (Debian's layout) and
    # torchvision's layout below it (what a torchvision download leaves).
    torchvision_dir = root / "FashionMNIST" / "raw"
    if data_dir is None:
        return [DEBIAN_FASHION_MNIST_DIR, root / "fashion-mnist", torchvision_dir]
    return [root, torchvision_dir]


def _find_complete(candidates: list[Path], files: tuple[str, ...]) -> Path | None:
    for folder in candidates:
        if all((folder / name).is_file() for name in files):
            return folder
    return None


@_DATASETS.register("fashion-mnist")
def _fashion_source(data_dir: str | None, download: bool) -> _Source:
    candidates = _fashion_candidates(data_dir)
    folder = _find_complete(candidates, _FASHION_FILES)
    error: BaseException | None = None
    if folder is None and download:
        try:
            from torchvision.datasets import FashionMNIST

            FashionMNIST(root=str(_datasets_root(data_dir)), train=True, download=True)
        except Exception as exc:  # noqa: BLE001 (network, checksum, disk: all mean "still missing")
            error = exc
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
        return _split(train_x[:, None], train_y), _split(test_x[:, None], test_y)

    return _Source(key=f"fashion-mnist|{_file_identity(paths)}", num_classes=10, flip_ok=True, read=read)


# ---------------------------------------------------------------------------- CIFAR-10


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles CIFAR-10's batch files, refusing any global but numpy's array pieces.

    The files are pickles (that is the official format); a plain ``pickle.load`` of a
    file someone put in a shared data folder could run arbitrary code (DESIGN §7b).
    """

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset({
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # bytes pickled by Python 3 with protocol <= 2
    })

    def find_class(self, module: str, name: str) -> object:
        # The official files were written by numpy 1 (numpy.core); numpy 2 calls it numpy._core.
        if module.startswith("numpy.core."):
            module = "numpy._core." + module[len("numpy.core."):]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(
                f"CIFAR-10 batch files may only contain numpy arrays, lists and bytes, "
                f"but this one references {module}.{name}"
            )
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
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


@_DATASETS.register("cifar10")
def _cifar10_source(data_dir: str | None, download: bool) -> _Source:
    root = _datasets_root(data_dir)
    folder = root / _CIFAR_FOLDER
    candidates = [folder]
    found = _find_complete(candidates, _CIFAR_FILES)
    error: BaseException | None = None
    if found is None and download:
        try:
            from torchvision.datasets import CIFAR10

            CIFAR10(root=str(root), train=True, download=True)
        except Exception as exc:  # noqa: BLE001 (network, checksum, disk: all mean "still missing")
            error = exc
        found = _find_complete(candidates, _CIFAR_FILES)
    if found is None:
        raise DatasetMissingError(
            f"CIFAR-10 is missing: the folder {folder} must hold the files "
            f"{', '.join(_CIFAR_FILES)} (unpack the python version, cifar-10-python.tar.gz "
            f"from https://www.cs.toronto.edu/~kriz/cifar.html, inside {root}). "
            f"{_download_note(download, error)} {_OFFLINE_ALTERNATIVES}"
        )
    paths = [folder / name for name in _CIFAR_FILES]

    def read() -> tuple[Split, Split]:
        batches = [_read_cifar_batch(p) for p in paths]
        train_x = np.concatenate([b[0] for b in batches[:5]])
        train_y = np.concatenate([b[1] for b in batches[:5]])
        return _split(train_x, train_y), _split(*batches[5])

    return _Source(key=f"cifar10|{_file_identity(paths)}", num_classes=10, flip_ok=True, read=read)


@_DATASETS.register("cifar10-catdog")
def _catdog_source(data_dir: str | None, download: bool) -> _Source:
    cifar = _cifar10_source(data_dir, download)

    def restrict(split: Split) -> Split:
        keep = (split.labels == _CIFAR_CAT) | (split.labels == _CIFAR_DOG)
        return Split(split.images[keep].contiguous(), (split.labels[keep] == _CIFAR_DOG).long())

    def read() -> tuple[Split, Split]:
        # Start from the cached CIFAR-10 tensors: reading the pickles again would be slower.
        train, test, _, _ = _load_cached("cifar10", cifar)
        return restrict(train), restrict(test)

    return _Source(key=f"catdog|{cifar.key}", num_classes=2, flip_ok=True, read=read)


# ------------------------------------------------------------------------- the cache


def _channel_stats(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std in [0, 1] units, in chunks (no full float copy)."""
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    total_sq = torch.zeros(channels, dtype=torch.float64)
    for chunk in images.split(4096):
        values = chunk.to(torch.float64).div_(255.0).transpose(0, 1).reshape(channels, -1)
        total += values.sum(dim=1)
        total_sq += values.square().sum(dim=1)
    count = images.numel() // channels
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0.0).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())


def _cache_path(name: str, source: _Source) -> Path:
    digest = hashlib.sha256(f"{_CACHE_FORMAT}|{name}|{source.key}".encode()).hexdigest()[:16]
    return cache_dir() / "tensors" / f"{name}-{digest}.pt"


def _load_cached(name: str, source: _Source) -> tuple[Split, Split, tuple[float, ...], tuple[float, ...]]:
    path = _cache_path(name, source)
    if path.is_file():
        # weights_only: a cache file is data and must never run code (DESIGN §7b).
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return (
            Split(blob["train_images"], blob["train_labels"]),
            Split(blob["test_images"], blob["test_labels"]),
            tuple(blob["mean"].tolist()),
            tuple(blob["std"].tolist()),
        )
    train, test = source.read()
    for split_name, split in (("train", train), ("test", test)):
        if len(split) and (split.labels.min() < 0 or split.labels.max() >= source.num_classes):
            raise ValueError(
                f"{name} {split_name} labels must lie in [0, {source.num_classes}), but got "
                f"[{int(split.labels.min())}, {int(split.labels.max())}]"
            )
    mean, std = _channel_stats(train.images)
    blob = {
        "train_images": train.images,
        "train_labels": train.labels,
        "test_images": test.images,
        "test_labels": test.labels,
        "mean": torch.tensor(mean, dtype=torch.float64),
        "std": torch.tensor(std, dtype=torch.float64),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename: trials starting in parallel never see half a file. (A plain
    # open, not mkstemp, so the file gets the user's umask and a shared cache stays shared.)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("xb") as f:
            torch.save(blob, f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return train, test, mean, std


# ---------------------------------------------------------------------------- subsets


def _stratified_order(labels: Tensor) -> Tensor:
    """An order of the examples whose every prefix is class-stratified.

    Within each class the examples are shuffled with a fixed seed; example j of a
    class with n members gets the rank (j + 0.5) / n, and sorting by rank interleaves
    the classes in proportion. So the first k examples hold each class's share of k
    (to within one), and a smaller subset is always part of a larger one.
    """
    y = labels.numpy()
    rng = np.random.default_rng(_SUBSET_SEED)
    rank = np.empty(len(y), dtype=np.float64)
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        rank[rng.permutation(members)] = (np.arange(len(members)) + 0.5) / len(members)
    # Ties (classes of equal size) are broken by class label, then index: stable and fixed.
    return torch.from_numpy(np.lexsort((np.arange(len(y)), y, rank)))


def _subset(train: Split, train_size: int) -> Split:
    if not 1 <= train_size <= len(train):
        raise ValueError(
            f"train_size must satisfy 1 <= train_size <= {len(train)} (the training split), "
            f"but got train_size={train_size}"
        )
    # Keep the original order, so train_size == len(train) gives the full split unchanged.
    chosen = _stratified_order(train.labels)[:train_size].sort().values
    return Split(train.images[chosen].contiguous(), train.labels[chosen].contiguous())


def load_dataset(
    name: str,
    data_dir: str | None = None,
    train_size: int | None = None,
    download: bool = True,
) -> tuple[DatasetInfo, Split, Split]:
    """Load ``(info, train, test)`` on the CPU, reading the cache when it exists.

    ``train_size`` keeps a deterministic, class-stratified subset of the training
    split (the same images for the same ``train_size``, whatever else changes); the
    test split is always complete. ``info.mean``/``info.std`` describe the full
    training split, so normalization does not change with ``train_size``.
    """
    source = _DATASETS.create(name, data_dir=data_dir, download=download)
    train, test, mean, std = _load_cached(name, source)
    if train_size is not None:
        train = _subset(train, train_size)
    _, channels, height, width = train.images.shape
    info = DatasetInfo(
        name=name,
        channels=int(channels),
        height=int(height),
        width=int(width),
        num_classes=source.num_classes,
        flip_ok=source.flip_ok,
        mean=mean,
        std=std,
    )
    return info, train, test


# ------------------------------------------------------------------------ on device


def _reflect(index: Tensor, size: int) -> Tensor:
    """Map indices in [-(size-1), 2*(size-1)] into [0, size) by reflection (edge not repeated)."""
    last = size - 1
    return last - (last - index.abs()).abs()


class DeviceData:
    """Train/test tensors resident on one device; batches made with batched tensor ops."""

    def __init__(
        self,
        info: DatasetInfo,
        train: Split,
        test: Split,
        device: torch.device,
        augment: bool = True,
    ) -> None:
        self.info = info
        self.device = torch.device(device)
        self.augment = augment
        # Translate by up to 1/16 of the image: 2 px on 32x32 (the CIFAR standard), 1 px on 8x8.
        self.pad = max(1, round(info.height / 16))
        if self.pad >= min(info.height, info.width):
            raise ValueError(
                f"images must be larger than the translate pad {self.pad}, but got "
                f"{info.height}x{info.width}"
            )
        self.train_images = train.images.to(self.device).contiguous()
        self.train_labels = train.labels.to(self.device)
        self.test_images = test.images.to(self.device).contiguous()
        self.test_labels = test.labels.to(self.device)
        self._rows = torch.arange(info.height, device=self.device)
        self._cols = torch.arange(info.width, device=self.device)

    @property
    def num_train(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.test_labels.shape[0])

    def steps_per_epoch(self, batch_size: int) -> int:
        """Full batches per epoch (the last partial batch is dropped)."""
        if not 1 <= batch_size <= self.num_train:
            raise ValueError(
                f"batch_size must satisfy 1 <= batch_size <= {self.num_train} (training "
                f"examples), but got batch_size={batch_size}"
            )
        return self.num_train // batch_size

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        """One shuffled, augmented epoch of ``(x float32 [B, C, H, W] in [0, 1], y int64)``.

        All random numbers of the epoch are drawn from ``generator`` (on the CPU, so its
        state is checkpointable and the same on every device) when the epoch starts, in
        a fixed order: permutation, shifts, flips.
        """
        if generator.device.type != "cpu":
            raise ValueError(f"generator must live on the CPU, but got device={generator.device}")
        steps = self.steps_per_epoch(batch_size)
        used = steps * batch_size
        order = torch.randperm(self.num_train, generator=generator)[:used].to(self.device)
        shifts = flips = None
        if self.augment:
            shifts = torch.randint(-self.pad, self.pad + 1, (used, 2), generator=generator).to(self.device)
            if self.info.flip_ok:
                flips = torch.randint(0, 2, (used,), generator=generator, dtype=torch.bool).to(self.device)
        for step in range(steps):
            window = slice(step * batch_size, (step + 1) * batch_size)
            index = order[window]
            if shifts is None:
                images = self.train_images[index]
            else:
                images = self._translate_flip(index, shifts[window], None if flips is None else flips[window])
            yield images.float().div_(255.0), self.train_labels[index]

    def _translate_flip(self, index: Tensor, shifts: Tensor, flips: Tensor | None) -> Tensor:
        """Gather a batch shifted by ``shifts`` (dy, dx) with reflect padding, then mirrored.

        out[b, c, i, j] = image[b, c, R(i - dy), R(j' - dx)], j' = W-1-j where flipped,
        so content moves down/right by (dy, dx). One gather over the flattened pixels,
        with one [B, H*W] source index shared by all channels, does it for the whole
        batch (no padded copy, no loop; ~1.5x the cost of plain indexing on the CPU,
        where a 4-tensor advanced index or two gathers cost 3-4x).
        """
        batch = index.shape[0]
        height, width = self.info.height, self.info.width
        cols = self._cols.expand(batch, width)
        if flips is not None:
            cols = torch.where(flips[:, None], width - 1 - cols, cols)
        rows = _reflect(self._rows[None, :] - shifts[:, :1], height)  # [B, H]
        cols = _reflect(cols - shifts[:, 1:], width)  # [B, W]
        source = (rows[:, :, None] * width + cols[:, None, :]).view(batch, 1, height * width)
        images = self.train_images[index].view(batch, self.info.channels, height * width)
        gathered = images.gather(2, source.expand(batch, self.info.channels, height * width))
        return gathered.view(batch, self.info.channels, height, width)

    def test_batches(self, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """The test split in order, without augmentation, including the last partial batch."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, but got batch_size={batch_size}")
        for start in range(0, self.num_test, batch_size):
            stop = start + batch_size
            yield self.test_images[start:stop].float().div_(255.0), self.test_labels[start:stop]
