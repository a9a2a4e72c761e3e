"""``ShippedDataset``: the splits as the driver read them serve a trial that has no files.

The same (dataset, data_dir) gives the same images whether a trial reads the files or
gets the driver's copy; a copy for other settings is never used; and a trial whose
node lacks the files trains from the copy.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

import trainable.data.loading as loading
from tests.helpers import require
from trainable.config import TrialConfig
from trainable.data import DatasetMissingError, load_shippable, load_splits
from trainable.data.sources import DEBIAN_FASHION_MNIST_DIR
from trainable.loop import PairTraining


def _same(a, b) -> bool:
    return torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_the_shipped_copy_gives_the_same_splits_and_reads_no_file(monkeypatch):
    shipped = pickle.loads(pickle.dumps(load_shippable("digits")))  # as Ray's object store carries it
    from_files = load_splits("digits", None, train_size=300, val_size=100)

    def no_files(*args, **kwargs):
        raise AssertionError("a file was read although the driver's copy serves these settings")

    monkeypatch.setattr(loading, "load_shippable", no_files)
    from_copy = load_splits("digits", None, train_size=300, val_size=100, shipped=shipped)
    assert from_copy[0] == from_files[0]
    assert all(_same(a, b) for a, b in zip(from_copy[1:], from_files[1:], strict=True))
    tensors = (shipped.train.images, shipped.train.labels, shipped.test.images, shipped.test.labels)
    assert shipped.nbytes == sum(t.numel() * t.element_size() for t in tensors)


def test_a_copy_for_other_settings_is_not_used(monkeypatch, tmp_path):
    shipped = load_shippable("digits")
    assert not shipped.serves("digits", str(tmp_path)) and not shipped.serves("fashion-mnist", None)
    with pytest.raises(DatasetMissingError):  # fashion-mnist from an empty folder: the files are read, and missing
        load_splits("fashion-mnist", str(tmp_path), shipped=shipped, download=False)


def test_a_trial_without_the_files_trains_from_the_drivers_copy(tmp_path: Path):
    require(Path(DEBIAN_FASHION_MNIST_DIR).is_dir(), "needs Debian's dataset-fashion-mnist")
    empty = tmp_path / "no-files-here"
    empty.mkdir()
    on_driver = load_shippable("fashion-mnist", download=False)
    # What the trial's node has: the same settings, but its data_dir holds nothing.
    shipped = loading.ShippedDataset(
        "fashion-mnist",
        str(empty),
        on_driver.train,
        on_driver.test,
        on_driver.mean,
        on_driver.std,
        on_driver.num_classes,
        on_driver.flip_ok,
    )
    config = TrialConfig.from_dict(
        {
            "dataset": "fashion-mnist",
            "data_dir": str(empty),
            "train_size": 64,
            "val_size": 32,
            "batch_size": 32,
            "epochs": 1,
            "width": 0.25,
            "objective": "independent",
            "w_adv": 0.0,
        }
    )
    before = sorted(empty.rglob("*"))
    training = PairTraining(config, shipped=shipped)
    metrics = training.run_epoch()
    assert metrics["epoch"] == 1 and 0.0 <= metrics["ensemble_acc"] <= 1.0
    assert sorted(empty.rglob("*")) == before  # nothing read, nothing downloaded
    with pytest.raises(DatasetMissingError):  # and without the copy, this trial has no data
        PairTraining(config)
