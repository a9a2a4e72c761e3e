"""Checkpoint folders of one trial: write, read (safely), and load a trained pair.

A checkpoint folder holds ``state.pt`` (tensors and plain values only, so it loads
with ``torch.load(weights_only=True)``: no pickled code runs) and ``config.json``
(the trial's config, for people and for tools that do not load torch).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainable.config import TrialConfig
from trainable.data import DatasetInfo

__all__ = ["STATE_FILE", "LoadedPair", "write_checkpoint", "read_state", "load_pair"]

STATE_FILE = "state.pt"
CONFIG_FILE = "config.json"


@dataclass
class LoadedPair:
    net_1: nn.Module
    net_2: nn.Module
    discriminator: nn.Module | None
    config: TrialConfig
    info: DatasetInfo
    epoch: int
    test_predictions: torch.Tensor | None  # int16 [2, N] at the checkpoint's epoch
    test_ensemble_predictions: torch.Tensor | None  # int16 [N]: argmax of the mean softmax
    test_labels: torch.Tensor | None


def write_checkpoint(directory: str | Path, state: dict[str, Any]) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a crash mid-write never leaves a truncated state.pt.
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(folder / STATE_FILE)
    (folder / CONFIG_FILE).write_text(json.dumps(state["config"], indent=2, sort_keys=True) + "\n")
    return folder


def read_state(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (expected a folder holding {STATE_FILE})")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_pair(checkpoint_dir: str | Path, device: str | torch.device = "cpu") -> LoadedPair:
    """The two classifiers (eval mode), the discriminator and the config of a trial."""
    from trainable.loop import build_models  # late: loop imports this module

    state = read_state(checkpoint_dir)
    config = TrialConfig.from_dict(state["config"])
    raw_info = dict(state["dataset_info"])
    raw_info["mean"], raw_info["std"] = tuple(raw_info["mean"]), tuple(raw_info["std"])
    info = DatasetInfo(**raw_info)
    net_1, net_2, disc = build_models(config, info)
    net_1.load_state_dict(state["net_1"])
    net_2.load_state_dict(state["net_2"])
    if disc is not None:
        disc.load_state_dict(state["disc"])
        disc.to(device).eval()
    return LoadedPair(
        net_1=net_1.to(device).eval(),
        net_2=net_2.to(device).eval(),
        discriminator=disc,
        config=config,
        info=info,
        epoch=int(state["epoch"]),
        test_predictions=state.get("test_predictions"),
        test_ensemble_predictions=state.get("test_ensemble_predictions"),
        test_labels=state.get("test_labels"),
    )
