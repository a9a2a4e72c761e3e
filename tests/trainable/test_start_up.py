"""What a trial worker pays before its first step: imports and the dataset load (issue 11).

Each check runs in a fresh interpreter, as a Ray worker starts one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Imported by nothing a trial needs: ECE is our own (trainable.metrics), scikit-learn
# only reads the digits on a cache miss, torchvision only downloads.
HEAVY = ("torchmetrics", "torchvision", "matplotlib", "sklearn", "scipy")


def _python(code: str, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NETSEP_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_trainable_pulls_in_nothing_heavy(tmp_path: Path) -> None:
    got = _python(
        "import json, sys, trainable.tune_function\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))",
        tmp_path,
    )
    assert got == []


def test_a_cached_dataset_is_memory_mapped_and_digits_skip_scikit_learn(tmp_path: Path) -> None:
    probe = (
        "import json, sys\n"
        "from trainable.data import cache_path, load_dataset\n"
        "from trainable.data.sources import DATASETS\n"
        "info, train, test = load_dataset('digits')\n"
        "path = str(cache_path('digits', DATASETS.create('digits', data_dir=None, download=False)))\n"
        "mapped = any(line.rstrip().endswith(path) for line in open('/proc/self/maps'))\n"
        "print(json.dumps({'sklearn': 'sklearn' in sys.modules, 'mapped': mapped, 'n': len(train)}))"
    )
    if not Path("/proc/self/maps").is_file():
        pytest.skip("needs Linux's /proc/self/maps to see memory mappings")
    first = _python(probe, tmp_path)  # cache miss: reads scikit-learn's copy, writes the cache
    assert first["sklearn"] and not first["mapped"]
    second = _python(probe, tmp_path)  # cache hit: the file is mapped, scikit-learn never imported
    assert second == {"sklearn": False, "mapped": True, "n": first["n"]}
