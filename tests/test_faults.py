"""Faults a sweep survives, on a local Ray: a killed driver, a diverging trial, a trial
that raises; and the local default's dashboard staying on loopback.

Every test runs the real ``launch.py`` as a process in a session of its own and kills
that session's processes (by pid) when it ends. Traffic goes to 127.0.0.1 only.
(A node lost mid-trial is in ``tests/cluster/test_multihost.py``: it needs several
Ray nodes.)
"""
from __future__ import annotations

import json
import pickle
import re
import sqlite3
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.cluster.netns import listening_sockets
from tests.cluster.sweeps import Driver, poll, read_csv, trial_results, tune_state

pytestmark = pytest.mark.slow

SEARCHED = ("w_ce", "w_adv", "disc_lr")  # the loss_weights space the smoke test runs


@pytest.fixture
def drivers(tmp_path: Path) -> Iterator[list[Driver]]:
    """Drivers started by a test; each one's whole session is killed afterwards."""
    started: list[Driver] = []
    try:
        yield started
    finally:
        for driver in started:
            driver.stop()


def _start(drivers: list[Driver], tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Driver:
    driver = Driver(list(args), tmp_path / f"driver-{len(drivers)}.log", env=env)
    drivers.append(driver)
    return driver


def _space(tmp_path: Path, name: str, fixed: str, params: str, trials: int, seed: int) -> Path:
    """A small space on digits; the random sampler with ``seed`` fixes which choices come first."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: {name}
        description: a fault-injection space for tests/test_faults.py
        dataset: digits
        trials: {trials}
        sampler: random
        seed: {seed}
        baseline: true
        objectives:
          - {{metric: ensemble_acc, direction: max}}
          - {{metric: disagreement, direction: max}}
        fixed: {fixed}
        params: {params}
        """))
    return path


# ----------------------------------------------------------------------- the driver
def test_driver_killed_mid_sweep_resumes_to_exactly_the_requested_trials(
    drivers: list[Driver], tmp_path: Path
) -> None:
    storage, name = tmp_path / "exp", "killed"
    folder = storage / name
    tune_dir = folder / "tune"
    driver = _start(drivers, tmp_path, "--smoke-test", "--no-dashboard", "--trials", "6", "--epochs", "3",
                    "--storage", str(storage), "--name", name)

    def finished() -> dict[str, list[dict[str, Any]]]:
        done = {t: rows for t, rows in trial_results(tune_dir).items() if rows and rows[-1].get("epoch") == 3}
        return done if len(done) >= 2 else {}

    done_before = poll(finished, 300, "two finished trials", alive=driver)
    params_before = {t: json.loads((tune_dir / t / "params.json").read_text()) for t in done_before}
    driver.kill()  # SIGKILL, the driver alone
    driver.stop()  # then whatever is left of its session: the local Ray it started
    assert not driver.pids()
    assert len(trial_results(tune_dir)) < 7, "the sweep had finished before the kill; nothing was tested"

    resumed = _start(drivers, tmp_path, "--resume", str(folder), "--no-dashboard")
    assert resumed.wait(420) == 0, resumed.tail()

    rows = read_csv(folder / "trials.csv")
    assert sorted(r["arm"] for r in rows) == ["baseline"] + ["search"] * 6
    assert all(r["status"] == "complete" and r["epochs"] == "3" for r in rows), \
        [(r["trial_id"], r["status"], r["reason"]) for r in rows]
    results = trial_results(tune_dir)
    for trial, before in done_before.items():
        # Finished trials were not run again.
        assert [r["epoch"] for r in results[trial]] == [1, 2, 3], trial
        assert json.loads((tune_dir / trial / "params.json").read_text()) == params_before[trial]

    # The report's Optuna study: the 6 search trials, the early ones with their params.
    with sqlite3.connect(folder / "optuna.db") as db:
        count = db.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    assert count == 6
    import optuna

    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder / 'optuna.db'}")
    by_tune_id = {t.user_attrs["tune_trial_id"]: t for t in study.trials}
    for trial, config in params_before.items():
        if config.get("arm") == "baseline":
            continue
        assert by_tune_id[trial.removeprefix("trial_")].params == {k: config[k] for k in SEARCHED}

    # The searcher Tune restored (what proposed the later trials) kept Optuna's history.
    searcher_files = sorted(tune_dir.glob("searcher-state-*.pkl"))
    with open(searcher_files[-1], "rb") as f:
        state = pickle.load(f)  # written by this sweep's own run, in this test's tmp_path
    inner = state["inner"]
    assert len(inner["_ot_study"].trials) == 6
    for trial, config in params_before.items():
        if config.get("arm") != "baseline":
            assert inner["_ot_trials"][trial.removeprefix("trial_")].params == {k: config[k] for k in SEARCHED}
    # The report was rebuilt by the resumed run.
    summary = folder / "summary.md"
    assert summary.stat().st_mtime >= (folder / "sweep.json").stat().st_mtime
    assert "6 complete" in summary.read_text()


