"""A benchmark's trial: built by the training loop's own code, modules in training mode."""

from __future__ import annotations

from typing import Any

import torch

from trainable.config import TrialConfig
from trainable.fast_path import ExecutionPlan
from trainable.loop import PairTraining

__all__ = ["build_trial"]


def build_trial(
    raw: dict[str, Any], device: torch.device | None = None, plan: ExecutionPlan | None = None
) -> PairTraining:
    """``PairTraining`` of a config dict, as a trial builds it; ``plan`` replaces the config's execution plan."""
    if raw.get("objective") == "independent":
        raw = {**raw, "w_adv": 0.0}  # the config rejects a weight for a discriminator that is not there
    training = PairTraining(TrialConfig.from_dict(raw), device, plan=plan)
    # train_epoch() puts the modules in training mode; the benchmarks skip it.
    training.net_1.train(), training.net_2.train()
    if training.disc is not None:
        training.disc.train()
    return training
