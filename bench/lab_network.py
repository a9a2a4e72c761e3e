"""Lab machines on one host: network namespaces joined by a private bridge.

A ``LabNetwork`` is a Linux bridge in the root namespace and one network namespace
per "machine", joined to the bridge by a veth pair, with an address in a private /24
that it creates (``10.213.X.0/24``). The namespaces have no default route and the
bridge has no uplink and no address in the root namespace, so processes in them reach
only each other and their own loopback: nothing leaves the machine.

Every process is stopped by pid: the processes in a namespace are exactly the ones
started there (``ip netns pids``); closing the network SIGKILLs them and deletes the
namespaces. Never a kill by name.

The multi-host tests (``tests/cluster``) and the soak benchmark (``bench/soak.py``)
share it; it needs root and iproute2.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

__all__ = ["LabNetwork", "missing_requirements"]


# ------------------------------------------------------------------------ the host
def missing_requirements() -> str | None:
    """Why the namespace tests cannot run here, or None when they can."""
    if os.name != "posix" or not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    if shutil.which("ss") is None:
        return "`ss` (iproute2) is not installed"
    probe = f"nsprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is not permitted here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


# Third octets in use on this host: a flock on one file per octet, held while a network
# lives (the kernel drops it when its process dies, so a killed run leaves no claim).
_SUBNET_LOCKS = "/tmp/netsep-lab-subnets"


def _claim_subnet(first: int) -> tuple[int, int]:
    """The first third octet from ``first`` (1..250, wrapping) no other live network holds: (octet, lock fd)."""
    os.makedirs(_SUBNET_LOCKS, exist_ok=True)
    for step in range(250):
        octet = (first - 1 + step) % 250 + 1
        fd = os.open(os.path.join(_SUBNET_LOCKS, str(octet)), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return octet, fd
    raise RuntimeError(f"all 250 lab subnets 10.213.X.0/24 are in use ({_SUBNET_LOCKS})")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")


_counter = itertools.count()


class LabNetwork:
    """A bridge and ``size`` namespaces ``<prefix>-0 .. -N`` at 10.213.X.1 .. X.N.

    Names include the pid and a counter, so runs side by side never share one. Use it
    as a context manager: leaving it kills every process in its namespaces (by pid)
    and deletes them, also when the test failed.
    """

    def __init__(self, size: int) -> None:
        tag = f"{os.getpid()}{next(_counter)}"
        self.prefix = f"nsep{tag}"
        self.bridge = f"nsb{tag}"[:15]  # interface names: 15 characters at most
        # A per-run third octet keeps two runs' addresses apart in logs and in Ray's
        # process scans (Ray finds raylets by looking at the machine's process list).
        # Claimed, so that two runs at once (pytest-xdist's workers, a soak beside the tests)
        # never share one.
        octet, self._subnet_lock = _claim_subnet(os.getpid() % 250 + 1)
        self.subnet = f"10.213.{octet}"
        self.names = [f"{self.prefix}-{i}" for i in range(size)]
        self.ips = [f"{self.subnet}.{i + 1}" for i in range(size)]
        self._veths: list[str] = []
        self._made: list[str] = []

    def __enter__(self) -> LabNetwork:
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            self._made.append(self.bridge)
            _ip("link", "set", self.bridge, "up")
            for i, (name, address) in enumerate(zip(self.names, self.ips)):
                _ip("netns", "add", name)
                self._made.append(name)
                host_end, ns_end = f"nsv{self.bridge[3:]}h{i}"[:15], f"nsv{self.bridge[3:]}n{i}"[:15]
                _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
                self._veths.append(host_end)
                _ip("link", "set", ns_end, "netns", name)
                _ip("link", "set", host_end, "master", self.bridge, "up")
                _ip("-n", name, "link", "set", "lo", "up")
                _ip("-n", name, "addr", "add", f"{address}/24", "dev", ns_end)
                _ip("-n", name, "link", "set", ns_end, "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exec_argv(self, node: int, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside node ``node``'s namespace (``ip netns exec`` execs it: same pid)."""
        return ["ip", "netns", "exec", self.names[node], *argv]

    def pids(self, node: int) -> list[int]:
        done = subprocess.run(["ip", "netns", "pids", self.names[node]], capture_output=True, text=True, check=False)
        return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []

    def kill_node(self, node: int, timeout_s: float = 20.0) -> list[int]:
        """SIGKILL every process in node ``node``'s namespace (a machine losing power)."""
        killed: list[int] = []
        deadline = time.monotonic() + timeout_s
        while pids := self.pids(node):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"processes {pids} in {self.names[node]} survive SIGKILL")
            time.sleep(0.2)
        return killed

    def close(self) -> None:
        problems: list[str] = []
        for i, name in enumerate(self.names):
            if name not in self._made:
                continue
            try:
                self.kill_node(i)
            except RuntimeError as error:
                problems.append(str(error))
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            self._made.remove(name)
        for veth in self._veths:  # gone with their namespace already, normally
            subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)
        self._veths.clear()
        if self.bridge in self._made:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
            self._made.remove(self.bridge)
        if self._subnet_lock >= 0:
            os.close(self._subnet_lock)  # the subnet is free again
            self._subnet_lock = -1
        if problems:
            raise RuntimeError("; ".join(problems))
