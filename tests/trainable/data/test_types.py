"""trainable.data.types: a Split checks its dtypes and shapes."""

from __future__ import annotations

import pytest
import torch

from trainable.data import Split


def test_split_rejects_wrong_dtypes() -> None:
    with pytest.raises(ValueError, match="uint8"):
        Split(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="int64"):
        Split(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.zeros(3, dtype=torch.long))
