"""Two people, one cluster: two sweeps submitted as Ray Jobs to the same cluster at once.

Two lab machines (``tests.cluster.netns``: network namespaces started with cluster.yaml's
own ``ray start`` commands, one CPU each, token authentication on). On the head, two
users submit a sweep each, as docs/cluster.md says:

    RAY_AUTH_MODE=token ray job submit --address http://127.0.0.1:8265 --working-dir . \\
        --submission-id NAME -- python launch.py ... --max-concurrent 1 --address auto \\
        --storage SHARED --name NAME

Each bounds itself to one trial at a time (its share: half of the two slots); Bob
submits a few seconds after Alice (see the test for why). The test checks that both
ran trials at the same time and neither more than its share, that
``ray job stop`` of one stops only that one (its driver exits through SIGTERM and writes
its report) while the other runs to the end, and that no file of one sweep is in the
other's folder.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from optuna.storages.journal import JournalFileBackend, JournalStorage

from tests.cluster.netns import RayLab
from tests.helpers import REPO, SAVE_EVERY_SECOND, read_csv, trial_results, tune_state
from tests.processes import poll, ray_cli

pytestmark = [pytest.mark.netns, pytest.mark.slow]

# Search trials (+ the baseline), one at a time each: Alice's sweep must still run when
# Bob's starts and when she stops it (a trial takes 2-3 s here: 8 of them were over before
# the stop arrived); Bob's must still run when Alice stops hers, and then runs to its end.
TRIALS = {"alice": 40, "bob": 5}
EPOCHS = 2


def _submit(lab: RayLab, name: str, storage: Path, log: Path) -> subprocess.Popen:
    """``ray job submit`` of one sweep from the head; it follows the job's logs to its end."""
    argv = [
        *ray_cli(),
        "job",
        "submit",
        "--address",
        f"http://127.0.0.1:{lab.head.flag('--dashboard-port') or 8265}",
        "--working-dir",
        ".",
        "--submission-id",
        name,
        "--runtime-env-json",
        # With Tune's default saves, a CI run saw none of Bob's trials in his folder
        # until his whole sweep (about 12 s of trials) was over.
        json.dumps({"env_vars": SAVE_EVERY_SECOND}),
        "--",
        "python",
        "launch.py",
        "--smoke-test",
        "--trials",
        str(TRIALS[name]),
        "--epochs",
        str(EPOCHS),
        "--max-concurrent",
        "1",
        "--address",
        "auto",
        "--storage",
        str(storage),
        "--name",
        name,
        "train_size=400",
    ]
    with open(log, "w") as out:  # the child keeps its own copy
        return subprocess.Popen(
            lab.net.exec_argv(0, argv),
            cwd=REPO,
            env=lab.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _ray_job(lab: RayLab, *args: str) -> str:
    done = subprocess.run(
        lab.net.exec_argv(0, [*ray_cli(), "job", *args, "--address", "http://127.0.0.1:8265"]),
        cwd=REPO,
        env=lab.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"ray job {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def _spans(tune_dir: Path) -> dict[str, tuple[float, float]]:
    """A time span inside each trial's run, in seconds since the epoch, from result.json.

    Tune's ``timestamp`` is a whole second (truncated): the trial surely ran from one
    second after its first report's stamp, less that epoch's duration, to its last stamp.
    These inner spans overlap only where the trials really did.
    """
    spans = {}
    for trial, rows in trial_results(tune_dir).items():
        if rows:
            start = rows[0]["timestamp"] + 1 - rows[0]["time_this_iter_s"]
            spans[trial] = (start, max(start, rows[-1]["timestamp"]))
    return spans


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def _overlap(a: dict[str, tuple[float, float]], b: dict[str, tuple[float, float]]) -> float:
    """Seconds during which a trial of each ran."""
    return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a.values() for s2, e2 in b.values())


def test_two_sweeps_share_the_cluster_and_stopping_one_leaves_the_other(
    ray_lab: Callable[[int], RayLab], tmp_path: Path
) -> None:
    lab = ray_lab(2)
    shared = tmp_path / "shared"  # every machine sees it (the lab's NFS share)
    logs = {name: tmp_path / f"submit-{name}.log" for name in ("alice", "bob")}
    folders = {name: shared / name for name in logs}
    submits = {"alice": _submit(lab, "alice", shared, logs["alice"])}
    # Bob submits once Alice's Tune has started (its first trial folder exists), never in
    # the same second: Ray Tune stages a driver's files in <Ray session>/artifacts/<start
    # second>/<experiment name>/ and uploads that whole folder to the sweep's storage,
    # and every netsep sweep names its Tune experiment "tune". Two sweeps whose Tune
    # starts in the same second on one node (the head, for Ray Jobs) share that folder,
    # and each uploads the other's trials and state files into its own results folder.
    poll(
        lambda: any((folders["alice"] / "tune").glob("trial_*")) or submits["alice"].poll() is not None,
        240,
        "Alice's first trial",
    )
    submits["bob"] = _submit(lab, "bob", shared, logs["bob"])

    def finished(name: str) -> int:
        return sum(1 for rows in trial_results(folders[name] / "tune").values() if rows and rows[-1]["epoch"] == EPOCHS)

    def both_running_and_alice_done_one() -> bool:
        for name, submit in submits.items():
            if submit.poll() is not None:
                pytest.fail(f"{name}'s job ended before both were seen running:\n{logs[name].read_text()[-4000:]}")
        spans = {name: _spans(folder / "tune") for name, folder in folders.items()}
        return finished("alice") >= 1 and _overlap(spans["alice"], spans["bob"]) > 0

    poll(both_running_and_alice_done_one, 300, "both sweeps running trials at once", every_s=1)

    # Alice stops her sweep while Bob's still runs; Bob's goes on to the end. (`ray job
    # submit`, following a job's logs, exits 0 for a stopped job too: the job's status tells.)
    assert submits["bob"].poll() is None, f"Bob's job ended before Alice's stop:\n{logs['bob'].read_text()[-4000:]}"
    _ray_job(lab, "stop", "alice")
    submits["alice"].wait(timeout=120)
    assert submits["bob"].wait(timeout=300) == 0, logs["bob"].read_text()[-4000:]
    status = {name: _ray_job(lab, "status", name) for name in submits}
    assert "Job 'alice' was stopped" in status["alice"] and "Job 'bob' succeeded" in status["bob"], status

    # Bob's sweep is whole: every trial once, complete.
    bob = read_csv(folders["bob"] / "trials.csv")
    assert len(bob) == TRIALS["bob"] + 1 and {r["status"] for r in bob} == {"complete"}, bob
    # Alice's was cut short through SIGTERM: her driver wrote the report of what finished.
    alice_out = logs["alice"].read_text()
    assert "netsep: stopped before every run finished" in alice_out, alice_out[-4000:]
    alice = read_csv(folders["alice"] / "trials.csv")
    assert 1 <= sum(r["status"] == "complete" for r in alice) < TRIALS["alice"] + 1, alice
    assert (folders["alice"] / "summary.md").is_file(), "the stopped sweep's report was cut short"

    # Each had its share and no more: one trial at a time, and both ran side by side.
    spans = {name: _spans(folder / "tune") for name, folder in folders.items()}
    assert all(_most_at_once(list(s.values())) == 1 for s in spans.values()), spans
    assert _overlap(spans["alice"], spans["bob"]) > 0, spans

    # Nothing of one is in the other's folder.
    assert sorted(p.name for p in shared.iterdir()) == ["alice", "bob"]
    trial_dirs = {
        name: {p.name.removeprefix("trial_") for p in (f / "tune").glob("trial_*")} for name, f in folders.items()
    }
    assert not trial_dirs["alice"] & trial_dirs["bob"], trial_dirs
    for name, folder in folders.items():
        assert trial_dirs[name] == set(tune_state(folder / "tune")), (name, trial_dirs[name])
        rows = read_csv(folder / "trials.csv")
        assert {r["trial_id"] for r in rows} <= trial_dirs[name], name
        journal = JournalStorage(JournalFileBackend(str(folder / "optuna.journal")))
        assert [s.study_name for s in journal.get_all_studies()] == [name]
