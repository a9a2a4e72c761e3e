"""scripts/pilot_choice.py: the pilot's written rules, applied to hand-made study folders (validation columns only)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scripts.pilot_choice import (
    Budget,
    budget_of,
    choose_budget,
    choose_view,
    main,
    read_study,
    score_budgets,
    score_views,
)
from sweep.study.file import load_study
from sweep.study.plan import plan_study

_COLUMNS = ("arm", "seed", "trial_id", "status", "reason", "split", "ensemble_acc", "member_acc", "checkpoint")
_VAL = ("val_ensemble_acc", "val_member_acc", "val_disc_acc")


def _study(tmp_path: Path, name: str, val: dict[str, tuple[float, float, float]], status: str = "complete") -> Path:
    """The registered study's folder with one run per (arm, seed): val = arm -> (ensemble, member, disc_acc).

    Each run's *test* columns say the opposite of its validation ones, so reading them shows.
    """
    plan = plan_study(load_study(name), tmp_path)
    plan.save()
    folder = Path(plan.compare_dir)
    with (folder / "runs.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*_COLUMNS, *_VAL])
        for arm in plan.arms:
            ensemble, member, disc = val[arm.name]
            for seed in plan.seeds:
                test = (member, ensemble)  # test gain = -(validation gain)
                writer.writerow([arm.name, seed, f"t{seed}", status, "", "test", *test, "", ensemble, member, disc])
    return folder


BUDGET_VAL = {  # b2 gains most on validation (+1.2 pp), b1 least
    "baseline-shared": (0.890, 0.885, 0.5),
    "baseline-separate": (0.891, 0.885, 0.5),
    "b2-shared": (0.870, 0.860, 0.5),
    "b2-deep": (0.872, 0.860, 0.5),
    "b3-shared": (0.880, 0.872, 0.5),
    "b3-deep": (0.880, 0.872, 0.5),
}


def test_the_budget_with_the_largest_validation_gain_of_the_deep_ensemble(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = score_budgets(read_study(_study(tmp_path, "pilot_budget_fmnist", BUDGET_VAL)))
    # by cost: b2 (0.25^2 x 48,000 image-epochs), b1 (0.25^2 x 72,000), b3 (0.5^2 x 24,000)
    shown = [(s.budget.train_size, s.budget.epochs, s.seeds) for s in scores]
    assert shown == [(6000, 8, 3), (24000, 3, 3), (6000, 4, 3)]
    assert [round(100 * s.deep_gain, 2) for s in scores] == [1.2, 0.6, 0.8]
    assert round(100 * scores[0].shared_gain, 2) == 1.0
    assert choose_budget(scores).budget == Budget("fashion-mnist", 0.25, 6000, 8, 5000)
    main(["budget", str(tmp_path / "pilot_budget_fmnist")])
    out = capsys.readouterr().out
    assert "dataset: fashion-mnist  # BUDGET\n  width: 0.25  # BUDGET\n  train_size: 6000  # BUDGET" in out


@pytest.mark.parametrize("b3_ensemble, width", [(0.8845, 0.25), (0.8855, 0.5)])
def test_a_tie_within_a_tenth_of_a_point_goes_to_the_cheaper_budget(
    tmp_path: Path, b3_ensemble: float, width: float
) -> None:
    """b3 gains most (+1.25 or +1.35 pp); b2 (+1.20) is cheaper, and wins when within 0.10 pp."""
    val = {**BUDGET_VAL, "b3-deep": (b3_ensemble, 0.872, 0.5)}
    scores = score_budgets(read_study(_study(tmp_path, "pilot_budget_fmnist", val)))
    assert max(scores, key=lambda s: s.deep_gain).budget.width == 0.5
    assert choose_budget(scores).budget.width == width


def test_both_datasets_compete_for_the_view_stage(tmp_path: Path) -> None:
    shirts = {k.replace("b2", "s2").replace("b3", "s3"): v for k, v in BUDGET_VAL.items()}
    shirts["s3-deep"] = (0.900, 0.880, 0.5)  # +2.0 pp: the largest gain of all six budgets
    runs = read_study(_study(tmp_path, "pilot_budget_fmnist", BUDGET_VAL))
    runs += read_study(_study(tmp_path, "pilot_budget_shirts", shirts))
    assert choose_budget(score_budgets(runs)).budget == Budget("fashion-mnist-shirts", 0.5, 2500, 4, 2000)


@pytest.mark.parametrize(
    "flat, chosen",
    [
        ((0.8920, 0.885, 0.7), "pooled-absdiff"),  # +0.20 pp over pooled absdiff: not enough to replace it
        ((0.8960, 0.885, 0.7), "flat-concat"),  # +0.60 pp
        ((0.9500, 0.885, 0.52), "pooled-absdiff"),  # the best accuracy, but its D is inert: out
    ],
)
def test_the_view_rule(tmp_path: Path, flat: tuple[float, float, float], chosen: str) -> None:
    val = {
        "baseline": (0.999, 0.885, 0.5),  # the study's shared baseline is no view
        "pooled-absdiff": (0.8900, 0.885, 0.7),
        "pooled-concat": (0.8925, 0.885, 0.7),
        "flat-concat": flat,
    }
    views = score_views(read_study(_study(tmp_path, "pilot_view", val)))
    assert [v.view for v in views] == [("mlp", "absdiff"), ("mlp", "concat"), ("mlp_flat", "concat")]
    assert choose_view(views).arm == chosen


def test_an_unfinished_pilot_chooses_nothing(tmp_path: Path) -> None:
    folder = _study(tmp_path, "pilot_budget_fmnist", BUDGET_VAL, status="interrupted")
    with pytest.raises(SystemExit, match="is interrupted: finish the study"):
        read_study(folder)


def test_budget_of_reads_the_settings() -> None:
    config = {"dataset": "fashion-mnist", "width": 0.25, "train_size": 24000, "epochs": 3, "val_size": 5000}
    assert budget_of(config).cost == pytest.approx(0.0625 * 72000)
