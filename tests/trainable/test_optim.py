"""trainable.optim: torch's updates with fused kernels, torch's state layout, and no torch._dynamo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from trainable.optim import FusedAdam, FusedAdamW, FusedSGD

REPO = Path(__file__).resolve().parents[2]

PAIRS: dict[str, tuple[Callable, Callable]] = {
    "adamw": (
        lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.05),
        lambda p: FusedAdamW(p, lr=1e-2, weight_decay=0.05),
    ),
    "adam": (
        lambda p: torch.optim.Adam(p, lr=2e-3, betas=(0.5, 0.999)),
        lambda p: FusedAdam(p, lr=2e-3, betas=(0.5, 0.999)),
    ),
    "adam+l2": (
        lambda p: torch.optim.Adam(p, lr=2e-3, weight_decay=0.01),
        lambda p: FusedAdam(p, lr=2e-3, weight_decay=0.01),
    ),
    "sgd nesterov": (
        lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
        lambda p: FusedSGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
    ),
    "sgd plain": (lambda p: torch.optim.SGD(p, lr=0.05), lambda p: FusedSGD(p, lr=0.05)),
}


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))


def _train(make: Callable, dtype: torch.dtype, steps: int = 6) -> tuple[nn.Module, torch.optim.Optimizer]:
    net = _net().to(dtype)
    opt = make(list(net.parameters()))
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0 / (1 + step))  # the lr changes every step
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(8, 20, generator=g).to(dtype)
        opt.zero_grad(set_to_none=True)
        net(x).pow(2).mean().backward()
        opt.step()
        schedule.step()
    return net, opt


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_the_fused_update_is_torchs(name: str, dtype: torch.dtype, tolerance: float) -> None:
    torch_net, torch_opt = _train(PAIRS[name][0], dtype)
    fused_net, fused_opt = _train(PAIRS[name][1], dtype)
    for a, b in zip(fused_net.parameters(), torch_net.parameters()):
        torch.testing.assert_close(a, b, rtol=tolerance, atol=tolerance)
    # torch's state layout: the same keys and values per parameter
    mine, theirs = fused_opt.state_dict()["state"], torch_opt.state_dict()["state"]
    assert mine.keys() == theirs.keys()
    for index in theirs:
        assert mine[index].keys() == theirs[index].keys()
        for key in theirs[index]:
            expected = theirs[index][key].to(dtype)
            # Against the state's own scale, not element by element: the state is made of
            # gradients, which carry the two runs' rounding differences in the parameters,
            # amplified where gradients nearly cancel (one CI machine, float32: exp_avg_sq
            # off by 3.7e-10, 2.5e-5 relative, where its largest value is 1.8e-5). A wrong
            # update (a beta, a bias correction, a missed decay) moves it by a large
            # fraction of its scale, far above 100 x tolerance x scale.
            scale = float(expected.abs().max()) if expected.numel() else 0.0
            atol = 100 * tolerance * scale
            torch.testing.assert_close(mine[index][key].to(dtype), expected, rtol=tolerance, atol=atol)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_a_state_dict_moves_between_torch_and_fused_both_ways(name: str) -> None:
    make_torch, make_fused = PAIRS[name]
    torch_net, torch_opt = _train(make_torch, torch.float64, steps=3)
    fused_net, fused_opt = _train(make_fused, torch.float64, steps=3)
    # Swap the states (the nets are equal, up to rounding) and take three more steps each way.
    fused_into_torch = make_torch(list(fused_net.parameters()))
    fused_into_torch.load_state_dict(fused_opt.state_dict())
    torch_into_fused = make_fused(list(torch_net.parameters()))
    torch_into_fused.load_state_dict(torch_opt.state_dict())
    for net, opt in ((fused_net, fused_into_torch), (torch_net, torch_into_fused)):
        for _ in range(3):
            opt.zero_grad()
            net(torch.ones(2, 20, dtype=torch.float64)).sum().backward()
            opt.step()
    for a, b in zip(fused_net.parameters(), torch_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_hooks_and_zero_grad_behave_as_torchs() -> None:
    net = _net()
    opt = FusedAdamW(net.parameters())
    calls: list[str] = []
    opt.register_step_pre_hook(lambda *a: calls.append("pre"))
    opt.register_step_post_hook(lambda *a: calls.append("post"))
    net(torch.ones(1, 20)).sum().backward()
    opt.step()
    assert calls == ["pre", "post"]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    opt.step()  # no gradients: nothing to do


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="bad Adam settings"):
        FusedAdamW(_net().parameters(), lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        FusedSGD(_net().parameters(), lr=0.1, nesterov=True)


def test_a_fast_trial_never_imports_torch_dynamo(tmp_path: Path) -> None:
    """Building a fast-path trial, stepping it and checkpointing it leave torch._dynamo unimported."""
    code = (
        "import json, sys\n"
        "from trainable.config import TrialConfig\n"
        "from trainable.loop import PairTraining\n"
        "for extra in ({}, {'optimizer': 'sgd', 'lr': 0.05}):\n"
        "    t = PairTraining(TrialConfig.from_dict({'dataset': 'digits', 'width': 0.25, 'epochs': 1,"
        " 'train_size': 128, 'batch_size': 64, **extra}))\n"
        "    t.run_epoch()\n"
        f"    t.save({str(tmp_path)!r})\n"
        f"    t.restore({str(tmp_path)!r})\n"
        "print(json.dumps('torch._dynamo' in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "NETSEP_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) is False
