"""The fast path's optimizers: torch's fused AdamW, Adam and SGD kernels, without ``torch._dynamo``.

Why not ``torch.optim.AdamW(fused=True)`` itself: torch's optimizers wrap
``add_param_group``, ``zero_grad``, ``state_dict``, ``load_state_dict`` and their update
functions in a guard that imports ``torch._dynamo`` on its first call, so the first
optimizer a process builds costs 1-1.7 s (``python -m bench.imports``), once per Ray
trial worker. These subclasses of ``torch.optim.Optimizer`` run the same update with
torch's fused multi-tensor kernels (one call per step for all of a group's tensors,
instead of torch's CPU default, a Python loop over the tensors), and call the guarded
base methods through ``__wrapped__`` (the undecorated function that ``functools.wraps``
keeps), so nothing imports dynamo. Where a future torch stops exposing it, the guarded
method runs instead: the same result, only the import again.

The per-parameter state (``step``, ``exp_avg``, ``exp_avg_sq``; ``momentum_buffer``) and
``state_dict()`` have torch's layout, so a checkpoint loads into either class; step
hooks and LR schedulers work as with torch's optimizers. The updates equal torch's up
to float rounding (tests/trainable/test_optim.py). Not for ``torch.compile``d
optimizer steps: nothing here is compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = ["FusedAdam", "FusedAdamW", "FusedSGD"]


def _unguarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` without torch's lazy dynamo guard (the guarded one if torch does not expose it)."""
    return getattr(method, "__wrapped__", method)


class _Unguarded(Optimizer):
    """torch.optim.Optimizer with its dynamo-guarded methods called unguarded."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _unguarded(Optimizer.add_param_group)(self, param_group)

    def state_dict(self) -> dict[str, Any]:
        return _unguarded(Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _unguarded(Optimizer.load_state_dict)(self, state_dict)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().requires_grad_(False).zero_()

    def _with_grads(self, group: dict[str, Any]) -> list[Tensor]:
        return [p for p in group["params"] if p.grad is not None]


class _FusedAdamBase(_Unguarded):
    """Adam's update with one fused kernel per group; ``decoupled``: AdamW's weight decay."""

    decoupled: bool = False

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if not lr >= 0 or not eps >= 0 or not weight_decay >= 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"bad Adam settings: lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        # "fused": True tells Optimizer.load_state_dict to put each ``step`` on its
        # parameter's device, where the fused kernel reads it (torch does the same).
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "fused": True}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        kernel = torch._fused_adamw_ if self.decoupled else torch._fused_adam_
        for group in self.param_groups:
            params = self._with_grads(group)
            if not params:
                continue
            states = [self._state(p) for p in params]
            steps = [s["step"] for s in states]
            torch._foreach_add_(steps, 1)
            beta1, beta2 = group["betas"]
            kernel(
                params,
                [p.grad for p in params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [],  # no amsgrad
                steps,
                lr=group["lr"],
                beta1=beta1,
                beta2=beta2,
                weight_decay=group["weight_decay"],
                eps=group["eps"],
                amsgrad=False,
                maximize=False,
            )
        return loss

    def _state(self, p: Tensor) -> dict[str, Tensor]:
        state = self.state[p]
        if not state:
            # torch's layout: a float32 step on the parameter's device (what fused reads)
            state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state


class FusedAdamW(_FusedAdamBase):
    """``torch.optim.AdamW`` (decoupled weight decay: w *= 1 - lr * weight_decay), fused."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


class FusedAdam(_FusedAdamBase):
    """``torch.optim.Adam`` (weight decay, if any, added to the gradient), fused."""

    decoupled = False


class FusedSGD(_Unguarded):
    """``torch.optim.SGD`` with momentum (optionally Nesterov) and L2 weight decay, fused."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if not lr >= 0 or not momentum >= 0 or not weight_decay >= 0:
            raise ValueError(f"bad SGD settings: lr={lr}, momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov, "dampening": 0}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = self._with_grads(group)
            if not params:
                continue
            momentum = group["momentum"]
            buffers: list[Tensor] = []
            first = False
            if momentum != 0:
                first = all("momentum_buffer" not in self.state[p] for p in params)
                for p in params:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        # The kernel fills it on the first step (buffer = gradient), as torch's does.
                        state["momentum_buffer"] = torch.empty_like(p.grad)
                    buffers.append(state["momentum_buffer"])
            torch._fused_sgd_(
                params,
                [p.grad for p in params],
                buffers,
                weight_decay=group["weight_decay"],
                momentum=momentum,
                lr=group["lr"],
                dampening=group["dampening"],
                nesterov=group["nesterov"],
                maximize=False,
                is_first_step=first,
            )
        return loss
