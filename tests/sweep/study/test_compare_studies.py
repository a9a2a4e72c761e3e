"""``launch.py compare-studies A B`` on the two committed features studies (no Ray, no training).

docs/results/README.md reports penultimate - last_conv, paired over the 8 seeds: dice
-0.01 pp [-0.14, +0.13], seed +0.07 pp [-0.06, +0.21] in test ensemble accuracy; the
command must give exactly those from the folders alone, write nothing into them, and
refuse (exit 2, one line) two studies that cannot be paired.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from sweep.cli import main
from sweep.study.compare_studies import COMPARE_STUDIES_CSV, compare_studies

RESULTS = Path(__file__).resolve().parents[3] / "docs" / "results"
LAST_CONV, PENULTIMATE = RESULTS / "features_last_conv", RESULTS / "features_penultimate"


def _snapshot(*folders: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for f in folders for p in sorted(f.rglob("*")) if p.is_file()}


def _row(out: str, arm: str) -> list[str]:
    """The printed table's row of ``arm``, split on its two-space column gaps."""
    line = next(line for line in out.splitlines() if line.startswith(arm + " "))
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def test_the_published_table_is_reproduced(capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(LAST_CONV, PENULTIMATE)
    assert main(["compare-studies", str(LAST_CONV), str(PENULTIMATE)]) == 0
    out = capsys.readouterr().out
    # arm, baseline, seeds, Δ ensemble_acc, Δ member_acc, Δ double_fault, Δ disc_acc, t p
    dice, seed = _row(out, "dice-0.1"), _row(out, "seed-0.1")
    assert dice[:4] == ["dice-0.1", "baseline-shared", "8", "-0.01 pp [-0.14, +0.13]"]
    assert seed[:4] == ["seed-0.1", "baseline-split", "8", "+0.07 pp [-0.06, +0.21]"]
    # The README's other columns: member acc, double fault, disc_acc (test pairs).
    assert dice[4:7] == ["+0.01 pp [-0.12, +0.15]", "-0.02 pp [-0.12, +0.07]", "+1.40 pp [-1.27, +4.07]"]
    assert seed[4:7] == ["+0.18 pp [-0.03, +0.39]", "-0.19 pp [-0.37, -0.01]", "+15.09 pp [+13.44, +16.74]"]
    # What differs is named; the baselines' `features` is allowed (a baseline has no D), and they agree.
    assert "the arms' settings that differ: features: 'last_conv' -> 'penultimate'" in out
    assert "baseline-shared.features: 'last_conv' -> 'penultimate'" in out
    assert "baseline-split: the same ensemble_acc in A and B on all 8 seeds" in out
    assert _snapshot(LAST_CONV, PENULTIMATE) == before  # A and B are read only: not a byte, not a lock file


def test_the_numbers_and_the_order_of_a_and_b() -> None:
    forward = {d.arm: d for d in compare_studies(str(LAST_CONV), str(PENULTIMATE)).arms}
    backward = {d.arm: d for d in compare_studies(str(PENULTIMATE), str(LAST_CONV)).arms}
    for arm, (mean, low, high) in {"dice-0.1": (-0.01, -0.14, 0.13), "seed-0.1": (0.07, -0.06, 0.21)}.items():
        ci = forward[arm].diffs["ensemble_acc"]
        assert (round(100 * ci.mean, 2), round(100 * ci.low, 2), round(100 * ci.high, 2)) == (mean, low, high)
        assert ci.n == 8 and forward[arm].seeds == list(range(4000, 4008))
        # The baselines came out identical, so B - A of the arms equals B - A of their differences from them.
        assert forward[arm].vs_baseline.mean == pytest.approx(ci.mean, abs=1e-12)
        flipped = backward[arm].diffs["ensemble_acc"]
        assert (flipped.mean, flipped.low, flipped.high) == pytest.approx((-ci.mean, -ci.high, -ci.low))


def test_out_writes_the_csv_elsewhere_and_never_into_a_or_b(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare-studies", str(LAST_CONV), str(PENULTIMATE), "--out", str(tmp_path / "diff")]) == 0
    rows = {r["arm"]: r for r in csv.DictReader((tmp_path / "diff" / COMPARE_STUDIES_CSV).open())}
    assert set(rows) == {"dice-0.1", "seed-0.1"} and rows["dice-0.1"]["a"] == "features_last_conv"
    assert round(100 * float(rows["seed-0.1"]["ensemble_acc_diff"]), 2) == 0.07
    assert rows["seed-0.1"]["n_seeds"] == "8"
    capsys.readouterr()
    before = _snapshot(LAST_CONV)
    assert main(["compare-studies", str(LAST_CONV), str(PENULTIMATE), "--out", str(LAST_CONV / "x")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and "--out" in err and "read-only" in err
    assert _snapshot(LAST_CONV) == before and not (LAST_CONV / "x").exists()


def _one_line_refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["compare-studies", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    return err


def test_different_seeds_are_refused_naming_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "penultimate"
    shutil.copytree(PENULTIMATE, copy)
    runs = copy / "runs.csv"
    text = runs.read_text()
    assert text.count("\ndice-0.1,4007,") == 1
    runs.write_text(text.replace("\ndice-0.1,4007,", "\ndice-0.1,4099,"))
    err = _one_line_refusal(capsys, str(LAST_CONV), str(copy))
    assert "the seeds differ" in err and "only in B" in err and "4099" in err and str(runs) in err


def test_different_baseline_settings_are_refused_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "penultimate"
    shutil.copytree(PENULTIMATE, copy)
    plan = json.loads((copy / "compare.json").read_text())
    next(a for a in plan["arms"] if a["name"] == "baseline-split")["config"]["lr"] = 0.003
    (copy / "compare.json").write_text(json.dumps(plan))
    err = _one_line_refusal(capsys, str(LAST_CONV), str(copy))
    assert "the baselines' settings differ" in err and "baseline-split.lr is 0.002 in A but 0.003 in B" in err


def test_a_missing_or_unfinished_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_refusal(capsys, str(LAST_CONV), str(tmp_path / "nowhere"))
    assert "B: no such folder" in err and "nowhere" in err
    (tmp_path / "empty").mkdir()
    err = _one_line_refusal(capsys, str(tmp_path / "empty"), str(PENULTIMATE))
    assert "A:" in err and "no compare.json" in err
    err = _one_line_refusal(capsys, str(LAST_CONV), str(LAST_CONV))
    assert "the same folder" in err
