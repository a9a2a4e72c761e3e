"""The fully populated results folders most report tests read: one seed per trial (an older netsep's
folder, ``build_full``) and configurations over 3 seeds (``build_replicated``)."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from sweep.report import write_report
from tests.sweep.report.replicated import build_replicated
from tests.sweep.tune_folders import TuneFolder, build_full

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[TuneFolder, Any]:
    folder = build_full(tmp_path_factory.mktemp("results"))
    return folder, write_report(folder.results)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> tuple[TuneFolder, Any]:
    folder = build_replicated(tmp_path_factory.mktemp("replicated"))
    return folder, write_report(folder.results)
