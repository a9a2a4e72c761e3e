"""Accuracy, diversity, calibration and similarity metrics of a pair (docs/design.md, "The metrics").

Pure functions of tensors: no file I/O, no config, no global state. They run on
whatever device their inputs live on and return plain Python floats (or small
tensors for the histograms), so ``pair_metrics`` can go straight into
``ray.tune.report``.

Conventions:
- ``correct`` tensors are bool: ``correct[k, i]`` (or ``correct[i]``) is True when
  model k is right on example i.
- ``probs`` are softmax outputs, ``[M, N, C]`` (model x example x class); the
  ensemble's prediction is the mean over models (a deep ensemble averages
  probabilities, not logits).
- Statistics that need precision (Poisson-binomial, CKA, NLL) are computed in
  float64 whatever the input dtype, because members often run in half precision.
"""

from __future__ import annotations

import torch
from torch import Tensor

from trainable.cka import linear_cka
from trainable.metric_names import PAIR_METRIC_NAMES

__all__ = [
    "ECE_BINS",
    "NLL_PROB_FLOOR",
    "PAIR_METRIC_NAMES",
    "disagreement",
    "double_fault",
    "ensemble_accuracy",
    "ensemble_nll",
    "excess_agreement",
    "expected_calibration_error",
    "linear_cka",
    "pair_metrics",
    "poisson_binomial",
    "q_statistic",
    "tp_agreement",
    "tp_agreement_histogram",
]

# The smallest probability ``ensemble_nll`` takes the log of. A float32 softmax
# underflows to exactly 0 when every member is confidently wrong; log(0) = -inf
# would make the whole epoch's NLL infinite and uncomparable across trials. The
# floor caps one example's loss at -ln(1e-12) ~ 27.6 nats, far above any loss a
# trained net has on a typical example, so it only bites on those underflows.
NLL_PROB_FLOOR = 1e-12

# Rows of a softmax must sum to 1; half-precision members and their mean drift by
# ~1e-3, so anything within this tolerance counts as a probability vector. It is
# loose on purpose: its job is to catch logits passed where probabilities belong.
_PROB_SUM_ATOL = 1e-2

# Equal-width confidence bins of the ECE (the common choice since Guo et al. 2017).
ECE_BINS = 15


# ---------------------------------------------------------------- validation
def _check_correct_matrix(correct: Tensor) -> None:
    if correct.dtype != torch.bool:
        raise TypeError(f"correct must be a bool tensor (True = model right), but got dtype {correct.dtype}")
    if correct.ndim != 2 or correct.shape[0] < 1 or correct.shape[1] < 1:
        raise ValueError(
            f"correct must have shape [M, N] with M >= 1 models and N >= 1 "
            f"examples, but got shape {tuple(correct.shape)}"
        )


def _check_correct_pair(correct_a: Tensor, correct_b: Tensor) -> None:
    for name, t in (("correct_a", correct_a), ("correct_b", correct_b)):
        if t.dtype != torch.bool:
            raise TypeError(f"{name} must be a bool tensor (True = model right), but got dtype {t.dtype}")
        if t.ndim != 1 or t.numel() == 0:
            raise ValueError(f"{name} must have shape [N] with N >= 1, but got shape {tuple(t.shape)}")
    if correct_a.shape != correct_b.shape:
        raise ValueError(
            f"correct_a and correct_b must have the same shape, but got "
            f"{tuple(correct_a.shape)} and {tuple(correct_b.shape)}"
        )


