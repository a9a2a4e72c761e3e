"""Lab machines that `ray up` can ssh into, on one Linux host.

A ``Machine`` is one network namespace of a ``LabNetwork`` (its own address on a
private bridge, see ``tests.cluster.netns``) that also gets

* its own **PID namespace**, so ``ray stop`` (which cluster.yaml's start commands and
  ``ray down`` run) sees and stops only that machine's Ray, never the host's or another
  test's;
* its own **mount namespace** with a private ``/root`` (the lab account's home:
  ``~/.ray``, ``~/.bashrc``, ``~/netsep``, Ray's ``~/ray_bootstrap_*``) and a private
  ``/tmp`` (Ray's ``/tmp/ray``: session folders, the local provider's cluster state file).
  The test's own folder stays visible at its usual path on every machine: it plays the
  lab's NFS share. So do this interpreter's files and the repository;
* a default route into a veth pair whose two ends both stay inside the namespace: Ray
  finds a node's address by "connecting" a UDP socket towards a public resolver (no
  packet is sent), which needs a route; without one every head would call itself
  127.0.0.1. Nothing routed there leaves the namespace;
* optionally its own ``sshd`` (Debian's openssh-server) as PID 1, listening on the
  machine's address only, root login with the test's key only.

Commands run "on" a machine through ``nsenter`` into its namespaces. Everything is
stopped by pid: the ``LabNetwork`` kills every process in its namespaces when closed,
and a PID namespace dies with its PID 1.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.cluster.netns import (
    LabNetwork,
    missing_requirements,
    node_sockets,
)
from tests.helpers import REPO

__all__ = ["APT_PACKAGES", "SSHD", "Machine", "SshLab", "missing_ssh_requirements"]

SSHD = "/usr/sbin/sshd"
# Debian packages behind each tool the ssh lab needs (what CI installs).
_TOOL_PACKAGES = {
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "rsync": "rsync",
    "unshare": "util-linux",
    "nsenter": "util-linux",
    "git": "git",
}
APT_PACKAGES = ("iproute2", "openssh-server", "openssh-client", "rsync", "util-linux", "git")
# sshd refuses to start without its privilege separation directory (Debian's path).
_PRIVSEP_DIR = Path("/run/sshd")
_REAPER = (
    "import os, time\n"
    "while True:\n"
    "    try:\n"
    "        os.wait()\n"
    "    except ChildProcessError:\n"
    "        time.sleep(0.5)\n"
)


def missing_ssh_requirements() -> str | None:
    """Why machines with sshd cannot be made here, or None when they can."""
    reason = missing_requirements()
    if reason:
        return reason
    if not os.access(SSHD, os.X_OK):
        return f"{SSHD} is missing (apt-get install openssh-server)"
    for tool, package in _TOOL_PACKAGES.items():
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install {package})"
    probe = subprocess.run(
        ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "true"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return f"PID and mount namespaces are not permitted here: {probe.stderr.strip()}"
    return None


def _outermost(paths: Sequence[Path]) -> list[Path]:
    """``paths`` without those inside another one of them."""
    out: list[Path] = []
    for path in sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(kept) for kept in out):
            out.append(path)
    return out


def _python_paths() -> list[Path]:
    """What this interpreter and its packages need on disk (may live in /root, e.g. pyenv)."""
    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent]
    paths += [Path(p) for p in sys.path if p and Path(p).is_dir()]
    return paths


@dataclass
class Machine:
    """One lab machine: a namespace's address, its private /root and /tmp, its PID 1."""

    index: int  # the node index in the LabNetwork
    name: str  # the network namespace
    ip: str
    root: Path  # its /root, as this host sees it
    tmp: Path  # its /tmp, as this host sees it
    sshd: bool
    init: subprocess.Popen | None = None  # `ip netns exec ... unshare ...`: PID 1's parent
    pid1: int = 0  # its PID 1 (sshd or a reaper), as this host numbers it

    def home_path(self, path: str) -> Path:
        """Where ``~/path`` on the machine lies on this host."""
        return self.root / path


