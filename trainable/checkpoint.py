"""Checkpoint folders of one trial: write and read them (file I/O only).

A checkpoint folder holds ``state.pt`` (tensors and plain values only, so it loads
with ``torch.load(weights_only=True)``: no pickled code runs) and ``config.json``
(the trial's config, for people and for tools that do not load torch). Turning a
state back into networks is ``trainable.pair.load_pair``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

__all__ = ["CONFIG_FILE", "STATE_FILE", "read_state", "write_checkpoint"]

STATE_FILE = "state.pt"
CONFIG_FILE = "config.json"


def write_checkpoint(directory: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (which must hold a ``"config"`` dict) into ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    # Write then rename, so a crash mid-write never leaves a truncated state.pt.
    tmp = folder / (STATE_FILE + ".tmp")
    torch.save(state, tmp)
    tmp.replace(folder / STATE_FILE)
    (folder / CONFIG_FILE).write_text(json.dumps(state["config"], indent=2, sort_keys=True) + "\n")
    return folder


def read_state(directory: str | Path) -> dict[str, Any]:
    """The state dict of a checkpoint folder, on the CPU; no pickled code runs."""
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (expected a folder holding {STATE_FILE})")
    return torch.load(path, map_location="cpu", weights_only=True)
