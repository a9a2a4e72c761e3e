"""Lab networks claim their third octet (``bench.lab_network``): two at once never share a subnet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import lab_network
from tests.helpers import REPO


@pytest.fixture
def locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(lab_network, "_SUBNET_LOCKS", str(tmp_path))
    return tmp_path


def test_a_claimed_octet_is_skipped_and_free_again_once_closed(locks: Path) -> None:
    first, fd1 = lab_network._claim_subnet(250)
    second, fd2 = lab_network._claim_subnet(250)
    assert (first, second) == (250, 1)  # taken -> the next one, wrapping after 250
    os.close(fd1)
    again, fd3 = lab_network._claim_subnet(250)
    assert again == 250
    os.close(fd2)
    os.close(fd3)


def test_another_process_holding_an_octet_keeps_it(locks: Path) -> None:
    code = (
        "import sys, time\n"
        "from bench import lab_network\n"
        f"lab_network._SUBNET_LOCKS = {str(locks)!r}\n"
        "octet, fd = lab_network._claim_subnet(7)\n"
        "print(octet, flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "7"
        octet, fd = lab_network._claim_subnet(7)
        assert octet == 8
        os.close(fd)
    finally:
        holder.communicate("", timeout=30)  # its end releases the claim
    octet, fd = lab_network._claim_subnet(7)
    assert octet == 7
    os.close(fd)
