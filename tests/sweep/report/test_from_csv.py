"""A results folder without tune/: the report rebuilt from its own trials.csv."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sweep.errors import UserError
from sweep.report import CONFIGS_CSV, PARETO_CSV, SUMMARY_MD, TRIALS_CSV, write_report
from sweep.report.from_csv import number_from_cell
from tests.sweep.report.replicated import build_replicated
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
    before = {n: (f.results / n).read_bytes() for n in (TRIALS_CSV, CONFIGS_CSV, PARETO_CSV)}
    shutil.rmtree(f.tune)
    again = write_report(f.results)
    assert {n: (f.results / n).read_bytes() for n in (TRIALS_CSV, CONFIGS_CSV, PARETO_CSV)} == before
    assert [(t.trial_id, t.status, t.reason, t.params) for t in again.trials] == [
        (t.trial_id, t.status, t.reason, t.params) for t in first.trials
    ]
    assert [t.trial_id for t in again.pareto] == [t.trial_id for t in first.pareto]
    assert "rebuilt from trials.csv" in (f.results / SUMMARY_MD).read_text()
    assert again.baselines[0].config["pairing"] == "shared" and again.baselines[0].effective_pairing == "shared"


def test_rebuilt_tables_of_replicates_equal_the_ones_from_tune(tmp_path: Path) -> None:
    # The baseline's rows carry no config_id: its replicates are told apart by replicate and seed.
    f = build_replicated(tmp_path)
    first = write_report(f.results)
    names = (TRIALS_CSV, CONFIGS_CSV, PARETO_CSV)
    before = {n: (f.results / n).read_bytes() for n in names}
    shutil.rmtree(f.tune)
    again = write_report(f.results)
    assert {n: (f.results / n).read_bytes() for n in names} == before
    assert [(c.config_id, [t.trial_id for t in c.replicates]) for c in again.configs] == [
        (c.config_id, [t.trial_id for t in c.replicates]) for c in first.configs
    ]
    assert [g.trial_ids for g in again.baseline_groups] == [["b0000001", "b0000002", "b0000003"]]
    assert [(c.config_id, c.beats_baseline) for c in again.pareto] == [("c1", False), ("c0", True)]


def test_a_broken_trials_csv_is_a_user_error(tmp_path: Path) -> None:
    f = build_full(tmp_path)
    shutil.rmtree(f.tune)
    (f.results / TRIALS_CSV).write_text("trial_id,arm,status\nx,search,finished\n")
    with pytest.raises(UserError, match=r"trials.csv: no Ray Tune experiment at .* cannot be read back \(line 2"):
        write_report(f.results)


def _table_rows(section: str) -> list[list[str]]:
    """The body rows of the markdown table in ``section``, as cells (header and rule left out)."""
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[1:]]


def test_the_published_results_rebuild_to_the_same_tables(tmp_path: Path) -> None:
    # The folder was published by the netsep whose report was per trial: its trials.csv is still
    # the format read and written (a few columns added since); its pareto.csv and summary.md were
    # per trial, and are rebuilt per configuration. Each published trial reads as a configuration
    # of one seed, so the rebuilt tables must hold the published front, value for value.
    folder = tmp_path / "published"
    shutil.copytree(PUBLISHED, folder)
    report = write_report(folder)
    # trials.csv gained the inert_adversary column since it was published; the rest is unchanged.
    rebuilt_rows = read_csv(folder / TRIALS_CSV)
    inert = {r["trial_id"]: r.pop("inert_adversary") for r in rebuilt_rows}
    assert {r.pop("eval_split") for r in rebuilt_rows} == {""}  # the published file predates the column
    # ... and the configuration labels: none in a folder from before them; every trial ran seed 0.
    assert {(r.pop("config_id"), r.pop("replicate"), r.pop("seed")) for r in rebuilt_rows} == {("", "", "0")}
    # Metrics added since (probe_acc) are new, empty columns; every published column is unchanged.
    published_rows = read_csv(PUBLISHED / TRIALS_CSV)
    new_columns = set(rebuilt_rows[0]) - set(published_rows[0])
    assert new_columns and all(r[c] == "" for r in rebuilt_rows for c in new_columns)
    assert [{k: r[k] for k in published_rows[0]} for r in rebuilt_rows] == published_rows
    # 326f6d4f (disc_lr 1.4e-5) ended with disc_acc 0.495: chance. It was not on the front either.
    assert inert == {"23924ceb": "", **{t: "no" for t in inert if t not in ("23924ceb", "326f6d4f")}, "326f6d4f": "yes"}
    assert [c.config_id for c in report.pareto] == ["a78970ca", "4dce3bde", "06ef81dc", "d1c8e2e0"]

    # pareto.csv: the published front, in its order, with its values, differences and params.
    published_front = read_csv(PUBLISHED / PARETO_CSV)
    front = read_csv(folder / PARETO_CSV)
    assert [r["config_id"] for r in front] == [r["trial_id"] for r in published_front]
    trials = {r["trial_id"]: r for r in published_rows}
    for new, old in zip(front, published_front):
        for m in ("ensemble_acc", "disagreement"):
            assert float(new[f"{m}_mean"]) == float(old[m])
            assert new[f"delta_{m}"] == old[f"delta_{m}"]  # the same difference, to the last digit
        assert [new[p] for p in ("w_ce", "w_adv", "disc_lr")] == [old[p] for p in ("w_ce", "w_adv", "disc_lr")]
        assert (new["status"], new["replicates"], new["seeds"], new["feasible"]) == ("complete", "1", "0", "yes")
        # The published baseline, now the baseline group of its one seed.
        assert (old["baseline_trial_id"], new["baseline"]) == ("23924ceb", "baseline")
        # The published epochs and checkpoint are the configuration's one trial's, in trials.csv.
        trial = trials[old["trial_id"]]
        assert (trial["epochs"], trial["checkpoint"]) == (old["epochs"], old["checkpoint"])
    assert [g.trial_ids for g in report.baseline_groups] == [["23924ceb"]]
    # Published as beating the baseline (better on both objectives, on one seed each): with one
    # seed no difference can be told from seed noise, and the rebuilt front claims nothing.
    assert [r["beats_baseline"] for r in published_front] == ["yes", "yes", "no", "no"]
    assert [r["beats_baseline"] for r in front] == ["no"] * 4
    configs = {r["config_id"]: r for r in read_csv(folder / CONFIGS_CSV)}
    assert list(configs) == [r["trial_id"] for r in published_rows if r["arm"] == "search"]
    assert configs["326f6d4f"]["feasible"] == "no"
    assert configs["326f6d4f"]["broken_constraints"] == "disc_acc >= 0.55 (mean 0.495: an inert adversary)"

    # summary.md: the published front table, row by row, in the new table's columns.
    published = (PUBLISHED / SUMMARY_MD).read_text()
    rebuilt = (folder / SUMMARY_MD).read_text()
    old_rows = _table_rows(published[published.index("## Pareto front") : published.index("## Best trade-offs")])
    new_rows = _table_rows(rebuilt[rebuilt.index("## Pareto front") : rebuilt.index("## What this sweep can claim")])
    *old_front, old_base = old_rows
    *new_front, new_base = new_rows
    assert new_front == [
        [trial, "1", acc, dis, f"{d_acc} (no interval)", f"{d_dis} (no interval)", "no", *params]
        for trial, acc, dis, d_acc, d_dis, *params, _epochs in old_front
    ]
    assert old_base[0] == "baseline 23924ceb" and new_base == ["baseline", "1", *old_base[1:5], "", *old_base[5:8]]
    # The inert trial is no longer rankable: 7 rankable configurations, not 8; the front is the same.
    assert "4 of 8 rankable search trials are non-dominated" in published
    assert "4 of 7 rankable configurations are non-dominated" in rebuilt
    assert "Beat the baseline on every objective: `a78970ca`, `4dce3bde`" in published
    claims = rebuilt[rebuilt.index("## What this sweep can claim") : rebuilt.index("## Failed")]
    assert "- Nothing: with one seed per configuration no difference can be told from seed noise." in claims
    assert "Every configuration ran **one seed**" in rebuilt.split("## What ran")[0]
    # Published before the validation split: the summary cannot call these validation numbers.
    assert "does not record which split" in rebuilt.split("## What ran")[0]
    infeasible = rebuilt[rebuilt.index("## Infeasible (inert adversary, constraints)") : rebuilt.index("## Files")]
    assert "- `326f6d4f`: disc_acc >= 0.55 (mean 0.495: an inert adversary)" in infeasible
