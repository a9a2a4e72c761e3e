"""What a trained pair said on the test split, as plain NumPy arrays for ``sweep/``.

``sweep/`` never touches tensors; the compare mode reads each run's per-example
predictions through here and computes TP-agreement histograms through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from trainable.checkpoint import read_state
from trainable.metrics import tp_agreement_histogram

__all__ = ["TestOutputs", "read_test_outputs", "tpa_histograms"]


@dataclass(frozen=True)
class TestOutputs:
    member_predictions: np.ndarray  # int64 [2, N]: each classifier's argmax class
    ensemble_predictions: np.ndarray  # int64 [N]: argmax of the mean softmax
    labels: np.ndarray  # int64 [N]

    @property
    def member_correct(self) -> np.ndarray:
        """bool [2, N]"""
        return self.member_predictions == self.labels[None, :]

    @property
    def ensemble_correct(self) -> np.ndarray:
        """bool [N]"""
        return self.ensemble_predictions == self.labels


def read_test_outputs(checkpoint_dir: str | Path, split: str = "test") -> TestOutputs:
    """The predictions on ``split`` ("test" or "validation") saved with a checkpoint (at its epoch).

    A sweep trial's checkpoints hold validation predictions only; compare and study
    runs (``final_test``) also hold the test split's.
    """
    state = read_state(checkpoint_dir)
    keys = (f"{split}_predictions", f"{split}_ensemble_predictions", f"{split}_labels")
    missing = [k for k in keys if k not in state]
    if missing:
        raise KeyError(
            f"checkpoint {checkpoint_dir} holds no {', '.join(missing)} "
            f"(saved before evaluation, or a sweep trial, which never evaluates the test split?)"
        )
    return TestOutputs(
        member_predictions=state[keys[0]].long().numpy(),
        ensemble_predictions=state[keys[1]].long().numpy(),
        labels=state[keys[2]].long().numpy(),
    )


def tpa_histograms(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TP-agreement histogram of M models ([M, N] bool): observed and if independent."""
    observed, expected = tp_agreement_histogram(torch.from_numpy(np.asarray(correct, dtype=bool)))
    return observed.double().numpy(), expected.double().numpy()
