"""tests/require_all.py: under NETSEP_REQUIRE_ALL=1 every kind of skip fails with its reason."""

from __future__ import annotations

import pytest

from tests.require_all import required

pytest_plugins = ["pytester"]

# Every way a test can end up skipped, each with a reason to find in the failure.
SKIPPING = """
import pytest

@pytest.fixture
def needs_root():
    pytest.skip("reason-from-a-fixture")

def test_skip_call():
    pytest.skip("reason-from-skip")

@pytest.mark.skipif(True, reason="reason-from-skipif")
def test_skipif():
    pass

@pytest.mark.skip(reason="reason-from-skip-mark")
def test_skip_mark():
    pass

def test_importorskip():
    pytest.importorskip("no_such_module_netsep", reason="reason-from-importorskip")

def test_fixture(needs_root):
    pass

@pytest.mark.xfail(reason="an expected failure, not a skip", strict=True)
def test_xfail():
    assert False

def test_passes():
    pass
"""
MODULE_LEVEL = """
import pytest
pytest.importorskip("no_such_module_netsep", reason="reason-from-module-importorskip")

def test_never_collected():
    pass
"""


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str | None) -> pytest.RunResult:
    pytester.makepyfile(test_skipping=SKIPPING, test_module_level=MODULE_LEVEL)
    if value is None:
        monkeypatch.delenv("NETSEP_REQUIRE_ALL", raising=False)
    else:
        monkeypatch.setenv("NETSEP_REQUIRE_ALL", value)
    # A subprocess: the inner session must not share this one's plugins or state.
    return pytester.runpytest_subprocess(
        "-p",
        "tests.require_all",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-rA",
        "--continue-on-collection-errors",
    )


def test_without_the_variable_skips_stay_skips(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(pytester, monkeypatch, None)
    result.assert_outcomes(passed=1, skipped=6, xfailed=1)


@pytest.mark.parametrize("value, expected", [("1", True), ("0", False), ("", False), ("yes", False), (None, False)])
def test_only_the_value_1_requires_all(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    if value is None:
        monkeypatch.delenv("NETSEP_REQUIRE_ALL", raising=False)
    else:
        monkeypatch.setenv("NETSEP_REQUIRE_ALL", value)
    assert required() is expected


def test_under_require_all_every_skip_fails_with_its_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(pytester, monkeypatch, "1")
    # Skips in set-up (marks, fixtures) are errors, skips in the test's call failures, a
    # module skipped at import a collection error: none is a pass and none a skip.
    outcomes = result.parseoutcomes()
    assert "skipped" not in outcomes, outcomes
    assert outcomes.get("passed") == 1 and outcomes.get("xfailed") == 1, outcomes
    assert outcomes.get("failed", 0) + outcomes.get("errors", outcomes.get("error", 0)) == 6, outcomes
    assert result.ret != 0
    text = result.stdout.str()
    for reason in (
        "reason-from-skip",
        "reason-from-skipif",
        "reason-from-skip-mark",
        "reason-from-importorskip",
        "reason-from-a-fixture",
        "reason-from-module-importorskip",
    ):
        assert f"{reason} (NETSEP_REQUIRE_ALL=1: this run must not skip it)" in text, reason
