"""Linear CKA: how similar two networks' representations of the same examples are."""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["linear_cka"]


@torch.no_grad()
def linear_cka(x: Tensor, y: Tensor, debiased: bool = False) -> float:
    """Linear CKA (Kornblith et al. 2019) between two representations of N examples.

    ``x`` is ``[N, D1, ...]``, ``y`` is ``[N, D2, ...]``; extra dims are flattened
    (a feature map counts as one long feature vector). Features are centered and
    everything is float64. With centered X and Y:

        CKA = ||Y^T X||_F^2 / (||X^T X||_F * ||Y^T Y||_F)
            = <K, L>_F / (||K||_F * ||L||_F),   K = X X^T, L = Y Y^T,

    the same number in feature space ([D, D] matrices) or in example space ([N, N]
    Gram matrices). Feature space costs ~N*(D1*D2 + D1^2 + D2^2) multiply-adds, the
    Gram form ~N^2*(D1 + D2); we take whichever is cheaper for the shapes. For the
    shapes here (N ~ 500-1000 test examples, conv maps of D up to ~4096) that is the
    Gram form: at N = 1000, D1 = D2 = 4096 it is ~8e9 flops and 8 MB against ~5e10
    flops and a 134 MB [D, D] matrix; small pooled features (D << N) use feature space.

    Returns a value in [0, 1]: 1 when Y is X up to rotation and isotropic scaling.
    If either representation is constant over the examples (zero variance after
    centering) CKA is undefined (0/0) and we return NaN: a collapsed representation
    is not "perfectly separated", and a sweep minimizing CKA must not reward it.

    ``debiased=True`` replaces each HSIC by Song et al.'s (2012) unbiased estimator,
    as Nguyen, Raghu & Kornblith (2021) do for CKA. The biased estimator is far from 0
    for unrelated representations when D is not << N: two independent Gaussian
    matrices with N = 512 and D = 2048 give ~0.8 biased and ~0 debiased. The
    debiased value needs N >= 4, always uses the Gram form, and is not clamped: it
    can fall slightly below 0 for unrelated representations.
    """
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"x and y must have shape [N, D, ...], but got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise ValueError(
            f"x and y must hold the same N >= 2 examples (dim 0), but got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    x = x.detach().reshape(x.shape[0], -1).to(torch.float64)
    y = y.detach().reshape(y.shape[0], -1).to(device=x.device, dtype=torch.float64)
    if debiased:
        return _debiased_cka(x, y)
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    n, d1 = x.shape
    d2 = y.shape[1]
    feature_cost = n * (d1 * d2 + d1 * d1 + d2 * d2)
    gram_cost = n * n * (d1 + d2)
    if gram_cost < feature_cost:
        k = x @ x.T
        l = y @ y.T
        cross = (k * l).sum()
        norm_x = torch.linalg.matrix_norm(k)
        norm_y = torch.linalg.matrix_norm(l)
    else:
        cross = torch.linalg.matrix_norm(y.T @ x) ** 2
        norm_x = torch.linalg.matrix_norm(x.T @ x)
        norm_y = torch.linalg.matrix_norm(y.T @ y)
    denominator = (norm_x * norm_y).item()
    if denominator == 0.0:
        return math.nan
    # Cauchy-Schwarz bounds the ratio by 1; clamp only rounding past the bounds.
    return min(max(cross.item() / denominator, 0.0), 1.0)


def _hsic_unbiased(k: Tensor, l: Tensor) -> Tensor:
    """Song et al. (2012), eq. 5: the unbiased HSIC of two [N, N] Gram matrices (float64).

    With K~, L~ the Gram matrices with zeroed diagonals and 1 the ones vector:
    HSIC_u = [tr(K~ L~) + (1'K~1)(1'L~1) / ((N-1)(N-2)) - 2/(N-2) 1'K~L~1] / (N(N-3)).
    It equals the U-statistic over distinct 4-tuples of examples (tested so).
    """
    n = k.shape[0]
    k = k - torch.diag_embed(torch.diagonal(k))
    l = l - torch.diag_embed(torch.diagonal(l))
    trace = (k * l).sum()  # tr(K~ L~): both symmetric
    sums = k.sum() * l.sum() / ((n - 1) * (n - 2))
    cross = 2.0 / (n - 2) * (k.sum(0) * l.sum(0)).sum()  # 1'K~L~1 = (K~1).(L~1)
    return (trace + sums - cross) / (n * (n - 3))


def _debiased_cka(x: Tensor, y: Tensor) -> float:
    """Linear CKA with unbiased HSIC (see ``linear_cka``); x, y are float64 [N, D]."""
    if x.shape[0] < 4:
        raise ValueError(f"debiased CKA needs N >= 4 examples, but got N = {x.shape[0]}")
    # Centering is not needed (the estimator is invariant to it) but keeps the Gram
    # entries small, which helps float64 cancellation for large feature means.
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    k, l = x @ x.T, y @ y.T
    denominator = (_hsic_unbiased(k, k) * _hsic_unbiased(l, l)).item()
    if not denominator > 0.0:
        return math.nan  # a constant (or numerically collapsed) representation
    return _hsic_unbiased(k, l).item() / math.sqrt(denominator)
