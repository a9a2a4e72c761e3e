"""``launch.py dashboard DIR`` during a running sweep: headless Chromium sees its trials.

A real sweep (digits, on the test Ray head) runs in the background; once its live
study (``optuna.journal``) holds a trial, the test starts the dashboard command,
reads optuna-dashboard's API, and renders the study's trial list in headless
Chromium, all while the sweep is still running.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import optuna
import pytest

from sweep.search.live_study import LIVE_STUDY_FILE, journal_storage
from tests.helpers import REPO, require
from tests.processes import Driver, RayHead, free_port, kill_session, poll

pytestmark = pytest.mark.slow


def _chromium() -> str | None:
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


def _live_trials(folder: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    path = folder / LIVE_STUDY_FILE
    if not path.exists():
        return []
    try:
        return optuna.load_study(study_name=name, storage=journal_storage(path)).get_trials(deepcopy=False)
    except KeyError:  # the file exists, the study is not in it yet
        return []


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _answers(url: str) -> bool:
    try:
        _get_json(url)
    except OSError:
        return False
    return True


def _render(chromium: str, url: str, profile: Path) -> str:
    """The page's DOM after its scripts ran, as headless Chromium sees it; the text only."""
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # root in CI containers
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",  # ms of page time to let the app fetch and draw
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = re.sub(r"<(style|script)\b.*?</\1>", " ", done.stdout, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def test_the_dashboard_shows_a_running_sweeps_trials(tmp_path: Path, ray_head: RayHead) -> None:
    chromium = _chromium()
    require(chromium, "needs Chromium for the headless-browser check (apt-get install chromium)")
    require(importlib.util.find_spec("optuna_dashboard"), "needs optuna-dashboard (pip install -e '.[dashboard]')")
    storage, name = tmp_path / "exp", "live"
    folder = storage / name
    sweep = Driver(
        [
            "--smoke-test",
            "--trials",
            "4",
            "--epochs",
            "12",  # long enough to be still running while the browser looks
            "--max-concurrent",
            "1",
            "--storage",
            str(storage),
            "--name",
            name,
            "--no-dashboard",
            *ray_head.client_args(),
        ],
        tmp_path / "sweep.log",
        env=ray_head.client_env(),
    )
    dashboard = None
    try:
        # The searcher asks Optuna for the trial, then names its Tune trials: wait for both.
        first = poll(
            lambda: (t := _live_trials(folder, name)) and "tune_trial_ids" in t[0].user_attrs and t,
            300,
            "the first trial in the live study, with its Tune trials",
            alive=sweep,
        )
        assert first[0].number == 0 and first[0].user_attrs["tune_trial_ids"]  # the running configuration's seeds

        port = free_port()
        dashboard = subprocess.Popen(
            [sys.executable, "launch.py", "dashboard", str(folder), "--port", str(port)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        api = f"http://127.0.0.1:{port}/api/studies"
        poll(lambda: _answers(api), 60, "the dashboard to answer", every_s=0.5)
        (summary,) = _get_json(api)["study_summaries"]
        assert summary["study_name"] == name and summary["directions"] == ["maximize", "minimize"]

        page = _render(chromium, f"http://127.0.0.1:{port}/dashboard/studies/{summary['study_id']}/trials", tmp_path)
        assert sweep.running(), "the sweep ended before the browser looked: make it longer"
        assert f"{name} (id={summary['study_id']})" in page, page[:2000]
        assert "Trial 0" in page and ("Running" in page or "Complete" in page), page[:2000]

        dashboard.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly
        out, _ = dashboard.communicate(timeout=30)
        assert dashboard.returncode == 0, out
        assert f"http://127.0.0.1:{port}/" in out.splitlines()[0], out
    finally:
        if dashboard is not None and dashboard.poll() is None:
            kill_session(dashboard)
        sweep.stop()
