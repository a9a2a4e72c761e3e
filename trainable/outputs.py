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


def read_test_outputs(checkpoint_dir: str | Path) -> TestOutputs:
    """The test-split predictions saved with a checkpoint (at its epoch)."""
    state = read_state(checkpoint_dir)
    missing = [k for k in ("test_predictions", "test_ensemble_predictions", "test_labels") if k not in state]
    if missing:
        raise KeyError(f"checkpoint {checkpoint_dir} holds no {', '.join(missing)} (saved before evaluation?)")
    return TestOutputs(
        member_predictions=state["test_predictions"].long().numpy(),
        ensemble_predictions=state["test_ensemble_predictions"].long().numpy(),
        labels=state["test_labels"].long().numpy(),
    )


def tpa_histograms(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TP-agreement histogram of M models ([M, N] bool): observed and if independent."""
    observed, expected = tp_agreement_histogram(torch.from_numpy(np.asarray(correct, dtype=bool)))
    return observed.double().numpy(), expected.double().numpy()