def _mean_probs(probs: Tensor, labels: Tensor) -> Tensor:
    """The ensemble's mean softmax ``[N, C]`` in float64, after checking the inputs.

    ``probs`` may be ``[M, N, C]`` (averaged over models) or ``[N, C]`` (already one
    distribution per example: a single model, or a mean computed elsewhere).
    """
    if probs.ndim not in (2, 3) or probs.shape[-1] < 1 or probs.shape[-2] < 1:
        raise ValueError(
            f"probs must have shape [M, N, C] or [N, C] with N, C >= 1, but got shape {tuple(probs.shape)}"
        )
    if not probs.is_floating_point():
        raise TypeError(f"probs must be a float tensor of softmax outputs, but got dtype {probs.dtype}")
    n = probs.shape[-2]
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"labels must have shape [N] = [{n}] to match probs "
            f"{tuple(probs.shape)}, but got shape {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor of class indices, but got dtype {labels.dtype}")
    num_classes = probs.shape[-1]
    if bool(((labels < 0) | (labels >= num_classes)).any()):
        raise ValueError(
            f"labels must lie in [0, C-1] = [0, {num_classes - 1}], but got "
            f"min {int(labels.min())} and max {int(labels.max())}"
        )
    p = probs.detach().to(torch.float64)
    if bool(((p < 0) | (p > 1)).any()) or not torch.allclose(
        p.sum(-1), torch.ones((), dtype=p.dtype, device=p.device), atol=_PROB_SUM_ATOL
    ):
        raise ValueError(
            f"probs must be softmax outputs (entries in [0, 1], rows summing "
            f"to 1 within {_PROB_SUM_ATOL}); got entries in "
            f"[{float(p.min()):.4g}, {float(p.max()):.4g}] and row sums in "
            f"[{float(p.sum(-1).min()):.4g}, {float(p.sum(-1).max()):.4g}]; "
            f"pass softmax(logits), not logits"
        )
    return p.mean(0) if p.ndim == 3 else p


# ------------------------------------------------------------ TP-agreement
@torch.no_grad()
def tp_agreement(correct: Tensor) -> Tensor:
    """Per-example TP-agreement (Hacohen et al. 2020): the fraction of models right.

    ``correct`` is bool ``[M, N]``; returns float ``[N]`` with values in
    {0, 1/M, ..., 1}.
    """
    _check_correct_matrix(correct)
    return correct.to(torch.float64).mean(0)


@torch.no_grad()
def poisson_binomial(p: Tensor) -> Tensor:
    """Distribution of the number of successes of independent Bernoulli(p_k) trials.

    ``p`` is ``[M]`` with entries in [0, 1]; returns float64 ``[M+1]`` whose entry k is
    P(exactly k successes). Computed exactly by the convolution recursion: adding
    trial k maps the distribution d to d * (1 - p_k) + shift(d) * p_k, O(M^2) in all,
    which is exact and cheap for the handful of models in an ensemble (no FFT or
    normal approximation needed).
    """
    if p.ndim != 1:
        raise ValueError(f"p must have shape [M], but got shape {tuple(p.shape)}")
    p = p.detach().to(torch.float64)
    if bool(((p < 0) | (p > 1)).any()) or bool(p.isnan().any()):
        raise ValueError(f"p must hold probabilities in [0, 1], but got {p.tolist()}")
    dist = torch.zeros(p.numel() + 1, dtype=torch.float64, device=p.device)
    dist[0] = 1.0  # zero trials: zero successes for sure
    for k, pk in enumerate(p):
        # Only entries 0..k can be nonzero after k trials; update them into 0..k+1.
        head = dist[: k + 1].clone()
        dist[: k + 1] = head * (1 - pk)
        dist[1 : k + 2] += head * pk
    return dist


@torch.no_grad()
def tp_agreement_histogram(correct: Tensor) -> tuple[Tensor, Tensor]:
    """Observed and independence-expected histograms of TP-agreement.

    ``correct`` is bool ``[M, N]``. Returns ``(observed, expected)``, float64
    tensors of length M+1, each summing to 1: entry k of ``observed`` is the
    fraction of examples that exactly k models get right; ``expected`` is the
    same if the models erred independently with their own accuracies (the
    Poisson-binomial distribution of those accuracies). Observed mass in the end
    bins above expected means the models err together.
    """
    _check_correct_matrix(correct)
    m, n = correct.shape
    n_right = correct.sum(0)  # [N], int in 0..M
    observed = torch.bincount(n_right, minlength=m + 1).to(torch.float64) / n
    expected = poisson_binomial(correct.to(torch.float64).mean(1))
    return observed, expected


# ----------------------------------------------------------- pair diversity
@torch.no_grad()
def disagreement(pred_a: Tensor, pred_b: Tensor) -> float:
    """Fraction of examples whose two predicted classes (int ``[N]``) differ."""
    for name, t in (("pred_a", pred_a), ("pred_b", pred_b)):
        if t.ndim != 1 or t.numel() == 0:
            raise ValueError(f"{name} must have shape [N] with N >= 1, but got shape {tuple(t.shape)}")
        if t.dtype.is_floating_point:
            raise TypeError(f"{name} must hold integer class predictions (argmax), but got dtype {t.dtype}")
    if pred_a.shape != pred_b.shape:
        raise ValueError(
            f"pred_a and pred_b must have the same shape, but got {tuple(pred_a.shape)} and {tuple(pred_b.shape)}"
        )
    return (pred_a != pred_b).to(torch.float64).mean().item()