# ------------------------------------------------------------------- bad trials
def test_diverging_trial_is_an_error_with_its_reason_and_the_sweep_goes_on(
    drivers: list[Driver], tmp_path: Path
) -> None:
    # SGD at lr=10 (TrialConfig's cap) overflows within the first steps; lr=1e-3 trains.
    # With the random sampler at seed 0 the two search trials get 10, then 1e-3.
    space = _space(tmp_path, "diverge", "{objective: dice, optimizer: sgd, epochs: 1, batch_size: 64}",
                   "{lr: {type: categorical, choices: [0.001, 10.0]}}", trials=2, seed=0)
    storage = tmp_path / "exp"
    driver = _start(drivers, tmp_path, "--space", str(space), "--no-dashboard", "--storage", str(storage),
                    "--name", "diverge")
    assert driver.wait(300) == 0, driver.tail()

    rows = read_csv(storage / "diverge" / "trials.csv")
    lrs = {r["trial_id"]: float(r["lr"]) for r in rows if r["arm"] == "search"}
    assert sorted(lrs.values()) == [1e-3, 10.0], "the sampler no longer proposes both learning rates"
    for row in rows:
        if row["arm"] == "search" and float(row["lr"]) == 10.0:
            assert row["status"] == "error"
            assert re.search(r"diverged at epoch \d+, step \d+", row["reason"]), row["reason"]
            diverged = row
        else:
            assert row["status"] == "complete" and row["epochs"] == "1", row
    summary = (storage / "diverge" / "summary.md").read_text()
    assert re.search(r"diverged at epoch \d+, step \d+", summary)
    assert diverged["trial_id"] in summary


def test_raising_trial_is_retried_max_failures_times_and_the_sweep_goes_on(
    drivers: list[Driver], tmp_path: Path
) -> None:
    # A batch larger than digits' 1347 training images: DeviceData raises at the start
    # of the trial, every time (a real failure, not an injected one).
    space = _space(tmp_path, "raises", "{objective: dice, epochs: 1}",
                   "{batch_size: {type: categorical, choices: [64, 4096]}}", trials=2, seed=0)
    storage = tmp_path / "exp"
    driver = _start(drivers, tmp_path, "--space", str(space), "--no-dashboard", "--storage", str(storage),
                    "--name", "raises", "--max-failures", "1")
    assert driver.wait(300) == 0, driver.tail()

    rows = read_csv(storage / "raises" / "trials.csv")
    sizes = sorted(int(r["batch_size"]) for r in rows if r["arm"] == "search")
    assert sizes == [64, 4096], "the sampler no longer proposes both batch sizes"
    state = tune_state(storage / "raises" / "tune")
    for row in rows:
        if row["arm"] == "search" and row["batch_size"] == "4096":
            assert row["status"] == "error"
            assert "batch_size" in row["reason"] and "4096" in row["reason"], row["reason"]
            # The first attempt and one retry (--max-failures 1), each logged by Tune.
            assert state[row["trial_id"]]["num_failures"] == 2
            errors = (storage / "raises" / "tune" / f"trial_{row['trial_id']}" / "error.txt").read_text()
            assert re.findall(r"^Failure # (\d+)", errors, re.M) == ["1", "2"]
        else:
            assert row["status"] == "complete", row
            assert state[row["trial_id"]]["num_failures"] == 0


# ------------------------------------------------------------------ the dashboard
def _get(url: str, token: str | None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def test_local_dashboard_listens_on_loopback_only_and_shows_the_trials(drivers: list[Driver], tmp_path: Path) -> None:
    # Ray 2.60 turns token authentication on for a local `ray.init()`; a token of our
    # own (instead of ~/.ray/auth_token) lets the test present it.
    token_file = tmp_path / "token"
    token_file.write_text("f" * 64)
    import os

    env = {**os.environ, "RAY_AUTH_TOKEN_PATH": str(token_file)}
    env.pop("RAY_AUTH_MODE", None)  # the local default, whatever this shell says
    driver = _start(drivers, tmp_path, "--smoke-test", "--storage", str(tmp_path / "exp"), "--name", "dash", env=env)

    found = poll(lambda: re.search(r"Ray dashboard: (http://([\d.]+):(\d+))", driver.output()), 120,
                 "the dashboard's URL", alive=driver)
    url, host, port = found.group(1), found.group(2), int(found.group(3))
    assert host == "127.0.0.1"

    def trial_actors() -> list[dict[str, Any]]:
        status, body = _get(f"{url}/api/v0/actors?limit=1000", "f" * 64)
        if status != 200:
            return []
        actors = body["data"]["result"]["result"]
        return [a for a in actors if a.get("class_name") == "ImplicitFunc" and a.get("state") == "ALIVE"]

    actors = poll(trial_actors, 180, "trial actors in the dashboard's state API", every_s=1.0, alive=driver)
    assert actors

    # While it runs: the sockets of this sweep's processes (its session).
    ours = set(driver.pids())
    listeners = [s for s in listening_sockets() if s.pids & ours]
    dashboard = [s for s in listeners if s.port == port]
    assert dashboard, f"nothing of this sweep listens on the dashboard port {port}: {listeners}"
    assert all(s.loopback_only for s in dashboard), dashboard
    client = [s for s in listeners if s.port == 10001]
    assert all(s.loopback_only for s in client), client
    # The API needs the token.
    assert _get(f"{url}/api/v0/actors", None)[0] == 401
    assert _get(f"{url}/api/v0/actors", "0" * 64)[0] == 403
