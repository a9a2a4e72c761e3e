"""What the tests share: where the repository is, the skip-or-fail rule, running the
command line as a user would, and reading what a sweep left in its results folder.

Every test imports shared things from here (never from a ``conftest.py`` or from
another test package), so each is defined once.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "REPO",
    "copy_results",
    "fingerprint",
    "launch",
    "read_csv",
    "require",
    "run_module",
    "trial_epochs",
    "trial_results",
    "tune_state",
]

REPO = Path(__file__).resolve().parents[1]

# Tune copies a sweep's results into its results folder each time it saves the
# experiment's state: every 10 s or more by default (19 times as long as a save takes).
# A test that watches that folder for a sweep's progress gives the sweep these variables,
# so the folder is at most a second or two behind the trials.
SAVE_EVERY_SECOND = {"TUNE_GLOBAL_CHECKPOINT_S": "1"}


def require(condition: object, reason: str) -> None:
    """Skip the calling test (or fixture) unless ``condition`` holds, saying ``reason``.

    Under ``NETSEP_REQUIRE_ALL=1`` (CI) the skip is a failure with the same reason
    (tests/require_all.py does that for every skip): a missing package or permission
    there is a broken CI machine, not a pass.
    """
    if not condition:
        pytest.skip(reason)


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}
    # This checkout's packages first, whatever is installed (conftest sets it too).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def launch(
    *argv: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run ``python launch.py ARGV`` in ``cwd`` as a user would; returns the finished process."""
    return subprocess.run(
        [sys.executable, str(REPO / "launch.py"), *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(env),
        check=False,
    )


def run_module(module: str, *args: str, timeout: float = 600, env: Mapping[str, str] | None = None) -> str:
    """``python -m module ARGS`` from the repository root; fails the test unless it exits 0.

    ``env``: extra environment variables (a ``PYTHONPATH`` there comes after the repository's).
    """
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{module} {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


# -------------------------------------------------------------- the results folder
def read_csv(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as dicts keyed by its header."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def trial_results(tune_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each trial folder's ``result.json`` rows (a torn last line skipped), by folder name."""
    out: dict[str, list[dict[str, Any]]] = {}
    if not tune_dir.is_dir():
        return out
    for folder in sorted(tune_dir.glob("trial_*")):
        rows = []
        try:
            text = (folder / "result.json").read_text()
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass
        out[folder.name] = rows
    return out


def trial_epochs(tune_dir: Path) -> dict[str, list[int]]:
    """Each trial folder's reported epochs, in the order ``result.json`` holds them."""
    return {trial: [int(r["epoch"]) for r in rows] for trial, rows in trial_results(tune_dir).items()}


def tune_state(tune_dir: Path) -> dict[str, dict[str, Any]]:
    """Per trial id, Tune's saved run metadata (``num_failures``, ``last_result``, ...) and status.

    Read from the newest ``experiment_state-*.json``: what ``--resume`` restores.
    """
    states = sorted(tune_dir.glob("experiment_state-*.json"))
    if not states:
        return {}
    data = json.loads(states[-1].read_text())
    out: dict[str, dict[str, Any]] = {}
    for meta_text, run_text in data["trial_data"]:
        meta, run = json.loads(meta_text), json.loads(run_text)
        out[str(meta["trial_id"])] = {**run, "status": meta.get("status")}
    return out


def copy_results(folder: Path, dest: Path) -> Path:
    """A copy of the results folder ``folder`` at ``dest`` (for a test that writes into it)."""
    shutil.copytree(folder, dest, symlinks=True)
    return dest


def fingerprint(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file under ``folder``: (size, mtime in ns), to tell a folder a test must only read was written."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def refused(capsys: Any, argv: list[str], *words: str) -> str:
    """Run the command line in-process; it must exit 2 with one ``error:`` line holding ``words``."""
    from sweep.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    return err
