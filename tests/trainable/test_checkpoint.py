"""trainable.checkpoint: checkpoint folders written atomically and read without running code."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch

from trainable.checkpoint import CONFIG_FILE, STATE_FILE, read_state, write_checkpoint


def test_write_then_read_round_trips_tensors_and_plain_values(tmp_path: Path) -> None:
    state = {"config": {"lr": 0.01, "objective": "dice"}, "epoch": 3, "w": torch.arange(6.0).view(2, 3)}
    folder = write_checkpoint(tmp_path / "ckpt", state)
    assert sorted(p.name for p in folder.iterdir()) == sorted([STATE_FILE, CONFIG_FILE])  # no .tmp left
    back = read_state(folder)
    assert back["epoch"] == 3 and torch.equal(back["w"], state["w"])
    assert json.loads((folder / CONFIG_FILE).read_text()) == state["config"]


def test_a_rewrite_replaces_the_state(tmp_path: Path) -> None:
    write_checkpoint(tmp_path, {"config": {}, "epoch": 1})
    write_checkpoint(tmp_path, {"config": {}, "epoch": 2})
    assert read_state(tmp_path)["epoch"] == 2


def test_a_missing_checkpoint_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=rf"no checkpoint at .*{STATE_FILE}"):
        read_state(tmp_path)


class _Payload:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pwned",))


def test_a_state_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    torch.save({"config": {}, "evil": _Payload()}, tmp_path / STATE_FILE)
    with pytest.raises(pickle.UnpicklingError):
        read_state(tmp_path)
