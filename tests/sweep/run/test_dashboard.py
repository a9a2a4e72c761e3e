"""``launch.py dashboard DIR``'s user mistakes: exit 2, one line, before any server starts.

(The running dashboard against a live sweep is in ``test_live_dashboard.py``.)
"""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import pytest

from sweep.cli import main
from sweep.errors import UserError
from sweep.plan import PLAN_FILE
from sweep.run.dashboard import dashboard_storage
from sweep.search.live_study import LIVE_STUDY_FILE
from tests.helpers import require


def results_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "exp" / "s"
    folder.mkdir(parents=True)
    (folder / PLAN_FILE).write_text(json.dumps({"name": "s"}))
    return folder


def test_the_live_study_is_preferred_over_the_reports_copy(tmp_path):
    folder = results_folder(tmp_path)
    (folder / "optuna.db").write_bytes(b"")
    assert dashboard_storage(folder)[0] == folder / "optuna.db"
    (folder / LIVE_STUDY_FILE).write_bytes(b"")
    assert dashboard_storage(folder)[0] == folder / LIVE_STUDY_FILE


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing", "is not a folder"),
        (lambda tmp: tmp, f"is not a netsep results folder (it has no {PLAN_FILE})"),
        (results_folder, "no Optuna study yet"),
    ],
)
def test_a_folder_without_a_study_is_refused(tmp_path, make, says):
    with pytest.raises(UserError, match=says.replace("(", r"\(").replace(")", r"\)")):
        dashboard_storage(make(tmp_path))


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    require(importlib.util.find_spec("optuna_dashboard"), "needs optuna-dashboard (pip install -e '.[dashboard]')")
    assert main(["dashboard", str(tmp_path / "nope")]) == 2
    assert main(["dashboard", str(tmp_path), "--port", "70000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "is not a folder" in err[0] and "1..65535, got '70000'" in err[1]


def test_a_port_in_use_is_refused_before_serving(tmp_path, capsys):
    require(importlib.util.find_spec("optuna_dashboard"), "needs optuna-dashboard (pip install -e '.[dashboard]')")
    folder = results_folder(tmp_path)
    (folder / LIVE_STUDY_FILE).write_bytes(b"")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", str(folder), "--port", str(port)]) == 2
    assert f"--port {port}: 127.0.0.1:{port} is in use; choose another --port" in capsys.readouterr().err
