"""A node that declares GPUs its torch cannot use is refused before the first trial (exit 2, one line).

The fault a lab meets: a CPU-only torch wheel on a GPU machine, or ``ray start --num-gpus``
on a machine without one. Here a real Ray head declares one GPU on this CPU-only
machine; a sweep and a compare with ``--gpus-per-trial`` must stop with one line naming
the node, before any trial is placed there (before, every trial failed with a device
error, was retried, and printed a Ray traceback; exit 1).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.helpers import launch, require
from tests.processes import RayHead
from tests.sweep.compare.folders import sweep_folder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gpu_liar(tmp_path_factory) -> Iterator[RayHead]:
    require(not torch.cuda.is_available(), "this machine's torch sees CUDA: a node cannot declare a GPU it lacks here")
    head = RayHead(tmp_path_factory.mktemp("gpuhead"), cpus=2, gpus=1)
    try:
        head.wait_ready()
        yield head
    finally:
        head.close()


def _one_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith("netsep:")]
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: --gpus-per-trial: node "), proc.stderr
    assert "declares 1 GPU(s) to Ray, but torch sees no CUDA device" in lines[0], lines[0]
    assert re.search(r"node \S+ \(\d+\.\d+\.\d+\.\d+\)", lines[0]) and "Traceback" not in proc.stderr
    return lines[0]


def test_defect_8_a_sweep_on_a_gpu_node_without_cuda_stops_before_any_trial(tmp_path: Path, gpu_liar) -> None:
    proc = launch(
        "--smoke-test",
        "--no-dashboard",
        "--gpus-per-trial",
        "0.25",
        "--storage",
        str(tmp_path / "exp"),
        "--name",
        "g",
        *gpu_liar.client_args(),
        cwd=tmp_path,
        env=gpu_liar.env,
        timeout=300,
    )
    _one_line(proc)
    assert not (tmp_path / "exp" / "g").exists()  # nothing was left behind: no trial ran


def test_defect_8_a_compare_on_a_gpu_node_without_cuda_stops_before_any_run(tmp_path: Path, gpu_liar) -> None:
    f = sweep_folder(tmp_path)
    proc = launch(
        "compare",
        str(f.results),
        "--seeds",
        "2",
        "--top",
        "1",
        "--gpus-per-trial",
        "0.25",
        *gpu_liar.client_args(),
        cwd=tmp_path,
        env=gpu_liar.env,
        timeout=300,
    )
    _one_line(proc)
    assert not (f.results / "compare").exists()
