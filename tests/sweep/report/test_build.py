"""build_report: the folder read into a Report, nothing written."""

from __future__ import annotations

from pathlib import Path

from sweep.report.build import build_report
from tests.sweep.tune_folders import build_full


def _listing(root: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_build_report_writes_nothing(tmp_path: Path) -> None:
    f = build_full(tmp_path)
    before = _listing(tmp_path)
    report = build_report(f.results)
    assert _listing(tmp_path) == before and report.files == {}
    assert [t.trial_id for t in report.pareto] == ["a0000002", "a0000001", "a0000003"]
    assert report.baseline_of == {f"a{n:07d}": "b0000001" for n in (1, 2, 3, 4)}
