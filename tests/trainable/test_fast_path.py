"""The fast path gives the plain step's gradients (``eager=true``) on a fixed batch; its plan follows the config.

Two tolerances, for two different questions:

- *Is the fast path the same computation?* In float64 (nets, D and batch cast to
  double; the step's own float32 casts of the logits stay) the classifier and D
  gradients of three steps, and the parameters after them, equal the plain step's to
  1e-10 relative, for both objectives, both optimizers and both classifiers:
  channels_last, the fused optimizers and the step's order change nothing but rounding.
- *How far does float32 rounding move it?* In float32 the fast path's BatchNorm in
  channels_last computes its statistics less exactly (~1e-5 relative against ~1e-7 in
  the contiguous layout), and where that moves a pre-activation across a ReLU's kink
  a whole unit's gradient changes: the concatenated classifier gradient then differs
  by up to ~2 % (cosine >= 0.9999) from the plain step's, measured over 8 batches of
  digits and Fashion-MNIST. The bound here is 5 % (cosine >= 0.999), with the loss
  equal to 1e-5. bf16 autocast: up to ~19 % (cosine >= 0.98); bound 35 % (cosine >=
  0.95), loss to 1e-3. Whether that changes what a trial learns is a question for
  seeds, not for one batch: ``python -m bench.fast_vs_eager`` (bench/README.md).

Dropout is switched off in these comparisons (its modules in eval mode, BatchNorm
still training): the fast path draws its masks from another random stream
(tests/trainable/test_dropout.py). D's lr is 1e-8 in the float32 comparison, so D's
first Adam update (lr times the sign of each gradient, whatever its size) cannot turn a
last-bit difference into a different D.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from trainable.config import ConfigError, TrialConfig
from trainable.fast_path import ExecutionPlan, cpu_bf16_native, execution_plan
from trainable.loop import PairTraining
from trainable.models.dropout import BitsDropout

SMALL = {"dataset": "digits", "width": 0.25, "batch_size": 64, "device": "cpu", "w_adv": 0.5}


def _trial(raw: dict[str, Any], dtype: torch.dtype = torch.float32) -> PairTraining:
    training = PairTraining(TrialConfig.from_dict(raw))
    for net in (training.net_1, training.net_2):
        net.train()
        for module in net.modules():
            if isinstance(module, (nn.Dropout, BitsDropout)):
                module.eval()
    if dtype != torch.float32:
        for module in (training.net_1, training.net_2, training.disc):
            module.to(dtype)  # the same Parameter objects: the optimizers still hold them
    return training


def _run(training: PairTraining, x: torch.Tensor, y: torch.Tensor, steps: int) -> dict[str, Any]:
    """Each step's classifier and D gradients (as the optimizers see them), the loss, the final parameters."""
    seen: dict[str, list[list[torch.Tensor]]] = {"classifiers": [], "disc": []}

    def capture(key: str) -> Any:
        def hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            seen[key].append([p.grad.clone() for g in optimizer.param_groups for p in g["params"]])

        return hook

    training.opt.register_step_pre_hook(capture("classifiers"))
    assert training.disc_opt is not None
    training.disc_opt.register_step_pre_hook(capture("disc"))
    losses = [float(training.step(x, y).classifier_loss) for _ in range(steps)]
    params = [p.detach().clone() for m in (training.net_1, training.net_2, training.disc) for p in m.parameters()]
    return {**seen, "losses": losses, "params": params}


