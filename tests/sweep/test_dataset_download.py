"""A missing torchvision dataset is downloaded once, by the driver, with a capped network wait.

torchvision itself is replaced by a recorder here (the tests have no network): the
plan's dataset check asks for the download, each network operation during it may wait
``DOWNLOAD_TIMEOUT_S`` at most, the socket default is restored afterwards, and a
failed download ends in the usual one-line error that names the files.
"""

from __future__ import annotations

import socket

import pytest
import torchvision.datasets

import trainable.data.sources as sources
from sweep.errors import UserError
from sweep.plan import check_dataset


def test_the_plan_check_downloads_a_missing_dataset_with_a_capped_wait(monkeypatch, tmp_path):
    seen: list[float | None] = []

    class Unreachable:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            seen.append(socket.getdefaulttimeout())
            assert download
            raise OSError("mirror unreachable")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Unreachable)
    before = socket.getdefaulttimeout()
    with pytest.raises(UserError) as caught:
        check_dataset({"dataset": "cifar10", "data_dir": str(tmp_path)})
    assert seen == [sources.DOWNLOAD_TIMEOUT_S]
    assert socket.getdefaulttimeout() == before
    message = caught.value.message
    assert "Downloading through torchvision failed: OSError: mirror unreachable" in message
    assert "data_batch_1" in message and "\n" not in message