@dataclass
class SshLab:
    """Machines ``0 .. N-1`` on ``net``; those in ``servers`` run sshd for the test's key."""

    net: LabNetwork
    workdir: Path  # shared by all machines (the "NFS share"); keys, configs, logs
    servers: Sequence[int]
    machines: list[Machine] = field(init=False)
    key: Path = field(init=False)  # the private key that every sshd accepts for root

    def __post_init__(self) -> None:
        base = self.workdir / "machines"
        self.machines = [
            Machine(i, name, ip, base / f"m{i}" / "root", base / f"m{i}" / "tmp", i in self.servers)
            for i, (name, ip) in enumerate(zip(self.net.names, self.net.ips))
        ]
        self.key = self.workdir / "keys" / "id_ed25519"

    # ------------------------------------------------------------------ starting
    def start(self, timeout_s: float = 60.0) -> None:
        self.key.parent.mkdir(parents=True, exist_ok=True)
        _keygen(self.key)
        _PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        for machine in self.machines:
            self._prepare(machine)
            self._add_default_route(machine)
            with open(self._dir(machine) / "init.log", "w") as log:  # the child keeps its own copy
                machine.init = subprocess.Popen(
                    self._init_argv(machine),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        for machine in self.machines:
            machine.pid1 = self._find_pid1(machine, timeout_s)
            if machine.sshd:
                self._wait_for_sshd(machine, timeout_s)

    def _dir(self, machine: Machine) -> Path:
        return machine.root.parent

    def _prepare(self, machine: Machine) -> None:
        """The machine's home: the test's key authorised, a login shell with this Python."""
        for folder in (machine.root, machine.root / ".ssh", machine.tmp):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)  # sshd's StrictModes checks the home and ~/.ssh
        (machine.tmp).chmod(0o1777)
        bin_dir = machine.root / "bin"
        bin_dir.mkdir(exist_ok=True)
        # `python` and `ray` as cluster.yaml's commands call them (a lab's activated venv).
        (bin_dir / "python").symlink_to(sys.executable)
        path = f"/root/bin:{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        (machine.root / ".bashrc").write_text(f"export PATH={path}\n")
        (machine.root / ".profile").write_text("[ -f ~/.bashrc ] && . ~/.bashrc\n")
        if machine.sshd:
            authorized = machine.root / ".ssh" / "authorized_keys"
            authorized.write_text(self.key.with_suffix(".pub").read_text())
            authorized.chmod(0o600)
            host_key = self._dir(machine) / "ssh_host_ed25519_key"
            _keygen(host_key)
            (self._dir(machine) / "sshd_config").write_text(_sshd_config(machine.ip, host_key))

    def _add_default_route(self, machine: Machine) -> None:
        # Both ends of this pair stay in the namespace: a route that exists and leads nowhere.
        for args in (
            ["link", "add", "nsdrop0", "type", "veth", "peer", "name", "nsdrop1"],
            ["link", "set", "nsdrop0", "up"],
            ["link", "set", "nsdrop1", "up"],
            ["route", "add", "default", "dev", "nsdrop0"],
        ):
            subprocess.run(["ip", "-n", machine.name, *args], check=True, capture_output=True, text=True)

    def _mount_script(self, machine: Machine) -> str:
        """Shell lines run in the machine's new mount namespace before its PID 1 starts."""
        lines = ["set -e"]
        keep = _outermost([*_python_paths(), REPO])
        for top, private in ((Path("/root"), machine.root), (Path("/tmp"), machine.tmp)):
            for path in keep:
                if path.is_relative_to(top) and path != top:
                    target = private / path.relative_to(top)
                    target.mkdir(parents=True, exist_ok=True)
                    lines.append(f"mount --bind {shlex.quote(str(path))} {shlex.quote(str(target))}")
        shared = self.workdir.resolve()
        for top, private in ((Path("/root"), machine.root), (Path("/tmp"), machine.tmp)):
            if shared.is_relative_to(top):
                target = private / shared.relative_to(top)
                target.mkdir(parents=True, exist_ok=True)
                lines.append(f"mount --bind {shlex.quote(str(shared))} {shlex.quote(str(target))}")
        lines.append(f"mount --rbind {shlex.quote(str(machine.root))} /root")
        lines.append(f"mount --rbind {shlex.quote(str(machine.tmp))} /tmp")
        if machine.sshd:
            config = self._dir(machine) / "sshd_config"
            lines.append(f"exec {SSHD} -D -e -f {shlex.quote(str(config))}")
        else:
            lines.append(f"exec {shlex.quote(sys.executable)} -c {shlex.quote(_REAPER)}")
        return "\n".join(lines)

    def _init_argv(self, machine: Machine) -> list[str]:
        return self.net.exec_argv(
            machine.index,
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--mount-proc",
                "/bin/sh",
                "-c",
                self._mount_script(machine),
            ],
        )

    def _find_pid1(self, machine: Machine, timeout_s: float) -> int:
        assert machine.init is not None
        deadline = time.monotonic() + timeout_s
        children = Path(f"/proc/{machine.init.pid}/task/{machine.init.pid}/children")
        while time.monotonic() < deadline:
            if machine.init.poll() is not None:
                raise RuntimeError(
                    f"machine {machine.name} did not start ({machine.init.returncode}):\n"
                    f"{(self._dir(machine) / 'init.log').read_text()[-3000:]}"
                )
            try:
                pids = children.read_text().split()
            except OSError:
                pids = []
            if pids:
                return int(pids[0])
            time.sleep(0.05)
        raise RuntimeError(f"machine {machine.name}: no PID 1 after {timeout_s:.0f} s")

    def _wait_for_sshd(self, machine: Machine, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(s.port == 22 and s.address == machine.ip for s in node_sockets(self.net, machine.index)):
                return
            if machine.init is not None and machine.init.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(
            f"sshd on {machine.ip} did not start:\n{(self._dir(machine) / 'init.log').read_text()[-3000:]}"
        )

    # ------------------------------------------------------------------- running
    def argv(self, node: int, argv: Sequence[str], cwd: Path = REPO) -> list[str]:
        """``argv`` run on machine ``node`` (its network, mounts and process list), in ``cwd``."""
        pid1 = self.machines[node].pid1
        return ["nsenter", f"--target={pid1}", "--net", "--mount", "--pid", f"--wd={cwd}", "--", *argv]

    def env(self, **extra: str) -> dict[str, str]:
        """A fresh login's environment on a machine (nothing of this test process's)."""
        return {
            "HOME": "/root",
            "USER": "root",
            "LOGNAME": "root",
            "LANG": "C.UTF-8",
            "PATH": f"/root/bin:{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            **extra,
        }

    def run(
        self, node: int, argv: Sequence[str], env: Mapping[str, str], log: Path, timeout_s: float, cwd: Path = REPO
    ) -> subprocess.CompletedProcess:
        """Run to the end; its output goes to ``log`` (appended) and is returned as ``stdout``."""
        done = subprocess.run(
            self.argv(node, argv, cwd),
            check=False,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
        )
        with open(log, "a") as out:
            out.write(
                f"{time.strftime('%H:%M:%S')} $ {shlex.join(argv)}\n{done.stdout}\n"
                f"{time.strftime('%H:%M:%S')} [exit {done.returncode}]\n"
            )
        return done

    def popen(
        self, node: int, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path = REPO
    ) -> subprocess.Popen:
        """Start in the background (stopped with the machine)."""
        with open(log, "w") as out:  # the child keeps its own copy
            return subprocess.Popen(
                self.argv(node, argv, cwd),
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def processes(self, node: int) -> list[str]:
        """Command lines of every live process on machine ``node``."""
        out = []
        for pid in self.net.pids(node):
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if raw:
                out.append(raw.replace(b"\0", b" ").decode(errors="replace").strip())
        return out

    def close(self) -> None:
        try:
            self.net.close()  # SIGKILLs every process in the namespaces, by pid
        finally:
            for machine in self.machines:
                if machine.init is not None:
                    try:
                        machine.init.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass


def _keygen(path: Path) -> None:
    if not path.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netsep-test", "-f", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )


def _sshd_config(address: str, host_key: Path) -> str:
    return "\n".join(
        [
            f"ListenAddress {address}:22",  # the machine's address only
            f"HostKey {host_key}",
            "PidFile none",
            "PermitRootLogin prohibit-password",  # keys only
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "StrictModes yes",
            "AllowTcpForwarding yes",  # `ray dashboard` forwards the dashboard port
            "MaxStartups 50",
            "MaxSessions 50",
            "",
        ]
    )
