"""cluster/slurm/netsep.sbatch against real Slurm: sbatch, two nodes, the time limit, scancel, resubmit.

A Slurm cluster on this host (``tests.cluster.slurm_lab``): ``slurmctld`` on a login
machine and two compute nodes, each a network namespace with its own ``slurmd``; the
job gets one CPU and one (fake) GPU on each. The test submits the batch script from the
checkout as docs/cluster.md says, with a tiny digits sweep, into a folder every node
sees (the cluster's shared filesystem), then:

1. waits until trials have reported from both nodes (Ray's head on the first, a worker
   started with ``srun`` on the second, token authentication on), with Slurm's GPUs in
   Ray's resources;
2. sends what ``#SBATCH --signal=B:USR1@300`` sends before the time limit (USR1 to the
   batch shell): the sweep stops while Ray runs, writes its report, exits 143, and the
   job requeues itself;
3. waits until the requeued job (same id and arguments) resumed the folder and trials
   report again, then ``scancel``s it: SIGTERM to every process of the job; the sweep
   ends with exit 143 and a fresh report;
4. submits the same command again: the script continues the folder with ``--resume``,
   and every trial ends complete, each once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.netns import LabNetwork
from tests.cluster.slurm_lab import SLURM_PACKAGES, SlurmLab, missing_slurm
from tests.helpers import REPO, read_csv, require, trial_results, tune_state

SEARCH_TRIALS = 7  # + the baseline: 6 trials of EPOCHS epochs on 2 one-CPU Ray nodes
EPOCHS = 2
SBATCH = "cluster/slurm/netsep.sbatch"


@pytest.fixture
def slurm_lab(netns_available: None, tmp_path: Path) -> Iterator[SlurmLab]:
    reason = missing_slurm()
    require(reason is None, f"the Slurm test needs {' '.join(SLURM_PACKAGES)}: {reason}")
    net = LabNetwork(3)
    net.__enter__()
    # Short: Slurm's and Ray's Unix socket paths live under it (108 bytes at most).
    workdir = Path(tempfile.mkdtemp(prefix="nsl", dir="/tmp"))
    lab = SlurmLab(net, workdir, cpus_per_node=2)
    try:
        lab.start()
        yield lab
    finally:
        try:
            lab.close()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _wait(what: str, timeout_s: float, probe: Callable[[], Any], lab: SlurmLab, output: Path) -> Any:
    start = time.monotonic()
    deadline = start + timeout_s
    while True:
        value = probe()
        if value:
            with open(output.parent / "test.log", "a") as log:  # where the test's time went
                log.write(f"{time.strftime('%H:%M:%S')} waited {time.monotonic() - start:.0f} s for {what}\n")
            return value
        if time.monotonic() > deadline:
            text = output.read_text(errors="replace")[-6000:] if output.exists() else "(no job output yet)"
            pytest.fail(
                f"timed out after {timeout_s:.0f} s waiting for {what}; the job's output:\n{text}\n{lab.logs()}"
            )
        time.sleep(0.5)


def _ended(lab: SlurmLab, job_id: int) -> str | None:
    """The job's final state (COMPLETED, CANCELLED, FAILED...) once every process of it has
    ended (squeue lists a job until then, completing ones too), else None."""
    if lab.run(["squeue", "-h", "-j", str(job_id), "-o", "%T"], check=False).stdout.strip():
        return None
    return lab.job(job_id).get("JobState") or None


@pytest.mark.netns
@pytest.mark.slow
def test_sbatch_runs_on_two_nodes_scancel_stops_cleanly_and_resubmission_completes(
    slurm_lab: SlurmLab, tmp_path: Path
) -> None:
    lab = slurm_lab
    shared = tmp_path / "shared"  # every node sees it at this path (the cluster's NFS)
    shared.mkdir()
    folder = shared / "experiments" / "slurm"
    env = {
        "NETSEP_PYTHON": sys.executable,
        "NETSEP_RAY_TMPDIR": str(lab.workdir),  # short socket paths
        "NETSEP_RAY_OBJECT_STORE_BYTES": str(150 * 1024**2),
    }
    submit = [
        "--nodes=2",
        "--ntasks-per-node=1",
        "--cpus-per-task=1",
        "--gpus-per-node=1",
        f"--output={shared}/job-%j.out",
        SBATCH,
        "--smoke-test",
        "--trials",
        str(SEARCH_TRIALS),
        "--epochs",
        str(EPOCHS),
        "--gpus-per-trial",
        "0",  # the GPUs are fake: Ray counts them, nothing computes on them
        "--storage",
        str(shared / "experiments"),
        "--name",
        "slurm",
        "train_size=400",
    ]

    # 1. The first job: Ray across both nodes, trials on both.
    first = lab.sbatch(submit, cwd=REPO, env=env)
    output = shared / f"job-{first}.out"
    node_ips = {lab.node_ip(n) for n in lab.nodes}

    def nodes_with_results() -> set[str]:
        return {r["node_ip"] for rows in trial_results(folder / "tune").values() for r in rows}

    used = _wait(
        "trials reporting from both Slurm nodes",
        240,
        lambda: (u := nodes_with_results()) >= node_ips and u,
        lab,
        output,
    )
    assert used == node_ips, used
    text = output.read_text()
    assert "2 of 2 Ray nodes up" in text, text[-3000:]
    # Slurm's --gpus-per-node reached Ray: one GPU per node, two in the cluster.
    assert re.search(r"netsep: sweep 'slurm' on Ray cluster at \S+ \(2 CPUs, 2 GPUs\)", text), text[-3000:]

    # 2. The time limit's warning (--signal=B:USR1@300 sends USR1 to the batch shell alone):
    # the sweep stops while Ray runs, writes its report, exits 143, and the job requeues itself.
    stop_time = time.time()
    lab.run(["scancel", "--batch", "--signal=USR1", str(first)])
    _wait("the job to requeue itself", 120, lambda: lab.job(first).get("Restarts") == "1", lab, output)
    text = output.read_text()
    assert "netsep.sbatch: launch.py exited 143" in text, text[-4000:]
    assert "requeueing job" in text, text[-4000:]
    assert (folder / "trials.csv").stat().st_mtime >= stop_time, f"no report after the stop:\n{text[-6000:]}"

    # 3. The requeued job (same id, same arguments) resumes the folder; scancel stops it mid-sweep.
    reported = sum(len(rows) for rows in trial_results(folder / "tune").values())
    _wait(
        "the requeued job to resume and report",
        240,
        lambda: (
            "continuing it with --resume" in output.read_text()
            and sum(len(rows) for rows in trial_results(folder / "tune").values()) > reported
        ),
        lab,
        output,
    )
    stop_time = time.time()
    lab.run(["scancel", str(first)])
    state = _wait("the cancelled job to end", 180, lambda: _ended(lab, first), lab, output)
    assert state == "CANCELLED", state
    text = output.read_text()
    # Slurm's SIGTERM reached every process: the driver stops by itself (exit 143, its own
    # report), or Ray ends under it and the script writes the report; either way exit 143.
    stopped = text.count("launch.py exited 143") == 2 or "the sweep was stopped by SIGTERM (exit 143)" in text
    assert stopped, text[-4000:]
    assert (folder / "trials.csv").stat().st_mtime >= stop_time, f"no report after scancel:\n{text[-6000:]}"
    rows = read_csv(folder / "trials.csv")
    done_before = [r["trial_id"] for r in rows if r["status"] == "complete"]
    assert len(done_before) < SEARCH_TRIALS + 1, "the sweep finished before scancel: give it more trials"

    # 4. The same command again: the script resumes the folder, and the sweep completes.
    second = lab.sbatch(submit, cwd=REPO, env=env)
    output = shared / f"job-{second}.out"
    state = _wait("the resubmitted job to end", 300, lambda: _ended(lab, second), lab, output)
    text = output.read_text()
    assert state == "COMPLETED", f"{state}:\n{text[-4000:]}"
    assert "continuing it with --resume" in text, text[-3000:]
    assert "netsep.sbatch: launch.py exited 0" in text, text[-3000:]
    rows = read_csv(folder / "trials.csv")
    assert len(rows) == SEARCH_TRIALS + 1, [(r["trial_id"], r["status"]) for r in rows]
    assert {r["status"] for r in rows} == {"complete"}, [(r["trial_id"], r["status"], r["reason"]) for r in rows]
    assert len({r["trial_id"] for r in rows}) == len(rows)
    assert set(done_before) <= {r["trial_id"] for r in rows}
    assert all(s["status"] == "TERMINATED" for s in tune_state(folder / "tune").values())


# ------------------------------------------------------------ mistakes, without Slurm
def _script(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """The batch script run as Slurm would run it (bash, in the submit folder), with ``env`` only."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"]}
    return subprocess.run(
        ["bash", str(REPO / SBATCH), *argv], env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["--smoke-test"], {}, "not inside a Slurm job: submit it with sbatch"),
        ([], {"SLURM_JOB_ID": "7"}, "no launch.py arguments"),
        (["--smoke-test"], {"SLURM_JOB_ID": "7", "NETSEP_DIR": "/nonexistent"}, "no netsep checkout at '/nonexistent'"),
        (["--smoke-test", "--address", "auto"], {"SLURM_JOB_ID": "7"}, "leave --address out"),
        (["--smoke-test", "--name"], {"SLURM_JOB_ID": "7"}, "--name needs a value"),
        (["report", "experiments/x"], {"SLURM_JOB_ID": "7"}, "runs sweeps"),
        (["--smoke-test"], {"SLURM_JOB_ID": "7", "NETSEP_PYTHON": "no-such-python"}, "'no-such-python' is not on PATH"),
    ],
)
def test_the_batch_script_refuses_bad_input_in_one_line(
    argv: list[str], env: dict[str, str], says: str, tmp_path: Path
) -> None:
    done = _script(argv, {"SLURM_SUBMIT_DIR": str(REPO), **env}, tmp_path)
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("netsep.sbatch: error: ") and says in lines[0], done.stderr
    assert not list(tmp_path.iterdir()), "it wrote something before failing"


def test_the_checkout_defaults_to_the_submit_folder(tmp_path: Path) -> None:
    done = _script(["--smoke-test"], {"SLURM_JOB_ID": "7", "SLURM_SUBMIT_DIR": str(tmp_path)}, tmp_path)
    assert done.returncode == 2 and f"no netsep checkout at '{tmp_path}'" in done.stderr, done