def _relative(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """The largest per-tensor ||a - b|| / ||b||."""
    return max(float((u - v).norm() / v.norm().clamp_min(1e-300)) for u, v in zip(a, b))


def _batch(training: PairTraining, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    return next(iter(training.data.train_batches(SMALL["batch_size"], torch.Generator().manual_seed(seed))))


@pytest.mark.parametrize("objective", ["dice", "seed"])
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("classifier", ["simple3", "fast"])
def test_in_float64_the_fast_path_is_the_plain_step(objective: str, optimizer: str, classifier: str) -> None:
    raw = {**SMALL, "objective": objective, "optimizer": optimizer, "classifier": classifier, "lr": 0.01}
    plain = _trial({**raw, "eager": True}, torch.float64)
    fast = _trial({**raw, "precision": "fp32"}, torch.float64)
    assert fast.plan.channels_last and fast.plan.fused_optimizers and not plain.plan.fused_optimizers
    x, y = _batch(plain)
    expected = _run(plain, x.double(), y, steps=3)
    got = _run(fast, x.double(), y, steps=3)
    for key in ("classifiers", "disc"):
        assert len(got[key]) == len(expected[key]) == 3
        for step, (a, b) in enumerate(zip(got[key], expected[key])):
            assert _relative(a, b) < 1e-10, (key, step)
    assert _relative(got["params"], expected["params"]) < 1e-10
    assert got["losses"] == pytest.approx(expected["losses"], rel=1e-10)


@pytest.mark.parametrize(
    "precision, max_relative, min_cosine, loss_rel", [("fp32", 0.05, 0.999, 1e-5), ("bf16", 0.35, 0.95, 1e-3)]
)
def test_in_float32_and_bf16_the_gradients_stay_within_the_stated_tolerance(
    precision: str, max_relative: float, min_cosine: float, loss_rel: float
) -> None:
    raw = {**SMALL, "disc_lr": 1e-8, "batch_size": 128}
    plain = _trial({**raw, "eager": True})
    fast = _trial({**raw, "precision": precision})
    assert fast.plan.precision == precision
    x, y = next(iter(plain.data.train_batches(128, torch.Generator().manual_seed(0))))
    expected = _run(plain, x, y, steps=1)
    got = _run(fast, x, y, steps=1)
    for key in ("classifiers", "disc"):
        a, b = torch.cat([g.flatten() for g in got[key][0]]), torch.cat([g.flatten() for g in expected[key][0]])
        assert float((a - b).norm() / b.norm()) <= max_relative, key
        assert float(torch.nn.functional.cosine_similarity(a, b, dim=0)) >= min_cosine, key
    assert got["losses"][0] == pytest.approx(expected["losses"][0], rel=loss_rel)


# ------------------------------------------------------------------------ the plan
def _plan(native: bool, device: str = "cpu", **raw: Any) -> ExecutionPlan:
    return execution_plan(TrialConfig.from_dict(raw), torch.device(device), native_bf16=native)


def test_eager_is_the_plain_step_on_each_device() -> None:
    cpu = _plan(True, eager=True)
    assert (cpu.channels_last, cpu.autocast_dtype, cpu.fused_optimizers, cpu.bits_dropout, cpu.compile) == (
        False,
        None,
        False,
        False,
        None,
    )
    cuda = _plan(False, "cuda", eager=True)  # as before the fast path: channels_last and bf16 on CUDA
    assert cuda.channels_last and cuda.autocast_dtype == torch.bfloat16 and not cuda.fused_optimizers


def test_precision_auto_is_bf16_on_cuda_and_on_a_cpu_with_bf16_instructions_only() -> None:
    assert _plan(True).precision == "bf16"
    assert _plan(False).precision == "fp32"
    assert _plan(False, "cuda").precision == "bf16"
    assert _plan(True, precision="fp32").precision == "fp32"
    assert _plan(False, precision="bf16").precision == "bf16"  # forced: emulated, but asked for
    fast = _plan(False)
    assert fast.channels_last and fast.fused_optimizers and fast.bits_dropout and not fast.compile
    assert _plan(False, compile=True).compile == "inductor"


def test_the_detection_reads_torchs_cpu_features() -> None:
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    if caps:
        assert cpu_bf16_native() == bool(caps.get("amx_bf16") or caps.get("avx512_bf16"))
    assert isinstance(cpu_bf16_native(), bool)


def test_eager_refuses_settings_of_the_fast_path() -> None:
    with pytest.raises(ConfigError, match="precision must be 'auto'"):
        TrialConfig.from_dict({"eager": True, "precision": "bf16"})
    with pytest.raises(ConfigError, match="compile must be false"):
        TrialConfig.from_dict({"eager": True, "compile": True})
    assert TrialConfig.from_dict({"precision": "bf16", "compile": True}).compile


def test_a_trial_on_the_fast_path_uses_what_its_plan_says() -> None:
    training = PairTraining(TrialConfig.from_dict({**SMALL, "precision": "bf16"}))
    assert training.net_1.body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not any(type(m) is nn.Dropout for m in training.net_1.modules())
    assert any(isinstance(m, BitsDropout) for m in training.net_1.modules())
    assert type(training.opt).__name__ == "FusedAdamW" and type(training.disc_opt).__name__ == "FusedAdam"
    assert training.step.settings.autocast_dtype == torch.bfloat16
    plain = PairTraining(TrialConfig.from_dict({**SMALL, "eager": True}))
    assert type(plain.opt) is torch.optim.AdamW and type(plain.disc_opt) is torch.optim.Adam
    assert any(type(m) is nn.Dropout for m in plain.net_1.modules())
    assert plain.net_1.body[3].weight.is_contiguous() and plain.step.settings.autocast_dtype is None
