"""Debiased linear CKA: against the U-statistic definition of HSIC, and its known behaviour."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from trainable.metrics import linear_cka


def _hsic_u_statistic(x: torch.Tensor, y: torch.Tensor) -> float:
    """HSIC as the U-statistic over ordered distinct 4-tuples (Song et al. 2012, Theorem 2).

    h(i, j, q, r) = k_ij l_ij + k_ij l_qr - 2 k_ij l_iq, averaged over every ordered
    tuple of distinct examples: an independent, brute-force definition.
    """
    k = (x @ x.T).tolist()
    l = (y @ y.T).tolist()
    n = len(k)
    total, count = 0.0, 0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += k[i][j] * l[i][j] + k[i][j] * l[q][r] - 2 * k[i][j] * l[i][q]
        count += 1
    return total / count


def _cka_brute(x: torch.Tensor, y: torch.Tensor) -> float:
    return _hsic_u_statistic(x, y) / math.sqrt(_hsic_u_statistic(x, x) * _hsic_u_statistic(y, y))


def test_debiased_equals_u_statistic_on_small_case() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = x @ torch.randn(3, 4, generator=g, dtype=torch.float64) + 0.5 * torch.randn(
        7, 4, generator=g, dtype=torch.float64
    )
    assert linear_cka(x, y, debiased=True) == pytest.approx(_cka_brute(x, y), rel=1e-9)


def test_hand_case_integers() -> None:
    # x and y on 5 examples, checked against the brute-force U-statistic; the two
    # representations are unrelated by construction, so the value is small and signed.
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]], dtype=torch.float64)
    y = torch.tensor([[2.0], [-1.0], [0.0], [1.0], [-2.0]], dtype=torch.float64)
    assert linear_cka(x, y, debiased=True) == pytest.approx(_cka_brute(x, y), rel=1e-9)


def test_identical_and_rotated_representations_give_one() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=g)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g))
    assert linear_cka(x, x, debiased=True) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, 3.0 * x @ q, debiased=True) == pytest.approx(1.0, abs=1e-6)


def test_independent_random_features_biased_high_debiased_near_zero() -> None:
    # DESIGN §4 / issue 9: N = 512 examples, D = 2048 features, independent.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(512, 2048, generator=g)
    y = torch.randn(512, 2048, generator=g)
    biased = linear_cka(x, y)
    debiased = linear_cka(x, y, debiased=True)
    assert biased > 0.7  # the bias the debiased estimator removes
    assert abs(debiased) < 0.02


def test_feature_maps_are_flattened() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(16, 2, 3, 3, generator=g)
    y = torch.randn(16, 5, generator=g)
    assert linear_cka(x, y, debiased=True) == pytest.approx(linear_cka(x.reshape(16, -1), y, debiased=True))


def test_constant_representation_is_nan_and_small_n_is_an_error() -> None:
    x = torch.randn(10, 4)
    assert math.isnan(linear_cka(torch.ones(10, 4), x, debiased=True))
    with pytest.raises(ValueError, match="N >= 4"):
        linear_cka(torch.randn(3, 2), torch.randn(3, 2), debiased=True)
