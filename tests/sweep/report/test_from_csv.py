"""A results folder without tune/: the report rebuilt from its own trials.csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sweep.errors import UserError
from sweep.report import PARETO_CSV, SUMMARY_MD, TRIALS_CSV, write_report
from sweep.report.from_csv import number_from_cell
from tests.sweep.tune_folders import build_full, read_csv

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = REPO / "docs" / "results" / "fashion-mnist-loss-weights"


def test_number_from_cell() -> None:
    assert number_from_cell("") is None and number_from_cell("3") == 3 and isinstance(number_from_cell("3"), int)
    assert number_from_cell("0.5") == 0.5 and number_from_cell("-2") == -2
    value = number_from_cell("nan")
    assert value != value  # NaN


def test_rebuilt_tables_equal_the_ones_from_tune(tmp_path: Path) -> None:
    f = build_full(tmp_path)
    first = write_report(f.results)
    before = {n: (f.results / n).read_bytes() for n in (TRIALS_CSV, PARETO_CSV)}
    shutil.rmtree(f.tune)
    again = write_report(f.results)
    assert {n: (f.results / n).read_bytes() for n in (TRIALS_CSV, PARETO_CSV)} == before
    assert [(t.trial_id, t.status, t.reason, t.params) for t in again.trials] == [
        (t.trial_id, t.status, t.reason, t.params) for t in first.trials
    ]
    assert [t.trial_id for t in again.pareto] == [t.trial_id for t in first.pareto]
    assert "rebuilt from trials.csv" in (f.results / SUMMARY_MD).read_text()
    assert again.baselines[0].config["pairing"] == "shared" and again.baselines[0].effective_pairing == "shared"


def test_a_broken_trials_csv_is_a_user_error(tmp_path: Path) -> None:
    f = build_full(tmp_path)
    shutil.rmtree(f.tune)
    (f.results / TRIALS_CSV).write_text("trial_id,arm,status\nx,search,finished\n")
    with pytest.raises(UserError, match=r"trials.csv: no Ray Tune experiment at .* cannot be read back \(line 2"):
        write_report(f.results)


def test_the_published_results_rebuild_to_the_same_tables(tmp_path: Path) -> None:
    folder = tmp_path / "published"
    shutil.copytree(PUBLISHED, folder)
    report = write_report(folder)
    assert (folder / PARETO_CSV).read_bytes() == (PUBLISHED / PARETO_CSV).read_bytes()
    # trials.csv gained the inert_adversary column since it was published; the rest is unchanged.
    rebuilt_rows = read_csv(folder / TRIALS_CSV)
    inert = {r["trial_id"]: r.pop("inert_adversary") for r in rebuilt_rows}
    assert {r.pop("eval_split") for r in rebuilt_rows} == {""}  # the published file predates the column
    # Metrics added since (probe_acc) are new, empty columns; every published column is unchanged.
    published_rows = read_csv(PUBLISHED / TRIALS_CSV)
    new_columns = set(rebuilt_rows[0]) - set(published_rows[0])
    assert all(r[c] == "" for r in rebuilt_rows for c in new_columns)
    assert [{k: r[k] for k in published_rows[0]} for r in rebuilt_rows] == published_rows
    # 326f6d4f (disc_lr 1.4e-5) ended with disc_acc 0.495: chance. It was not on the front either.
    assert inert == {"23924ceb": "", **{t: "no" for t in inert if t not in ("23924ceb", "326f6d4f")}, "326f6d4f": "yes"}
    assert [t.trial_id for t in report.pareto] == ["a78970ca", "4dce3bde", "06ef81dc", "d1c8e2e0"]
    published = (PUBLISHED / SUMMARY_MD).read_text()
    rebuilt = (folder / SUMMARY_MD).read_text()
    section = published[published.index("## Pareto front") : published.index("## Files")]
    # The inert trial is no longer rankable: 7 rankable trials, not 8; the front is the same.
    assert section.replace("4 of 8 rankable", "4 of 7 rankable") in rebuilt
    # Published before the validation split: the summary cannot call these validation numbers.
    assert "does not record which split" in rebuilt.split("## What ran")[0]
    assert "## Inert adversary" in rebuilt and "- `326f6d4f`: disc_acc 0.4951" in rebuilt
