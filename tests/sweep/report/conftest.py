"""The fully populated results folder most report tests read."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from sweep.report import write_report
from tests.sweep.tune_folders import TuneFolder, build_full

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[TuneFolder, Any]:
    folder = build_full(tmp_path_factory.mktemp("results"))
    return folder, write_report(folder.results)
