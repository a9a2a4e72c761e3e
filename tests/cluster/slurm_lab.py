"""A Slurm cluster on one Linux host: real ``munged``, ``slurmctld`` and one ``slurmd`` per machine.

The machines are the network namespaces of a ``LabNetwork`` (``tests.cluster.netns``):
machine 0 is the login and controller machine (``slurmctld``; the test's ``sbatch`` and
``scancel`` run there), machines 1..N are the compute nodes ``n1 .. nN``, each with its
own ``slurmd -N nX`` at its own address (``NodeAddr``) and its own spool folder. Jobs,
their ``srun`` steps and everything they start (Ray, the sweep) run in the namespace of
the node's slurmd, so they reach each other only over the lab's bridge.

* One ``munged`` with a key the test makes serves every daemon and client through its
  Unix socket (a file: namespaces that share the filesystem share it).
* The daemons enter a namespace with ``nsenter --net`` rather than ``ip netns exec``,
  which remounts ``/sys`` and so hides ``/sys/fs/cgroup`` (slurmd refuses to start
  without it, even with process tracking by ``/proc``).
* Each node offers one fake GPU (``gres/gpu`` on ``/dev/null``): Slurm allocates it and
  sets ``SLURM_GPUS_ON_NODE`` and ``CUDA_VISIBLE_DEVICES`` as for a real one, so the
  path from ``--gpus-per-node`` to Ray's ``--num-gpus`` is exercised; nothing may
  compute on it.
* ``KillWait`` is Slurm's time between SIGTERM and SIGKILL on ``scancel``: the time a
  sweep has to save and write its report.

Every process is stopped by pid: ``munged`` (root namespace) by its own, everything in
the namespaces by ``LabNetwork.close``. Nothing listens beyond the lab's addresses and
loopback.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.cluster.netns import LabNetwork
from tests.processes import kill_session

__all__ = ["SLURM_PACKAGES", "SlurmLab", "missing_slurm"]

SLURM_PACKAGES = ("slurm-wlm", "munge")  # Debian: slurmctld, slurmd, sbatch, srun, scancel, munged
_TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scancel", "squeue", "scontrol", "sinfo", "nsenter")


def missing_slurm() -> str | None:
    """Why a Slurm lab cannot run here (beyond the namespaces), or None."""
    for tool in _TOOLS:
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install {' '.join(SLURM_PACKAGES)} util-linux)"
    return None


@dataclass
class SlurmLab:
    """``slurmctld`` on ``net``'s machine 0, ``slurmd`` ``n1 .. nN`` on machines 1..N."""

    net: LabNetwork
    workdir: Path  # configuration, state, logs (short paths: Slurm's socket paths are limited too)
    cpus_per_node: int = 2  # what each slurmd offers (this host's CPUs: slurmd checks them)
    # SIGTERM -> SIGKILL on scancel: the sweep's time to save. Slurm's default is 30 s; the
    # batch script gives its driver a third of it before it writes the report itself.
    kill_wait_s: int = 30
    env: dict[str, str] = field(init=False)  # a Slurm client's environment (SLURM_CONF)
    _munged: subprocess.Popen | None = field(default=None, init=False)
    _daemons: list[subprocess.Popen] = field(default_factory=list, init=False)

    @property
    def nodes(self) -> list[str]:
        return [f"n{i}" for i in range(1, len(self.net.names))]

    def node_ip(self, node: str) -> str:
        return self.net.ips[int(node.removeprefix("n"))]

    @property
    def conf(self) -> Path:
        return self.workdir / "slurm.conf"

    def log(self, name: str) -> Path:
        return self.workdir / "log" / name

    # ------------------------------------------------------------------ starting
    def start(self, timeout_s: float = 60.0) -> None:
        for sub in ("state", "log", "munge", *(f"spool/{n}" for n in self.nodes)):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        (self.workdir / "munge").chmod(0o700)  # munged refuses a socket folder others may write
        key = self.workdir / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        socket_path = self.workdir / "munge" / "munge.socket"
        with open(self.log("munged.out"), "w") as out:  # the child keeps its own copy
            self._munged = self._popen(
                [
                    "munged",
                    "--foreground",
                    "--force",  # root-owned key and folders are fine here
                    f"--key-file={key}",
                    f"--socket={socket_path}",
                    f"--pid-file={self.workdir / 'munge' / 'munged.pid'}",
                    f"--log-file={self.log('munged.log')}",
                    f"--seed-file={self.workdir / 'munge' / 'munged.seed'}",
                ],
                out,
                dict(os.environ),
            )
        self._wait(lambda: socket_path.exists(), timeout_s, "munged's socket", self.log("munged.out"))
        self.conf.write_text(self._slurm_conf(socket_path))
        (self.workdir / "gres.conf").write_text("Name=gpu File=/dev/null\n")  # one fake GPU per node
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._daemons.append(self._daemon(0, ["slurmctld", "-D", "-f", str(self.conf)], "slurmctld.out"))
        for i, node in enumerate(self.nodes, start=1):
            self._daemons.append(self._daemon(i, ["slurmd", "-D", "-N", node, "-f", str(self.conf)], f"{node}.out"))
        self._wait(self._all_idle, timeout_s, "every slurmd to register as idle", self.log("slurmctld.log"))

    def _slurm_conf(self, munge_socket: Path) -> str:
        w = self.workdir
        node_lines = [
            f"NodeName={n} NodeAddr={self.node_ip(n)} CPUs={self.cpus_per_node} Gres=gpu:1 State=UNKNOWN"
            for n in self.nodes
        ]
        return "\n".join(
            [
                "ClusterName=netseplab",
                # slurmctld checks that it runs on the host its first SlurmctldHost names.
                f"SlurmctldHost={socket.gethostname()}({self.net.ips[0]})",
                "AuthType=auth/munge",
                "CredType=cred/munge",
                # cred_expire: also how long a requeued job waits before it may start
                # again (Slurm's default 120 s); sched_interval: how often pending jobs
                # are looked at (60 s). Shorter here so the requeue test is quick (a
                # credential is used within a second of being made on this host).
                f"AuthInfo=socket={munge_socket},cred_expire=10",
                "SchedulerParameters=sched_interval=3",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"StateSaveLocation={w / 'state'}",
                f"SlurmdSpoolDir={w / 'spool' / '%n'}",
                f"SlurmctldPidFile={w / 'slurmctld.pid'}",
                f"SlurmdPidFile={w / 'spool' / '%n.pid'}",
                f"SlurmctldLogFile={self.log('slurmctld.log')}",
                f"SlurmdLogFile={self.log('slurmd-%n.log')}",
                "SlurmctldDebug=info",
                "SlurmdDebug=info",
                # No cgroups: processes are tracked through /proc, nothing is confined.
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "JobAcctGatherType=jobacct_gather/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_CPU",
                "SwitchType=switch/none",
                "MpiDefault=none",
                "GresTypes=gpu",
                "ReturnToService=2",
                "SlurmdParameters=config_overrides",
                "MailProg=/bin/true",
                f"KillWait={self.kill_wait_s}",
                "MinJobAge=600",  # finished jobs stay visible to scontrol for the whole test
                *node_lines,
                f"PartitionName=lab Nodes={','.join(self.nodes)} Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )

    def _daemon(self, machine: int, argv: Sequence[str], log: str) -> subprocess.Popen:
        with open(self.log(log), "w") as out:  # the child keeps its own copy
            return self._popen(["nsenter", f"--net=/run/netns/{self.net.names[machine]}", *argv], out, self.env)

    @staticmethod
    def _popen(argv: Sequence[str], out: IO[str], env: Mapping[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _all_idle(self) -> bool:
        for daemon in self._daemons:
            if daemon.poll() is not None:
                raise RuntimeError(f"a Slurm daemon exited ({daemon.returncode}): {daemon.args}\n{self.logs()}")
        done = self.run(["sinfo", "-h", "-N", "-o", "%N %t"], check=False)
        states = dict(line.split() for line in done.stdout.splitlines() if len(line.split()) == 2)
        return sorted(states) == self.nodes and set(states.values()) == {"idle"}

    def _wait(self, condition: Callable[[], bool], timeout_s: float, what: str, log: Path) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                text = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
                raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}:\n{text}")
            time.sleep(0.3)

    # ------------------------------------------------------------------- clients
    def run(
        self, argv: Sequence[str], check: bool = True, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        """A Slurm client command (sbatch, scancel, squeue...) on the login machine."""
        done = subprocess.run(
            self.net.exec_argv(0, list(argv)),
            env={**self.env, **(env or {})},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"`{' '.join(argv)}` failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done

    def sbatch(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None) -> int:
        """``sbatch ARGV`` from ``cwd``; the job id."""
        out = self.run(["sbatch", *argv], cwd=cwd, env=env).stdout
        match = re.search(r"Submitted batch job (\d+)", out)
        if not match:
            raise RuntimeError(f"sbatch printed no job id: {out}")
        return int(match.group(1))

    def job(self, job_id: int) -> dict[str, str]:
        """``scontrol show job``'s fields (JobState, ExitCode, Restarts, NodeList...)."""
        out = self.run(["scontrol", "show", "job", "-o", str(job_id)], check=False).stdout
        return dict(item.split("=", 1) for item in out.split() if "=" in item)

    def logs(self) -> str:
        """The daemons' log tails, for a failure message."""
        parts = []
        for path in sorted((self.workdir / "log").glob("*")):
            parts.append(f"--- {path.name}:\n{path.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)

    def close(self) -> None:
        try:
            self.net.close()  # slurmctld, slurmd, their jobs and Ray: every pid in the namespaces
        finally:
            for daemon in self._daemons:
                try:
                    daemon.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            if self._munged is not None:
                kill_session(self._munged)
