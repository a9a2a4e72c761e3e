"""A sweep trial never reaches the test split; a compare run scores it once, at the end.

The dataset here is real (scikit-learn's digits, written as the four Fashion-MNIST IDX
files so the ordinary folder reader loads it) with one twist: the *test* labels are a
random permutation. Whatever a sweep trial reports must then still look normal (it is
measured on validation, carved from the correctly labelled training data), while the
final test of a compare run must be at chance level. A trial that selected on the test
split would show chance-level objectives; one that never ran the final test would show
no test metrics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from tests.trainable.data.files import FASHION_FILES, write_idx_gz
from trainable.data import DeviceData
from trainable.loop import run_trial

N_TEST = 400
# Each test trains 4 epochs end to end (minutes on 2 busy cores).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shuffled_test_labels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)  # 8x8, 0..16 -> 0..255
    labels = digits.target.astype(np.uint8)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(labels))
    train, test = order[N_TEST:], order[:N_TEST]
    folder = tmp_path_factory.mktemp("digits-random-test-labels")
    random_labels = rng.integers(0, 10, N_TEST).astype(np.uint8)  # unrelated to the images
    arrays = (images[train], labels[train], images[test], random_labels)
    for name, array in zip(FASHION_FILES, arrays):
        write_idx_gz(folder / name, array)
    return folder


def _config(folder: Path, **extra: object) -> dict[str, object]:
    return {
        "dataset": "fashion-mnist",
        "data_dir": str(folder),
        "epochs": 4,
        "batch_size": 64,
        "objective": "independent",
        "w_adv": 0.0,
        "augment": False,
        **extra,
    }


def test_sweep_trial_reports_validation_and_never_reads_test(
    shuffled_test_labels: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    original = DeviceData.eval_batches

    def recording(self: DeviceData, split: str, batch_size: int):  # type: ignore[no-untyped-def]
        asked.append(split)
        return original(self, split, batch_size)

    monkeypatch.setattr(DeviceData, "eval_batches", recording)
    history = run_trial(_config(shuffled_test_labels))
    assert set(asked) == {"validation"}
    last = history[-1]
    assert last["eval_split"] == "validation"
    assert last["ensemble_acc"] > 0.85  # normal digits accuracy: not the random test labels
    assert not any(key.startswith("test_") for key in last)


def test_compare_run_scores_the_test_split_once_at_chance(
    shuffled_test_labels: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[int, str]] = []
    original = DeviceData.eval_batches
    epoch = {"n": 0}

    def recording(self: DeviceData, split: str, batch_size: int):  # type: ignore[no-untyped-def]
        asked.append((epoch["n"], split))
        return original(self, split, batch_size)

    monkeypatch.setattr(DeviceData, "eval_batches", recording)
    history = run_trial(
        _config(shuffled_test_labels, final_test=True),
        on_epoch=lambda metrics, training: epoch.update(n=training.epoch),
    )
    last = history[-1]
    assert last["ensemble_acc"] > 0.85  # validation: still normal
    assert last["test_ensemble_acc"] < 0.2  # random labels: chance is 0.1
    assert 0.3 < last["probe_acc"] < 1.0 or np.isnan(last["probe_acc"])
    # The test split is read only in the last epoch (its metrics and the probe's scoring).
    test_reads = [n for n, split in asked if split == "test"]
    assert test_reads and set(test_reads) == {3}  # on_epoch has not yet run for epoch 4
    assert all("test_ensemble_acc" not in m for m in history[:-1])
