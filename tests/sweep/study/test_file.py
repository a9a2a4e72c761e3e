"""sweep.study.file: a study file is validated at once, every problem named (file, key, rule, value)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sweep.errors import UserError
from sweep.study.file import Sequential, load_study, resolve_study_path

GOOD = """\
name: dose
description: two objectives at two weights
dataset: digits
seeds: 3
first_seed: 50
effect: 0.004
fixed: {classifier: simple3, epochs: 2, batch_size: 64}
arms:
  dice-0.1: {objective: dice, w_adv: 0.1}
  seed-0.1: {objective: seed, w_adv: 0.1, epochs: 3}
"""


def _write(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as caught:
        load_study(str(path))
    lines = caught.value.message.splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines), lines
    return lines


def test_a_good_study_gives_every_arm_its_full_settings(tmp_path: Path) -> None:
    study = load_study(str(_write(tmp_path, GOOD)))
    assert study.name == "dose" and study.seeds == [50, 51, 52] and study.effect == 0.004
    assert study.primary == "ensemble_acc" and study.deep_ensemble
    assert study.arms == {
        "dice-0.1": {
            "classifier": "simple3",
            "epochs": 2,
            "batch_size": 64,
            "dataset": "digits",
            "objective": "dice",
            "w_adv": 0.1,
        },
        "seed-0.1": {
            "classifier": "simple3",
            "epochs": 3,
            "batch_size": 64,
            "dataset": "digits",
            "objective": "seed",
            "w_adv": 0.1,
        },
    }
    assert study.text == (tmp_path / "study.yaml").read_text()


@pytest.mark.parametrize(
    "change, words",
    [
        (
            "seeds: 3",
            ["seeds", ">= 2", "1"],
        ),
        ("effect: 0.004", ["effect", "< 1", "1.5"]),
        ("name: dose", ["name", "folder-safe", "../x"]),
        ("dataset: digits", ["dataset", "unknown dataset", "cifar11"]),
    ],
)
def test_bad_top_level_values_are_named(tmp_path: Path, change: str, words: list[str]) -> None:
    bad = {
        "seeds: 3": "seeds: 1",
        "effect: 0.004": "effect: 1.5",
        "name: dose": "name: ../x",
        "dataset: digits": "dataset: cifar11",
    }
    lines = _problems(tmp_path, GOOD.replace(change, bad[change]))
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], (word, lines)


def test_every_problem_at_once(tmp_path: Path) -> None:
    text = (
        GOOD.replace("seeds: 3", "seeds: 1\nbogus: 2")
        .replace("w_adv: 0.1}", "w_adv: -1}")
        .replace("epochs: 2,", "epochs: 2, seed: 4,")
    )
    lines = _problems(tmp_path, text)
    joined = "\n".join(lines)
    assert "seeds" in joined and "'bogus'" in joined and "fixed.seed" in joined and "set by netsep" in joined
    assert "arms.dice-0.1.w_adv" in joined and "-1" in joined and "arms.seed-0.1" not in joined


@pytest.mark.parametrize(
    "arms, words",
    [
        ("  baseline: {objective: dice}\n", ["arms.baseline", "reserved"]),
        ("  deep-ensemble: {objective: dice}\n", ["arms.deep-ensemble", "reserved"]),
        ("  'a b': {objective: dice}\n", ["arms.a b", "arm name"]),
        ("  x: [objective, dice]\n", ["arms.x", "mapping"]),
        ("  x: {objective: dyce}\n", ["arms.x.objective", "dyce", "dice"]),
        ("  x: {wadv: 0.1}\n", ["arms.x.wadv", "unknown trial setting", "w_adv"]),
        ("  x: {objective: seed, pairing: separate}\n", ["arms.x", "pairing", "separate", "independent"]),
        ("  x: {objective: dice, pairing: split}\n", ["arms.x", "pairing", "'dice'", "'split'"]),
        ("  x: {objective: seed, pairing: crossed}\n", ["arms.x.pairing", "crossed", "'shared'"]),
        ("  x: {arm: mine}\n", ["arms.x.arm", "set by netsep"]),
    ],
)
def test_bad_arms_are_named(tmp_path: Path, arms: str, words: list[str]) -> None:
    text = GOOD.split("arms:\n")[0] + "arms:\n" + arms
    lines = _problems(tmp_path, text)
    joined = "\n".join(lines)
    for word in words:
        assert word in joined, (word, lines)


def test_a_sequential_block_registers_the_looks(tmp_path: Path) -> None:
    text = GOOD.replace("seeds: 3", "seeds: 16") + "sequential: {looks: [8, 16], planning_sd: 0.003}\n"
    study = load_study(str(_write(tmp_path, text)))
    assert study.sequential == Sequential((8, 16), "obrien-fleming", 0.003)
    assert load_study(str(_write(tmp_path, GOOD))).sequential is None


@pytest.mark.parametrize(
    "block, words",
    [
        ("{looks: [8, 15]}", ["sequential.looks", "last look", "seeds (16)", "[8, 15]"]),
        ("{looks: [1, 16]}", ["sequential.looks", ">= 2 seeds", "[1, 16]"]),
        ("{looks: [8, 8, 16]}", ["sequential.looks", "increasing", "[8, 8, 16]"]),
        ("{looks: [12, 8, 16]}", ["sequential.looks", "increasing", "[12, 8, 16]"]),
        ("{looks: [16]}", ["sequential.looks", "at least 2", "[16]"]),
        ("{looks: [8, 16.5]}", ["sequential.looks", "16.5"]),
        ("{looks: [8, 16], spending: linear}", ["sequential.spending", "obrien-fleming", "pocock", "linear"]),
        ("{looks: [8, 16], planning_sd: 0}", ["sequential.planning_sd", "> 0", "0"]),
        ("{looks: [8, 16], alpha: 0.1}", ["sequential.alpha", "unknown key", "looks, spending", "effect"]),
        ("{looks: [8, 16], smallest_effect: 0.01}", ["sequential.smallest_effect", "top-level `effect`"]),
        ("{spending: pocock}", ["sequential.looks", "missing"]),
        ("[8, 16]", ["sequential", "mapping", "[8, 16]"]),
    ],
)
def test_bad_sequential_blocks_are_named(tmp_path: Path, block: str, words: list[str]) -> None:
    text = GOOD.replace("seeds: 3", "seeds: 16") + f"sequential: {block}\n"
    lines = _problems(tmp_path, text)
    joined = "\n".join(lines)
    for word in words:
        assert word in joined, (word, lines)


def test_a_study_needs_arms_and_only_ensemble_acc_is_primary(tmp_path: Path) -> None:
    lines = _problems(tmp_path, GOOD.split("arms:\n")[0] + "arms: {}\nprimary: disagreement\n")
    joined = "\n".join(lines)
    assert "arms" in joined and "primary" in joined and "ensemble_acc" in joined


@pytest.mark.parametrize("text", ["", "- a list\n", "name: [unclosed\n", "a: &x [*x]\n"])
def test_files_that_are_not_a_study_are_refused_in_words(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as caught:
        load_study(str(path))
    assert str(path) in caught.value.message


def test_a_study_is_found_by_name_or_path(tmp_path: Path) -> None:
    (tmp_path / "dose.yaml").write_text(GOOD)
    assert resolve_study_path("dose", tmp_path) == tmp_path / "dose.yaml"
    assert resolve_study_path(str(tmp_path / "dose.yaml"), tmp_path) == tmp_path / "dose.yaml"
    with pytest.raises(UserError, match="unknown study 'dos'.*dose"):
        resolve_study_path("dos", tmp_path)
    with pytest.raises(UserError, match="no such file"):
        resolve_study_path(str(tmp_path / "none.yaml"), tmp_path)


def test_the_shipped_studies_load() -> None:
    from sweep.study.file import STUDIES_DIR

    shipped = sorted(STUDIES_DIR.glob("*.yaml"))
    assert shipped, f"no study in {STUDIES_DIR}"
    for path in shipped:
        study = load_study(path.stem)
        # A study that claims something runs >= 8 paired seeds; a pilot (pilot_*) only
        # chooses settings for one, on validation (docs/results/pilot/PLAN.md), with fewer.
        assert study.name == path.stem and len(study.seeds) >= (2 if study.name.startswith("pilot_") else 8)
