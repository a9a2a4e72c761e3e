"""A pytest plugin: under ``NETSEP_REQUIRE_ALL=1`` (CI) every skip is a failure.

A skip in CI hides a test that never ran: a package no extra installs, a permission the
machine lacks, a test that runs or not depending on what ran before it. So whatever
produced it (``pytest.skip`` in a test or fixture, a ``skip``/``skipif`` mark,
``pytest.importorskip``, at collection too), the report is turned into a failure with
the same reason. An expected failure (``xfail``) is not a skip and is left alone.

Loaded by ``tests/conftest.py`` (``pytest_plugins``); tests/test_require_all.py runs it
in an inner pytest session.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest
from _pytest.reports import BaseReport

REQUIRE_ALL = "NETSEP_REQUIRE_ALL"


def required() -> bool:
    """True where this run must not skip anything (CI sets the variable to 1)."""
    return os.environ.get(REQUIRE_ALL) == "1"


def _reason(report: BaseReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])  # (path, line, "Skipped: why")
        return reason.removeprefix("Skipped: ")
    return str(longrepr)


def _fail_if_skipped(report: BaseReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail") or not required():
        return
    report.outcome = "failed"
    report.longrepr = f"{_reason(report)} ({REQUIRE_ALL}=1: this run must not skip it)"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, BaseReport, BaseReport]:
    report = yield
    _fail_if_skipped(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, BaseReport, BaseReport]:
    # importorskip or pytest.skip(allow_module_level=True) at a module's top skip it whole.
    report = yield
    _fail_if_skipped(report)
    return report
