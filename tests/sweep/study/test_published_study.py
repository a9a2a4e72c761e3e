"""The committed results of the registered sequential study rebuild from their own files, byte for byte.

``docs/results/shirts_sequential/`` is the folder ``launch.py study shirts_sequential``
wrote (``tune/`` left out). ``--report-only`` on a copy must give every file again with
the same bytes, so the published verdict and its figures are what today's code says of
the recorded runs (a change to the statistics or the report shows up here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import REPO, launch

PUBLISHED = REPO / "docs" / "results" / "shirts_sequential"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def test_report_only_rebuilds_the_published_sequential_study_to_the_same_bytes(tmp_path: Path) -> None:
    copy = tmp_path / "shirts_sequential"
    shutil.copytree(PUBLISHED, copy, ignore=shutil.ignore_patterns(".*"))
    for name in ("summary.md", "sequential.csv", "paired.csv", "arms.csv"):
        (copy / name).unlink()  # rebuilt from runs.csv, compare.json and study.yaml alone
    done = launch("study", "shirts_sequential", "--report-only", "--storage", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    published, rebuilt = _files(PUBLISHED), _files(copy)
    assert sorted(rebuilt) == sorted(published)
    assert [name for name in published if rebuilt[name] != published[name]] == []
    assert "dice-0.03: equivalent (look 1, 8 seeds)" in done.stdout
    assert "seed-shared-0.03: equivalent (look 2, 16 seeds)" in done.stdout