@torch.no_grad()
def double_fault(correct_a: Tensor, correct_b: Tensor) -> float:
    """Fraction of examples both models get wrong (bool ``[N]`` each)."""
    _check_correct_pair(correct_a, correct_b)
    return (~correct_a & ~correct_b).to(torch.float64).mean().item()


@torch.no_grad()
def excess_agreement(correct_a: Tensor, correct_b: Tensor) -> float:
    """P(both right) - p_a * p_b: the covariance of the two correctness indicators.

    0 when the models err independently, positive when they are right (and wrong)
    together, negative when one tends to be right where the other is wrong.
    """
    _check_correct_pair(correct_a, correct_b)
    a = correct_a.to(torch.float64)
    b = correct_b.to(torch.float64)
    return ((a * b).mean() - a.mean() * b.mean()).item()


@torch.no_grad()
def q_statistic(correct_a: Tensor, correct_b: Tensor) -> float:
    """Yule's Q of the 2x2 correctness table, in [-1, 1].

    With N11 = both right, N00 = both wrong, N10 = only a right, N01 = only b right:
    Q = (N11*N00 - N10*N01) / (N11*N00 + N10*N01). Q = 1: the models are never right
    in complementary ways; 0: no association; -1: they never fail together.

    The denominator is 0 exactly when one model is right on every example or on
    none (its column of the table is empty, e.g. N00 = N01 = 0 when a is always
    right). A constant correctness carries no information about the other model, so
    there is no association to measure and we return 0.0, the value of independence.
    Returning +-1 instead would reward (or punish) a degenerate model in a sweep that
    minimizes Q; NaN would fail an otherwise valid trial over a diagnostic.
    """
    _check_correct_pair(correct_a, correct_b)
    # Python ints: the products overflow nothing, and Q stays exact.
    n11 = int((correct_a & correct_b).sum())
    n00 = int((~correct_a & ~correct_b).sum())
    n10 = int((correct_a & ~correct_b).sum())
    n01 = int((~correct_a & correct_b).sum())
    denominator = n11 * n00 + n10 * n01
    if denominator == 0:
        return 0.0
    return (n11 * n00 - n10 * n01) / denominator


# ------------------------------------------------- ensemble and calibration
def _ensemble_accuracy_of(mean: Tensor, labels: Tensor) -> float:
    return (mean.argmax(-1) == labels.to(mean.device)).to(torch.float64).mean().item()


def _nll_of(mean: Tensor, labels: Tensor) -> float:
    p_true = mean.gather(1, labels.to(mean.device).long().unsqueeze(1)).squeeze(1)
    return (-p_true.clamp_min(NLL_PROB_FLOOR).log()).mean().item()


def _ece_of(mean: Tensor, labels: Tensor, n_bins: int) -> float:
    """ECE of validated float64 probabilities ``[N, C]``; see ``expected_calibration_error``."""
    confidence, predicted = mean.max(-1)
    correct = (predicted == labels.to(mean.device)).to(torch.float64)
    edges = torch.linspace(0.0, 1.0, n_bins + 1, dtype=torch.float64, device=mean.device)
    # bucketize(right=False) gives i with edges[i-1] < c <= edges[i]: bin i-1 is (edges[i-1], edges[i]].
    bins = (torch.bucketize(confidence, edges) - 1).clamp_(0, n_bins - 1)
    # Per bin, |B|/N * |acc(B) - conf(B)| = |sum of correct - sum of confidence| / N.
    gap = torch.zeros(n_bins, dtype=torch.float64, device=mean.device)
    gap.index_add_(0, bins, correct - confidence)
    return (gap.abs().sum() / confidence.numel()).item()


@torch.no_grad()
def ensemble_accuracy(probs: Tensor, labels: Tensor) -> float:
    """Accuracy of the argmax of the members' mean softmax.

    ``probs`` is ``[M, N, C]`` (or ``[N, C]`` for an already-averaged ensemble),
    ``labels`` int ``[N]``. Ties go to the lowest class index (``torch.argmax``).
    """
    return _ensemble_accuracy_of(_mean_probs(probs, labels), labels)


