"""sweep.study.plan: a study's arms plus netsep's baselines, as a compare plan; the registered file on resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep.errors import UserError
from sweep.study.file import load_study
from sweep.study.plan import STUDY_COPY, check_same_study, load_study_plan, plan_study, study_folder
from tests.sweep.study.test_file import GOOD


def _study(tmp_path: Path, text: str = GOOD):
    path = tmp_path / "dose.yaml"
    path.write_text(text)
    return load_study(str(path))


def test_the_plan_adds_one_baseline_per_pairing_and_the_deep_ensemble(tmp_path: Path) -> None:
    study = _study(tmp_path)
    plan = plan_study(study, tmp_path / "exp")
    names = [a.name for a in plan.arms]
    assert names == ["dice-0.1", "seed-0.1", "baseline-shared", "baseline-split", "deep-ensemble"]
    by = {a.name: a for a in plan.arms}
    assert by["baseline-shared"].config == {
        "classifier": "simple3",
        "epochs": 2,
        "batch_size": 64,
        "dataset": "digits",
        "objective": "independent",
        "w_adv": 0.0,
        "pairing": "shared",
    }
    assert by["deep-ensemble"].config["pairing"] == "separate" and by["deep-ensemble"].is_baseline
    assert plan.baseline_for(by["seed-0.1"]).name == "baseline-split"
    assert plan.baseline_for(by["dice-0.1"]).name == "baseline-shared"
    assert plan.seeds == [50, 51, 52] and plan.study == "dose" and plan.sweep_dir == ""
    assert plan.objectives == ["ensemble_acc"] and plan.compare_dir == str((tmp_path / "exp" / "dose").resolve())
    # every run evaluates the test split once, and carries its arm and seed
    configs = plan.run_configs()
    assert len(configs) == 15 and all(c["final_test"] for c in configs)
    assert [(c["arm"], c["seed"]) for c in configs[:2]] == [("dice-0.1", 50), ("seed-0.1", 50)]


def test_a_seed_arm_with_pairing_shared_is_measured_against_the_shared_baseline(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  seed-0.1: {objective: seed, w_adv: 0.1, epochs: 3}\n",
        "  seed-0.1: {objective: seed, w_adv: 0.1}\n  seed-shared-0.1: {objective: seed, pairing: shared, w_adv: 0.1}\n",
    )
    plan = plan_study(_study(tmp_path, text), tmp_path)
    by = {a.name: a for a in plan.arms}
    assert list(by) == ["dice-0.1", "seed-0.1", "seed-shared-0.1", "baseline-shared", "baseline-split", "deep-ensemble"]
    assert by["seed-shared-0.1"].config["pairing"] == "shared"
    assert plan.baseline_for(by["seed-shared-0.1"]).name == "baseline-shared"
    assert plan.baseline_for(by["seed-0.1"]).name == "baseline-split"


def test_one_pairing_gives_one_plain_baseline_and_no_deep_ensemble_on_request(tmp_path: Path) -> None:
    text = GOOD.replace("  seed-0.1: {objective: seed, w_adv: 0.1, epochs: 3}\n", "") + "deep_ensemble: false\n"
    plan = plan_study(_study(tmp_path, text), tmp_path)
    assert [a.name for a in plan.arms] == ["dice-0.1", "baseline"]


def test_resume_needs_the_registered_file_unchanged(tmp_path: Path) -> None:
    study = _study(tmp_path)
    folder = study_folder(study, tmp_path / "exp")
    with pytest.raises(UserError, match="not a study's results folder"):
        check_same_study(study, folder)
    folder.mkdir(parents=True)
    (folder / STUDY_COPY).write_text(study.text)
    check_same_study(study, folder)
    (folder / STUDY_COPY).write_text(study.text.replace("seeds: 3", "seeds: 4"))
    with pytest.raises(UserError, match="differs from .*study.yaml.*does not change while it runs"):
        check_same_study(study, folder)
    with pytest.raises(UserError, match="has not started yet"):
        load_study_plan(folder)


def test_the_saved_plan_round_trips_with_its_study_name(tmp_path: Path) -> None:
    plan = plan_study(_study(tmp_path), tmp_path / "exp")
    plan.save()
    assert load_study_plan(Path(plan.compare_dir)) == plan
