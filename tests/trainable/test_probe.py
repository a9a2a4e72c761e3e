"""The redundancy probe finds shared information where it was planted, and none where not."""

from __future__ import annotations

import pytest
import torch

from trainable.probe import ProbeSettings, redundancy_probe


def _views(n: int, classes: int, shared: float, seed: int) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Two 16-d representations of n images: class signal + (optionally) a shared per-image code."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    centers = torch.randn(classes, 16, generator=torch.Generator().manual_seed(99)) * 3
    code = torch.randn(n, 16, generator=g)  # what is particular to each image
    z_1 = centers[y] + shared * code + torch.randn(n, 16, generator=g)
    z_2 = centers[y] + shared * code + torch.randn(n, 16, generator=g)
    return (z_1, z_2), y


FAST = ProbeSettings(epochs=10, batch_size=128, seed=0)


def test_probe_finds_planted_shared_information() -> None:
    fit, y_fit = _views(800, 5, shared=2.0, seed=1)
    score, y_score = _views(400, 5, shared=2.0, seed=2)
    assert redundancy_probe(fit, y_fit, score, y_score, 5, FAST) > 0.8


def test_probe_at_chance_when_views_share_only_the_class() -> None:
    fit, y_fit = _views(800, 5, shared=0.0, seed=3)
    score, y_score = _views(1000, 5, shared=0.0, seed=4)
    assert redundancy_probe(fit, y_fit, score, y_score, 5, FAST) == pytest.approx(0.5, abs=0.06)


def test_probe_is_reproducible_and_leaves_global_rng_alone() -> None:
    fit, y_fit = _views(400, 3, shared=1.0, seed=5)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = redundancy_probe(fit, y_fit, fit, y_fit, 3, ProbeSettings(epochs=2, seed=7))
    assert torch.equal(before, torch.get_rng_state())
    b = redundancy_probe(fit, y_fit, fit, y_fit, 3, ProbeSettings(epochs=2, seed=7))
    assert a == b


def test_probe_rejects_mismatched_shapes() -> None:
    fit, y_fit = _views(50, 3, shared=1.0, seed=6)
    with pytest.raises(ValueError, match="one shape"):
        redundancy_probe((fit[0], fit[1][:, :8]), y_fit, fit, y_fit, 3)
