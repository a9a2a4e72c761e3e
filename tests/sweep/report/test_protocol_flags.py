"""The protocol's flags in a sweep report: an inert adversary, and which split the numbers come from."""

from __future__ import annotations

import math
from pathlib import Path

from sweep.report import CONFIGS_CSV, SUMMARY_MD, TRIALS_CSV, write_report
from sweep.report.records import INERT_DISC_ACC, is_inert_adversary
from tests.sweep.tune_folders import TuneFolder, read_csv

MLP = {"disc_arch": "mlp"}
CURVE_GOOD = [(0.7, 0.2), (0.80, 0.10), (0.95, 0.01)]  # would dominate everything if it were ranked


def _folder(tmp_path: Path, **plan: object) -> TuneFolder:
    f = TuneFolder(tmp_path, **plan)
    f.sweep_trial(
        "b0000001",
        "TERMINATED",
        {},
        [(0.7, 0.2), (0.8, 0.1), (0.86, 0.07)],
        baseline={"objective": "independent", "w_adv": 0.0, "pairing": "shared"},
    )
    f.sweep_trial("a0000001", "TERMINATED", {"w_adv": 0.1, **MLP}, [(0.7, 0.2), (0.8, 0.1), (0.88, 0.06)], start=1)
    f.sweep_trial("a0000002", "TERMINATED", {"w_adv": 0.2, **MLP}, CURVE_GOOD, start=2)
    f.sweep_trial("a0000003", "TERMINATED", {"w_adv": 0.3, **MLP}, CURVE_GOOD, start=3)
    return f


def _set_disc_acc(f: TuneFolder, trial_id: str, value: float) -> None:
    """Rewrite one trial's result.json and saved state so its last disc_acc is ``value``."""
    import json

    path = f.tune / f"trial_{trial_id}" / "result.json"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[-1]["disc_acc"] = value
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for i, e in enumerate(f.entries):
        if e.trial_id == trial_id:
            f.entries[i] = type(e)(**{**e.__dict__, "last_result": rows[-1]})


def test_the_threshold_rule() -> None:
    dice, independent = {"objective": "dice"}, {"objective": "independent"}
    assert INERT_DISC_ACC == 0.55
    assert is_inert_adversary(dice, 0.54) and is_inert_adversary(dice, math.nan) and is_inert_adversary(dice, None)
    assert not is_inert_adversary(dice, 0.55) and not is_inert_adversary(dice, 0.9)
    assert not is_inert_adversary(independent, math.nan)
    assert is_inert_adversary({}, 0.5)  # TrialConfig's default objective (dice) trains a D


def test_an_inert_adversary_is_flagged_kept_off_the_front_and_named(tmp_path: Path) -> None:
    f = _folder(tmp_path)
    _set_disc_acc(f, "a0000002", 0.495)  # chance, as trial 326f6d4f of docs/results
    _set_disc_acc(f, "a0000003", math.nan)
    f.save_state()
    report = write_report(f.results)
    assert [c.config_id for c in report.pareto] == ["a0000001"]  # the two better-looking trials are inert
    rows = {r["trial_id"]: r for r in read_csv(f.results / TRIALS_CSV)}
    assert {k: r["inert_adversary"] for k, r in rows.items()} == {
        "b0000001": "",
        "a0000001": "no",
        "a0000002": "yes",
        "a0000003": "yes",
    }
    # Each is a configuration of one seed: infeasible on its (mean) disc_acc, the constraint named.
    configs = {r["config_id"]: r for r in read_csv(f.results / CONFIGS_CSV)}
    assert {k: r["feasible"] for k, r in configs.items()} == {"a0000001": "yes", "a0000002": "no", "a0000003": "no"}
    assert configs["a0000002"]["broken_constraints"] == "disc_acc >= 0.55 (mean 0.495: an inert adversary)"
    assert [c.config_id for c in report.configs if c.inert_adversary] == ["a0000002", "a0000003"]
    summary = (f.results / SUMMARY_MD).read_text()
    inert = summary[summary.index("## Infeasible (inert adversary, constraints)") : summary.index("## Files")]
    assert (
        "2 complete configurations broke a constraint on its mean over seeds: a discriminator below `disc_acc` 0.55"
        in inert
    )
    assert "- `a0000002`: disc_acc >= 0.55 (mean 0.495: an inert adversary) (w_adv=0.2, disc_arch=mlp)" in inert
    assert "- `a0000003`: disc_acc >= 0.55 (mean nan: an inert adversary) (w_adv=0.3, disc_arch=mlp)" in inert
    assert "a0000001" not in inert
    assert "1 of 1 rankable configurations are non-dominated" in summary


def test_no_inert_trial_says_none(tmp_path: Path) -> None:
    f = _folder(tmp_path)
    f.save_state()
    report = write_report(f.results)
    assert [c.config_id for c in report.pareto] == ["a0000002", "a0000003"]
    assert all(c.feasible for c in report.configs)
    summary = (f.results / SUMMARY_MD).read_text()
    assert "## Infeasible (inert adversary, constraints)\n\nNone." in summary
    head = summary.split("## What ran")[0]
    assert "**validation** number" in head and "share the test split" not in head
    assert {r["eval_split"] for r in read_csv(f.results / TRIALS_CSV)} == {"validation"}


def test_val_size_zero_warns_in_the_first_lines(tmp_path: Path) -> None:
    space_fixed = {"objective": "dice", "classifier": "simple3", "epochs": 3, "batch_size": 64, "val_size": 0}
    from tests.sweep.tune_folders import SPACE

    f = _folder(tmp_path, space={**SPACE, "fixed": space_fixed})
    f.save_state()
    write_report(f.results)
    lines = (f.results / SUMMARY_MD).read_text().splitlines()
    assert lines[0].startswith("# Sweep") and "selection and report share the test split" in lines[2]
    assert "cannot be reported as results" in lines[2]
    assert {r["eval_split"] for r in read_csv(f.results / TRIALS_CSV)} == {"test"}


def test_results_from_before_the_eval_split_field_count_as_test_numbers(tmp_path: Path) -> None:
    # netsep then had no validation split: every trial selected on the test split, and
    # the report must say so rather than take the numbers for validation ones.
    import json

    f = _folder(tmp_path)
    for i, e in enumerate(f.entries):
        path = f.tune / f"trial_{e.trial_id}" / "result.json"
        rows = [
            {k: v for k, v in json.loads(line).items() if k != "eval_split"} for line in path.read_text().splitlines()
        ]
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        f.entries[i] = type(e)(**{**e.__dict__, "last_result": rows[-1]})
    f.save_state()
    report = write_report(f.results)
    assert {t.eval_split for t in report.trials} == {"test"}
    assert {r["eval_split"] for r in read_csv(f.results / TRIALS_CSV)} == {"test"}
    head = (f.results / SUMMARY_MD).read_text().split("## What ran")[0]
    assert "share the test split" in head and "**validation** number" not in head
