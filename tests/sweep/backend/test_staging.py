"""Two Tune starts on one node never share Tune's staging folder (``sweep.backend.staging``).

Tune stages an experiment in ``<ray session>/artifacts/<start second>/tune``; two sweeps
started in the same second shared it and copied each other's trials into their results
folders. The quick tests check the turn itself on a plain folder; the slow one starts two
real Tune experiments against one Ray head in the same second.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sweep.backend.staging import start_second, start_turn_in, tune_start_turn


def _stage(session: Path, name: str = "tune") -> str:
    """What Tune does at its start: the staging folder named by the current second."""
    second = start_second()
    (session / "artifacts" / second / name).mkdir(parents=True, exist_ok=True)
    return second


def test_the_second_start_waits_for_the_first_to_stage_and_for_a_new_second(tmp_path: Path) -> None:
    session = tmp_path / "session"
    session.mkdir()
    log: dict[str, tuple[str, float]] = {}
    first_in = threading.Event()

    def first() -> None:
        with start_turn_in(session, "tune"):
            first_in.set()
            time.sleep(0.3)  # Tune's start-up before it names its staging folder
            log["first staged"] = (_stage(session), time.monotonic())
            time.sleep(2.5)  # the first experiment runs on; the second must not wait for its end
        log["first ended"] = ("", time.monotonic())

    def second() -> None:
        first_in.wait()
        with start_turn_in(session, "tune"):
            log["second in"] = (start_second(), time.monotonic())
            log["second staged"] = (_stage(session), time.monotonic())

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert log["first staged"][1] <= log["second in"][1] < log["first ended"][1], log
    assert log["second staged"][0] != log["first staged"][0], log
    assert sorted(p.parent.name for p in (session / "artifacts").glob("*/tune")) == sorted(
        {log["first staged"][0], log["second staged"][0]}
    )


def test_a_start_that_fails_gives_the_turn_back(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), start_turn_in(tmp_path, "tune"):
        raise RuntimeError("Tune failed before it staged anything")
    entered = threading.Event()

    def again() -> None:
        with start_turn_in(tmp_path, "tune"):
            entered.set()

    thread = threading.Thread(target=again)
    thread.start()
    thread.join(10)
    assert entered.is_set(), "the lock stayed held after the failed start"


def test_other_experiment_names_do_not_end_the_turn(tmp_path: Path) -> None:
    """Only the experiment's own staging folder counts as its start."""
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with start_turn_in(tmp_path, "tune"):
            first_in.set()
            _stage(tmp_path, "someone-elses")
            time.sleep(1.0)
            order.append("first still starting")
            _stage(tmp_path)

    def second() -> None:
        first_in.wait()
        with start_turn_in(tmp_path, "tune"):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert order == ["first still starting", "second in"]


def test_without_ray_the_body_runs_as_it_is() -> None:
    ran = []
    with tune_start_turn("tune"):
        ran.append(True)
    assert ran == [True]


_TWO_STARTS = """
import json, sys, time
import ray
from ray import tune
from sweep.backend.tuner import TuneSpec, fit, make_tuner

address, storage, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
ray.init(address=address, logging_level="ERROR", log_to_driver=False)

def trainable(config):
    tune.report({"x": 1})

spec = TuneSpec(name="tune", storage_path=storage, num_samples=2, cpus_per_trial=0.5, gpus_per_trial=0,
                max_failures=0, keep_checkpoints=1, metric_columns=["x"], parameter_columns=["x"])
time.sleep(max(0.0, start_at - time.time()))
tuner = make_tuner(spec, None, trainable=trainable)
grid = fit(tuner, "tune")
print(json.dumps(sorted(r.path.rsplit("/", 1)[1] for r in grid)))
"""


@pytest.mark.slow
def test_two_tune_experiments_started_in_one_second_keep_their_files_apart(ray_head, tmp_path: Path) -> None:
    # Both processes start their Tuner at the start of the same coming second.
    start_at = float(int(time.time()) + 8)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _TWO_STARTS, ray_head.address, str(tmp_path / who), str(start_at)],
            env=ray_head.client_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("alice", "bob")
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for proc, (_out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    trials = {
        who: json.loads(out.strip().splitlines()[-1]) for who, (out, _) in zip(("alice", "bob"), outs, strict=True)
    }
    for who, own in trials.items():
        tune_dir = tmp_path / who / "tune"
        on_disk = sorted(p.name for p in tune_dir.glob("trial_*"))
        assert on_disk == own, (who, on_disk, trials)
        assert len(list(tune_dir.glob("experiment_state-*.json"))) == 1, sorted(p.name for p in tune_dir.iterdir())
    assert not set(trials["alice"]) & set(trials["bob"])
