"""scripts/confused_pair.py: the measurement behind the `fashion-mnist-shirts` pair, on hand-made cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scripts.confused_pair import class_error_rates, is_baseline, main, pair_confusion
from tests.helpers import REPO


def test_only_baseline_arms_count() -> None:
    assert [is_baseline(a) for a in ("baseline", "baseline-split", "deep-ensemble", "seed-0.1", "front-1")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_class_error_and_double_fault_rates() -> None:
    labels = np.array([0, 0, 1, 1])
    # one run: member 1 wrong on images 0 and 2, member 2 wrong on image 0
    correct = np.array([[[False, True, False, True], [False, True, True, True]]])
    errors, double = class_error_rates(correct, labels)
    assert errors.tolist() == [0.5, 0.25] and double.tolist() == [0.5, 0.0]


def test_the_pair_share_counts_both_directions_over_the_pair_s_images() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    # two members: 0->1 once and 1->0 once (pair 0/1: 2 of 8 member-images); 2->0 once (pair 0/2: 1 of 8)
    predictions = np.array([[1, 0, 1, 1, 0, 2], [0, 0, 0, 1, 2, 2]])
    pairs = pair_confusion(predictions, labels)
    assert pairs[:3] == [(0.25, 0, 1), (0.125, 0, 2), (0.0, 1, 2)]


def test_the_committed_baselines_miss_shirts_most(capsys: pytest.CaptureFixture[str]) -> None:
    # The 10-class studies' files: the binary shirts study tests on another split.
    files = [f for f in sorted((REPO / "docs" / "results").glob("**/correctness.npz")) if _classes(f) == 10]
    assert len(files) >= 3, f"the committed 10-class correctness.npz files: {files}"
    main([str(f) for f in files])
    out = capsys.readouterr().out
    table = out.splitlines()[2:]  # after the count line and the header
    assert table[0].startswith("shirt ") and "baseline runs" in out, out


def _classes(path: Path) -> int:
    with np.load(path) as data:
        return len(np.unique(data["labels"]))


def test_files_of_two_test_splits_are_refused_in_words(tmp_path: Path) -> None:
    ten, two = tmp_path / "ten.npz", tmp_path / "two.npz"
    np.savez(ten, run_index=np.array(["baseline/1"]), member_correct=np.ones((1, 2, 4), bool), labels=np.arange(4))
    np.savez(two, run_index=np.array(["baseline/1"]), member_correct=np.ones((1, 2, 3), bool), labels=np.arange(3) % 2)
    with pytest.raises(SystemExit, match=r"two.npz: baseline/1 was tested on another test split \(3 images, 2 classes"):
        main([str(ten), str(two)])


def test_a_file_without_baselines_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "correctness.npz"
    np.savez(path, run_index=np.array(["seed-0.1/1"]), member_correct=np.ones((1, 2, 3), bool), labels=np.arange(3))
    with pytest.raises(SystemExit, match="no baseline run"):
        main([str(path)])
