"""tests/isolation.py: each kind of process state a test can leak is found and put back."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from tests.isolation import TORCH_SEED, leaked_by


def test_nothing_changed_is_nothing_leaked() -> None:
    assert leaked_by(lambda: None) == []


def test_a_umask_left_changed_is_named_and_restored() -> None:
    before = os.umask(0o022)
    os.umask(before)
    assert leaked_by(lambda: os.umask(0o077)) == [f"umask {before:04o} -> 0077"]
    now = os.umask(0o022)
    os.umask(now)
    assert now == before


def test_a_signal_handler_left_installed_is_named_and_restored() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    leaks = leaked_by(lambda: signal.signal(signal.SIGUSR1, lambda *a: None))
    assert len(leaks) == 1 and leaks[0].startswith("SIGUSR1 handler"), leaks
    assert signal.getsignal(signal.SIGUSR1) == before


def test_environment_variables_set_or_removed_are_named_and_restored() -> None:
    assert "NETSEP_ISOLATION_PROBE" not in os.environ and "HOME" in os.environ
    home = os.environ["HOME"]

    def change() -> None:
        os.environ["NETSEP_ISOLATION_PROBE"] = "1"
        del os.environ["HOME"]

    assert leaked_by(change) == ["environment variables HOME, NETSEP_ISOLATION_PROBE"]
    assert "NETSEP_ISOLATION_PROBE" not in os.environ and os.environ["HOME"] == home


def test_a_changed_working_directory_is_named_and_restored(tmp_path) -> None:
    before = os.getcwd()
    leaks = leaked_by(lambda: os.chdir(tmp_path))
    assert leaks == [f"working directory {before} -> {tmp_path}"]
    assert os.getcwd() == before


def test_torch_threads_left_changed_are_named_and_restored() -> None:
    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    assert leaked_by(lambda: torch.set_num_threads(other)) == [f"torch threads {before} -> {other}"]
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("run", [1, 2])
def test_every_test_starts_from_the_same_torch_random_state(run: int) -> None:
    # Whichever of the two runs first, and whatever ran before: the same draw.
    expected = torch.Generator().manual_seed(TORCH_SEED)
    assert torch.equal(torch.rand(3), torch.rand(3, generator=expected))