@torch.no_grad()
def ensemble_nll(probs: Tensor, labels: Tensor) -> float:
    """Mean negative log-likelihood (nats) of the members' mean softmax.

    ``probs`` ``[M, N, C]`` (or ``[N, C]``), ``labels`` int ``[N]``. The true-class
    probability is clamped below at ``NLL_PROB_FLOOR`` so that a float32 underflow
    to 0 gives a large finite loss instead of infinity (see the constant).
    """
    return _nll_of(_mean_probs(probs, labels), labels)


def _check_bins(n_bins: int) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, but got {n_bins!r}")


@torch.no_grad()
def expected_calibration_error(probs: Tensor, labels: Tensor, n_bins: int = ECE_BINS) -> float:
    """Top-label expected calibration error (L1) with ``n_bins`` equal-width bins.

    ``probs`` is the ensemble's mean softmax ``[N, C]``, or the members' ``[M, N, C]``
    (averaged first). The standard definition (Naeini et al. 2015, Guo et al. 2017):
    with confidence c_i = max_k p_ik, prediction argmax_k p_ik and bins
    B_m = ((m-1)/M, m/M], m = 1..M,

        ECE = sum_m |B_m|/N * |acc(B_m) - conf(B_m)|,

    acc(B_m) the fraction of B_m predicted right, conf(B_m) its mean confidence;
    empty bins add nothing. A confidence exactly on an edge m/M goes to the lower
    bin (B_m is closed on the right), so c = 1 is in the last bin.
    """
    _check_bins(n_bins)
    return _ece_of(_mean_probs(probs, labels), labels, n_bins)


# ------------------------------------------------------------- all at once
@torch.no_grad()
def pair_metrics(
    probs: Tensor, labels: Tensor, rep_1: Tensor | None = None, rep_2: Tensor | None = None
) -> dict[str, float]:
    """Every metric of a two-member ensemble on one evaluation split (docs/design.md, "The metrics").

    ``probs`` is ``[2, N, C]`` softmax outputs, ``labels`` int ``[N]``; ``rep_1`` and
    ``rep_2`` are the two networks' representations of the same examples (any
    ``[N', ...]``, typically a fixed test subset), both or neither. Returns plain
    floats under the names in ``PAIR_METRIC_NAMES``, plus ``"cka"`` when the
    representations are given.
    """
    if probs.ndim != 3 or probs.shape[0] != 2:
        raise ValueError(f"probs must have shape [2, N, C] (two members), but got shape {tuple(probs.shape)}")
    if (rep_1 is None) != (rep_2 is None):
        raise ValueError(
            "rep_1 and rep_2 must be given together (for cka) or not at all, "
            f"but got rep_1={'None' if rep_1 is None else 'a tensor'} and "
            f"rep_2={'None' if rep_2 is None else 'a tensor'}"
        )
    # Validated and averaged once; every metric below reuses these tensors.
    mean = _mean_probs(probs, labels)
    labels = labels.to(probs.device)
    preds = probs.argmax(-1)  # [2, N]
    correct = preds == labels  # [2, N]
    acc_1 = correct[0].to(torch.float64).mean().item()
    acc_2 = correct[1].to(torch.float64).mean().item()
    member_acc = (acc_1 + acc_2) / 2
    ens_acc = _ensemble_accuracy_of(mean, labels)
    observed, expected = tp_agreement_histogram(correct)
    out: dict[str, float] = {
        "acc_1": acc_1,
        "acc_2": acc_2,
        "member_acc": member_acc,
        "min_member_acc": min(acc_1, acc_2),
        "ensemble_acc": ens_acc,
        "ensemble_gain": ens_acc - member_acc,
        "disagreement": disagreement(preds[0], preds[1]),
        "double_fault": double_fault(correct[0], correct[1]),
        "excess_agreement": excess_agreement(correct[0], correct[1]),
        "q_statistic": q_statistic(correct[0], correct[1]),
        "ensemble_nll": _nll_of(mean, labels),
        "ece": _ece_of(mean, labels, ECE_BINS),
    }
    for k in range(3):
        out[f"tpa_{k}"] = observed[k].item()
    for k in range(3):
        out[f"tpa_expected_{k}"] = expected[k].item()
    if rep_1 is not None and rep_2 is not None:
        out["cka"] = linear_cka(rep_1, rep_2, debiased=True)
    return out
