#!/usr/bin/env python
"""Which two Fashion-MNIST classes do our baselines confuse most? (the `fashion-mnist-shirts` pair)

    python -m scripts.confused_pair docs/results/*/correctness.npz docs/results/*/compare/correctness.npz
    python -m scripts.confused_pair docs/results/fmnist-loss-weights-replicated/compare/correctness.npz \
        --runs /work/runs/fmnist-loss-weights-k3/compare/runs.csv

Only the baseline arms count (``baseline``, ``baseline-<pairing>``, ``deep-ensemble``):
the question is where two independently trained networks fail, not the adversarial arms.

1. From the committed ``correctness.npz`` files (each member right or wrong on each test
   image, and the labels): each class's member error rate and double-fault rate. These
   name the hard classes but not the pair: a wrong answer's class is not stored.
2. With ``--runs`` (a compare's ``runs.csv``, whose checkpoints hold the test
   predictions; not committed, 107 MB): the confusion matrix of the same baseline members,
   and per pair of classes the share of the pair's test images that a member puts in the
   other class of the pair. Where a correctness file holds the same runs (arm/seed), the
   predictions are checked against it first, so the pair is measured on the committed runs.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from sweep.baselines import BASELINE_ARM
from sweep.compare.plan import DEEP_ENSEMBLE_ARM
from trainable.outputs import read_test_outputs

__all__ = ["FASHION_CLASSES", "class_error_rates", "confusion_counts", "is_baseline", "pair_confusion"]

FASHION_CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")


def is_baseline(arm: str) -> bool:
    return arm in (BASELINE_ARM, DEEP_ENSEMBLE_ARM) or arm.startswith(f"{BASELINE_ARM}-")


def class_error_rates(member_correct: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class: the members' error rate and the double-fault rate (both wrong), as fractions.

    ``member_correct`` is bool [runs, 2, N]; ``labels`` int [N].
    """
    classes = int(labels.max()) + 1
    wrong = ~member_correct
    errors = np.array([wrong[:, :, labels == c].mean() for c in range(classes)])
    double = np.array([wrong[:, :, labels == c].all(axis=1).mean() for c in range(classes)])
    return errors, double


def confusion_counts(predictions: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """int [C, C]: row = true class, column = predicted, summed over the members (rows of ``predictions``)."""
    classes = int(labels.max()) + 1
    counts = np.zeros((classes, classes), dtype=np.int64)
    for row in predictions:
        np.add.at(counts, (labels, row), 1)
    return counts


def pair_confusion(predictions: np.ndarray, labels: np.ndarray) -> list[tuple[float, int, int]]:
    """Pairs (share, a, b), most confused first: a's images called b plus b's called a, over the pair's images.

    ``predictions`` is int [members, N] (every baseline member of every run, one row each).
    """
    counts = confusion_counts(predictions, labels)
    classes = len(counts)
    per_class = np.bincount(labels, minlength=classes) * len(predictions)  # member-image pairs per class
    pairs = [
        ((counts[a, b] + counts[b, a]) / (per_class[a] + per_class[b]), a, b)
        for a in range(classes)
        for b in range(a + 1, classes)
    ]
    return sorted(pairs, reverse=True)


def _name(c: int) -> str:
    return FASHION_CLASSES[c] if c < len(FASHION_CLASSES) else str(c)


def _from_correctness(paths: list[Path]) -> dict[tuple[Path, str], tuple[np.ndarray, np.ndarray]]:
    """(file, run id arm/seed) -> (member_correct [2, N], labels) of every baseline run in ``paths``."""
    runs: dict[tuple[Path, str], tuple[np.ndarray, np.ndarray]] = {}
    for path in paths:
        with np.load(path, allow_pickle=False) as data:
            for k, run in enumerate(data["run_index"]):
                if is_baseline(str(run).split("/")[0]):
                    runs[(path, str(run))] = (data["member_correct"][k], data["labels"])
    return runs


def _predictions(
    runs_csv: Path, committed: dict[tuple[Path, str], tuple[np.ndarray, np.ndarray]]
) -> tuple[list[np.ndarray], np.ndarray, set[Path]]:
    """The baseline members' test predictions of one compare, and the files they were checked against.

    A run whose id (arm/seed) some correctness file holds must match one of those files
    exactly (several compares reuse ids such as baseline/1000); a run no file holds is
    taken as it is.
    """
    predictions, labels, matched = [], np.zeros(0, dtype=np.int64), set()
    with runs_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            if not is_baseline(row["arm"]) or row["status"] != "complete":
                continue
            outputs = read_test_outputs(row["checkpoint"])
            run = f"{row['arm']}/{row['seed']}"
            candidates = [path for (path, r), (c, _) in committed.items() if r == run]
            same = [path for path in candidates if np.array_equal(committed[(path, run)][0], outputs.member_correct)]
            if candidates and not same:
                raise SystemExit(f"{row['checkpoint']}: its predictions match no correctness file holding {run}")
            matched.update(same)
            predictions.append(outputs.member_predictions)
            labels = outputs.labels
    return predictions, labels, matched


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("correctness", nargs="+", type=Path, help="correctness.npz files of compare runs or studies")
    parser.add_argument("--runs", type=Path, action="append", default=[], help="a compare's runs.csv (checkpoints)")
    args = parser.parse_args(argv)

    runs = _from_correctness(args.correctness)
    if not runs:
        raise SystemExit(f"no baseline run in {', '.join(map(str, args.correctness))}")
    labels = next(iter(runs.values()))[1]
    for (path, run), (_, y) in runs.items():
        # Checked before stacking: a binary study's test set (2,000 images) beside a
        # 10-class one (10,000) is a different question, not one array.
        if not np.array_equal(y, labels):
            raise SystemExit(
                f"{path}: {run} was tested on another test split ({len(y)} images, "
                f"{len(np.unique(y))} classes; the first file's has {len(labels)}, {len(np.unique(labels))}); "
                "give files of one dataset"
            )
    correct = np.stack([c for c, _ in runs.values()])
    errors, double = class_error_rates(correct, labels)
    print(f"{len(runs)} baseline runs ({2 * len(runs)} members) in {len(args.correctness)} files, {len(labels)} images")
    print("class          member error  double fault")
    for c in np.argsort(-errors):
        print(f"{_name(c):<14} {100 * errors[c]:10.1f} %  {100 * double[c]:10.1f} %")

    if args.runs:
        predictions: list[np.ndarray] = []
        matched: set[Path] = set()
        for runs_csv in args.runs:
            found, labels, files = _predictions(runs_csv, runs)
            predictions += found
            matched |= files
        where = ", ".join(map(str, sorted(matched))) or "no correctness file given"
        print(f"\n{len(predictions)} baseline runs' predictions; the same runs as: {where}")
        stacked = np.concatenate(predictions)
        print("confusion, summed over the members (row: true class, column: predicted, in class order)")
        for c, row in enumerate(confusion_counts(stacked, labels)):
            print(f"{_name(c):<14}" + "".join(f"{n:7d}" for n in row))
        print("pair                        share of the pair's images put in the other class")
        for share, a, b in pair_confusion(stacked, labels)[:5]:
            print(f"{_name(a) + ' / ' + _name(b):<27} {100 * share:6.2f} %")


if __name__ == "__main__":
    main()
