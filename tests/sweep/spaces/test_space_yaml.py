"""Reading a space's YAML: duplicate keys, alias bombs, nesting, size and number limits fail fast and clearly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sweep.cli import main
from sweep.errors import UserError
from sweep.spaces import SPACES_DIR, load_space
from sweep.spaces.yaml_reader import MAX_DEPTH, MAX_FILE_BYTES

GOOD = (SPACES_DIR / "loss_weights.yaml").read_text()
W_CE = "w_ce:    {type: float, low: 0.25, high: 1.0}"
assert W_CE in GOOD and "trials: 32" in GOOD

# Nine levels of ten aliases each: 10**9 values once expanded, in 400 bytes.
LAUGHS = "lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 10)}]\n" for i in range(1, 9)
)


def load_text(tmp_path: Path, text: str, name: str = "space.yaml") -> str:
    """The error message for ``text``, which must be refused within two seconds."""
    path = tmp_path / name
    path.write_text(text)
    load_space("loss_weights")  # warm the imports (torch, via the registries) outside the timing
    start = time.perf_counter()
    with pytest.raises(UserError) as info:
        load_space(str(path))
    assert time.perf_counter() - start < 2.0, "refusing the file took too long"
    message = info.value.message
    assert message.startswith(f"{path}: ") and "Traceback" not in message
    return message


def test_duplicate_top_level_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    text = GOOD.replace("seed: 0\n", "seed: 0\ntrials: 5\n")
    first = GOOD.splitlines().index("trials: 32") + 1
    second = text.splitlines().index("trials: 5") + 1
    message = load_text(tmp_path, text)
    assert f"invalid YAML at line {second}, column 1: key 'trials' is given twice (first at line {first})" in message


def test_duplicate_key_inside_a_param_is_an_error(tmp_path: Path) -> None:
    message = load_text(tmp_path, GOOD.replace(W_CE, "w_ce: {type: float, low: 0.25, high: 1.0, low: 0.5}"))
    assert "key 'low' is given twice" in message


def test_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    text = GOOD.replace(W_CE, "w_ce: &weight {type: float, low: 0.25, high: 1.0}").replace(
        "w_adv:   {type: float, low: 1.0e-3, high: 1.0, log: true}", "w_adv: {<<: *weight, low: 1.0e-3, log: true}"
    )
    path = tmp_path / "merge.yaml"
    path.write_text(text)
    space = load_space(str(path))
    assert (space.params["w_adv"].low, space.params["w_adv"].log, space.params["w_ce"].low) == (1e-3, True, 0.25)


@pytest.mark.parametrize("where", ["trials", "choices"])
def test_billion_laughs_fails_fast(tmp_path: Path, where: str) -> None:
    # The anchors are unknown top-level keys, but the file is refused before that is checked.
    if where == "trials":
        text = LAUGHS + GOOD.replace("trials: 32", "trials: *lol8")
    else:
        text = LAUGHS + GOOD.replace(W_CE, "w_ce: {type: categorical, choices: *lol8}")
    message = load_text(tmp_path, text)
    assert "aliases (*name) expand this document to more than 100,000 YAML nodes" in message


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    message = load_text(tmp_path, GOOD + "extra: &loop [*loop]\n")
    assert "a recursive alias" in message


def _nested(levels: int) -> str:
    return "a: " + "[" * levels + "]" * levels + "\n"


def test_nesting_over_the_limit_is_refused_by_our_own_check(tmp_path: Path) -> None:
    # One level over MAX_DEPTH: far below any limit of the YAML library, so the words are ours.
    assert "nested more than 64 levels deep" in load_text(tmp_path, _nested(MAX_DEPTH))


def test_nesting_at_the_limit_is_not_refused_for_its_depth(tmp_path: Path) -> None:
    # 63 levels inside the top-level mapping: refused, but for the unknown key, not the depth.
    message = load_text(tmp_path, GOOD + _nested(MAX_DEPTH - 1))
    assert "levels deep" not in message and "'a'" in message, message


@pytest.mark.parametrize("levels", [300_000])
def test_very_deep_nesting_is_refused_with_exit_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], levels: int
) -> None:
    # Which check fires first here depends on the YAML library (libyaml 0.2.6 has a depth
    # limit of its own, with its own words): what must hold is the refusal, not the wording.
    path = tmp_path / "deep.yaml"
    path.write_text(GOOD + _nested(levels))
    assert load_text(tmp_path, GOOD + _nested(levels), name="deep.yaml").startswith(f"{path}: ")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err


def test_aliases_that_nest_deeply_are_refused(tmp_path: Path) -> None:
    text = "a0: &a0 [1]\n" + "".join(f"a{i + 1}: &a{i + 1} [*a{i}]\n" for i in range(100))
    assert "aliases (*name) nest this document more than 64 levels deep" in load_text(tmp_path, text)


def test_a_file_over_one_mib_is_refused_unread(tmp_path: Path) -> None:
    text = GOOD + "#" * MAX_FILE_BYTES
    message = load_text(tmp_path, text)
    assert message.endswith("the file is larger than 1024 KiB, the limit for a search space")


def test_a_file_of_many_small_nodes_is_refused_fast(tmp_path: Path) -> None:
    # Under 1 MiB, but 260,000 nodes (the pure-Python YAML parser alone needs 15 s for this).
    text = GOOD + "padding:\n" + "- 1\n" * 260_000
    assert "more than 100,000 YAML nodes" in load_text(tmp_path, text)


def test_an_integer_python_cannot_read_is_a_yaml_error(tmp_path: Path) -> None:
    message = load_text(tmp_path, GOOD.replace("trials: 32", "trials: " + "9" * 5000))
    assert "invalid YAML at line" in message and "an integer with more than 4300 digits" in message


def test_a_huge_int_bound_is_a_clean_error(tmp_path: Path) -> None:
    text = GOOD.replace(W_CE, "disc_width: {type: int, low: 1, high: " + str(10**400) + "}")
    message = load_text(tmp_path, text)
    assert "params.disc_width.high: must be within +-2**53" in message and "\n" not in message
