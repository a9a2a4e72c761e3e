"""The metrics a trial reports, and which way is better: defined once.

Both ``trainable/`` (which computes and reports them) and ``sweep/`` (which lets a
search space name them as objectives) import this module. It imports nothing heavy,
so the sweep side can validate a space without loading torch.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["METRICS", "OBJECTIVE_METRICS", "PAIR_METRIC_NAMES", "Direction", "direction_of", "optuna_direction"]

Direction = Literal["max", "min"]

# name -> (direction, one-line meaning). Direction None marks a diagnostic that is
# reported every epoch but cannot be a search objective.
# Every key ``pair_metrics`` returns without representations (cka is added when
# both are given). Each is defined in METRICS below.
PAIR_METRIC_NAMES: tuple[str, ...] = (
    "acc_1",
    "acc_2",
    "member_acc",
    "min_member_acc",
    "ensemble_acc",
    "ensemble_gain",
    "disagreement",
    "double_fault",
    "excess_agreement",
    "q_statistic",
    "ensemble_nll",
    "ece",
    "tpa_0",
    "tpa_1",
    "tpa_2",
    "tpa_expected_0",
    "tpa_expected_1",
    "tpa_expected_2",
)

METRICS: dict[str, tuple[Direction | None, str]] = {
    "acc_1": ("max", "test accuracy of classifier 1"),
    "acc_2": ("max", "test accuracy of classifier 2"),
    "member_acc": ("max", "mean test accuracy of the two classifiers"),
    "min_member_acc": ("max", "test accuracy of the weaker classifier"),
    "ensemble_acc": ("max", "accuracy of the argmax of the mean softmax"),
    "ensemble_gain": ("max", "ensemble_acc - member_acc"),
    "disagreement": ("max", "fraction of test examples whose two predictions differ"),
    "double_fault": ("min", "fraction of test examples both classifiers get wrong"),
    "excess_agreement": ("min", "both_right - acc_1 * acc_2 (covariance of correctness)"),
    "q_statistic": ("min", "Yule's Q of the 2x2 correctness table"),
    "cka": ("min", "debiased linear CKA between the two representations (1 = same up to rotation, ~0 unrelated)"),
    "ensemble_nll": ("min", "negative log-likelihood of the ensemble's mean softmax"),
    "ece": ("min", "expected calibration error of the ensemble (15 bins)"),
    "disc_acc": (None, "discriminator accuracy on held-out pairs (diagnostic)"),
    # Lower = less information shared beyond the class (0.5 = none); compare, not a sweep objective.
    "probe_acc": (None, "redundancy probe: a fresh D's balanced accuracy on test pairs of the frozen features"),
    "tpa_0": (None, "fraction of test examples no classifier gets right"),
    "tpa_1": (None, "fraction of test examples exactly one classifier gets right"),
    "tpa_2": (None, "fraction of test examples both classifiers get right"),
    "tpa_expected_0": (None, "tpa_0 expected if the classifiers erred independently"),
    "tpa_expected_1": (None, "tpa_1 expected if the classifiers erred independently"),
    "tpa_expected_2": (None, "tpa_2 expected if the classifiers erred independently"),
    "train_loss": (None, "mean classifier loss over the last epoch"),
    "disc_loss": (None, "mean discriminator loss over the last epoch"),
    "epoch": (None, "epochs completed so far (counts on across a resume)"),
    "train_seconds": (None, "seconds spent training (and evaluating) so far in this trial"),
}

OBJECTIVE_METRICS: tuple[str, ...] = tuple(n for n, (d, _) in METRICS.items() if d is not None)


def direction_of(name: str) -> Direction:
    """The direction of an objective metric; ``KeyError`` for others."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    direction = METRICS[name][0]
    if direction is None:
        raise KeyError(
            f"metric {name!r} is a diagnostic and cannot be an objective; objectives: {', '.join(OBJECTIVE_METRICS)}"
        )
    return direction


def optuna_direction(name: str) -> str:
    """Optuna's spelling of a metric's direction ('maximize' / 'minimize')."""
    return "maximize" if direction_of(name) == "max" else "minimize"
