"""BitsDropout: nn.Dropout's law with half the random draws, in the input's layout, reproducible."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainable.models import create_classifier
from trainable.models.dropout import BitsDropout, use_bits_dropout


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_the_drop_rate_and_the_scale_keep_the_expected_value(p: float) -> None:
    drop = BitsDropout(p)
    assert drop.effective_p == pytest.approx(p, abs=2**-17)
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    y = drop(x)
    dropped = (y == 0).float().mean().item()
    # 400,000 draws: the binomial standard error is below 0.0008 for these p.
    assert dropped == pytest.approx(drop.effective_p, abs=0.004)
    kept = y[y != 0]
    assert torch.all(kept == kept[0]) and kept[0].item() == pytest.approx(1 / (1 - drop.effective_p), rel=1e-6)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)


def test_masks_are_independent_across_elements_and_calls() -> None:
    torch.manual_seed(0)
    drop = BitsDropout(0.5)
    a, b = drop(torch.ones(200_000)) == 0, drop(torch.ones(200_000)) == 0
    # Neighbours (the two halves of one 32-bit draw) and two calls are uncorrelated.
    for u, v in ((a[0::2], a[1::2]), (a, b)):
        both = (u & v).float().mean().item()
        assert both == pytest.approx(0.25, abs=0.01)


def test_the_backward_is_the_mask_times_the_incoming_gradient() -> None:
    torch.manual_seed(0)
    drop = BitsDropout(0.3)
    x = torch.randn(64, 8, 5, 5, requires_grad=True)
    y = drop(x)
    g = torch.randn_like(y)
    y.backward(g)
    mask = (y.detach() / x.detach()).nan_to_num()
    torch.testing.assert_close(x.grad, g * mask)


def test_channels_last_stays_channels_last_and_eval_is_the_identity() -> None:
    drop = BitsDropout(0.2)
    x = torch.randn(16, 8, 6, 6).contiguous(memory_format=torch.channels_last)
    y = drop(x)
    assert y.is_contiguous(memory_format=torch.channels_last) and y.shape == x.shape
    assert drop.mask_like(x.to(torch.bfloat16)).dtype == torch.bfloat16
    drop.eval()
    assert drop(x) is x
    assert BitsDropout(0.0)(x) is x
    with pytest.raises(ValueError):
        BitsDropout(1.0)


def test_the_same_seed_gives_the_same_masks() -> None:
    drop = BitsDropout(0.4)
    torch.manual_seed(3)
    a = drop(torch.ones(1000))
    torch.manual_seed(3)
    b = drop(torch.ones(1000))
    assert torch.equal(a, b)


def test_use_bits_dropout_replaces_every_dropout_of_a_classifier_with_the_same_p() -> None:
    net = create_classifier("simple3", in_channels=1, image_size=8, num_classes=4, mean=(0.5,), std=(0.25,), width=0.25)
    before = [m.p for m in net.modules() if isinstance(m, nn.Dropout)]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    use_bits_dropout(net)
    assert [m.p for m in net.modules() if isinstance(m, BitsDropout)] == before and len(before) == 5
    assert not any(isinstance(m, nn.Dropout) for m in net.modules())
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())  # no parameters involved
