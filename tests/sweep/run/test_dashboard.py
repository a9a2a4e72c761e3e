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
from tests.processes import free_port


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


def test_the_served_study_cannot_be_changed_through_the_dashboard(tmp_path):
    """Whoever reaches the port can look, never mark a trial, write a note or delete the study."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    import optuna

    from sweep.search.live_study import journal_storage
    from tests.helpers import REPO

    require(importlib.util.find_spec("optuna_dashboard"), "needs optuna-dashboard (pip install -e '.[dashboard]')")
    folder = results_folder(tmp_path)
    study = optuna.create_study(
        storage=journal_storage(folder / LIVE_STUDY_FILE), study_name="s", directions=["maximize"]
    )
    study.tell(study.ask(), 0.5)
    running = study.ask()  # a trial the sweep's driver is still running
    before = (folder / LIVE_STUDY_FILE).read_bytes()
    port = free_port()
    log = (tmp_path / "dashboard.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(REPO / "launch.py"), "dashboard", str(folder), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def call(method: str, path: str, body: dict | None = None) -> int:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert call("GET", "/api/studies") == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and server.poll() is None, "the dashboard did not come up"
                time.sleep(0.3)
        trial_id = running._trial_id
        attempts = [
            call("POST", f"/api/trials/{trial_id}/tell", {"state": "Complete", "values": [1.0]}),
            call("POST", f"/api/trials/{trial_id}/user-attrs", {"user_attrs": {"x": 1}}),
            call("PUT", "/api/studies/0/note", {"version": 1, "body": "edited"}),
            call("POST", "/api/studies", {"study_name": "another", "directions": ["minimize"]}),
            call("DELETE", "/api/studies/0"),
        ]
        assert all(code >= 400 for code in attempts), attempts
        assert call("GET", "/api/studies/0") == 200  # still there, still readable
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C stops it
        try:
            # 30 s was once too short on a loaded 2-core CI machine; a hang still fails here.
            server.wait(timeout=90)
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()
    assert server.returncode == 0, (tmp_path / "dashboard.log").read_text()[-3000:]
    assert (folder / LIVE_STUDY_FILE).read_bytes() == before
    again = optuna.load_study(storage=journal_storage(folder / LIVE_STUDY_FILE), study_name="s")
    assert [t.state for t in again.trials] == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING]
