#!/usr/bin/env python
"""Screenshot of ``launch.py dashboard`` while a sweep runs (docs/optuna_dashboard.png).

    python scripts/optuna_dashboard_screenshot.py            # -> docs/optuna_dashboard.png
    python scripts/optuna_dashboard_screenshot.py --out /tmp/front.png --complete 6

It starts a digits sweep (local Ray, 8 trials one at a time) in a temporary folder,
waits until ``--complete`` search trials have finished in the live study
(``optuna.journal``) while the sweep still runs, starts ``launch.py dashboard`` on a
free port, and has headless Chromium (Debian: ``apt-get install -y chromium``) save
the study page (the Pareto front and the history) as a PNG. Then it stops both,
killing the process groups it started, by pid. optuna-dashboard needs no token.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import optuna

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sweep.search.live_study import LIVE_STUDY_FILE, journal_storage  # noqa: E402

NAME = "live-front"


def _complete(folder: Path) -> int:
    try:
        study = optuna.load_study(study_name=NAME, storage=journal_storage(folder / LIVE_STUDY_FILE))
    except (KeyError, FileNotFoundError):
        return 0
    return sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout_s: float, what: str, alive: subprocess.Popen) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        if alive.poll() is not None:
            raise SystemExit(f"the {what} wait failed: the process exited ({alive.returncode})")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(1)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the group it leads: started here, with its own session
        process.wait(timeout=30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(REPO / "docs" / "optuna_dashboard.png"))
    p.add_argument("--complete", type=int, default=5, help="finished search trials before the picture (default 5)")
    args = p.parse_args()
    chromium = next((c for c in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if c), None)
    if chromium is None:
        raise SystemExit("needs Chromium: apt-get install -y chromium")
    tmp = Path(tempfile.mkdtemp(prefix="netsep-front-"))
    folder = tmp / "exp" / NAME
    sweep_args = [
        "--space",
        "loss_weights",
        "--data",
        "digits",
        "--trials",
        "8",
        "--epochs",
        "3",
        "--max-concurrent",
        "1",
    ]
    sweep = subprocess.Popen(
        [sys.executable, "launch.py", *sweep_args, "--storage", str(tmp / "exp"), "--name", NAME, "--no-dashboard"],
        cwd=REPO,
        stdout=open(tmp / "sweep.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    dashboard = None
    try:
        _wait(lambda: _complete(folder) >= args.complete, 900, f"{args.complete} finished trials", sweep)
        port = _free_port()
        dashboard = subprocess.Popen(
            [sys.executable, "launch.py", "dashboard", str(folder), "--port", str(port)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}/"

        def answers() -> bool:
            try:
                urllib.request.urlopen(url + "api/studies", timeout=5).close()
            except OSError:
                return False
            return True

        _wait(answers, 60, "the dashboard", dashboard)
        with urllib.request.urlopen(url + "api/studies", timeout=10) as response:
            (summary,) = json.load(response)["study_summaries"]  # a journal numbers studies from 0
        shot = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp / 'chromium'}",
            "--window-size=1400,1300",
            "--virtual-time-budget=30000",  # ms of page time for the app to fetch and draw
            "--run-all-compositor-stages-before-draw",  # else the charts are captured empty
            f"--screenshot={args.out}",
            url + f"dashboard/studies/{summary['study_id']}",
        ]
        subprocess.run(shot, check=True, capture_output=True, timeout=120)
        print(f"wrote {args.out} ({_complete(folder)} finished trials; the sweep was still running)")
    finally:
        if dashboard is not None:
            _stop(dashboard)
        _stop(sweep)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
