"""``check_storage_visible``: every node of a cluster must see ``--storage``.

Three Ray nodes in network namespaces, started as cluster.yaml starts them; the
second worker also runs in a mount namespace of its own, with an empty tmpfs over
one folder: on that machine the folder exists but is private, like a local disk
where the lab meant an NFS share. The rest of the filesystem is shared by all nodes
(the stand-in for NFS).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sweep.backend.storage_check import check_storage_visible
from tests.cluster.netns import LabNetwork, RayLab, missing_requirements
from tests.helpers import require

PRIVATE_NODE = 2


class PrivateFolderNetwork(LabNetwork):
    """A LabNetwork whose node ``private_node`` sees an empty tmpfs at ``folder``."""

    def __init__(self, size: int, folder: Path, private_node: int) -> None:
        super().__init__(size)
        self.folder, self.private_node = folder, private_node

    def exec_argv(self, node: int, argv: Sequence[str]) -> list[str]:
        if node != self.private_node:
            return super().exec_argv(node, argv)
        # unshare and sh both exec: the pid that `ip netns exec` started stays the node's process.
        mount = 'mount -t tmpfs netsep-private "$0" && exec "$@"'
        return super().exec_argv(
            node, ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, str(self.folder), *argv]
        )


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RayLab, Path, Path]]:
    reason = missing_requirements()
    require(reason is None, f"the storage check test needs network namespaces: {reason}")
    base = tmp_path_factory.mktemp("storage")
    shared, private = base / "shared", base / "private"
    shared.mkdir()
    private.mkdir()
    net = PrivateFolderNetwork(3, private, PRIVATE_NODE)
    net.__enter__()
    try:
        ray_lab = RayLab(net, base)
        ray_lab.start()
        yield ray_lab, shared, private
    finally:
        net.close()


def _check_on_head(ray_lab: RayLab, storage: str) -> dict[str, str]:
    """Run the check as the sweep's driver on the head would; its outcome as a dict."""
    code = textwrap.dedent(f"""
        import json, ray
        from sweep.errors import UserError
        from sweep.backend.storage_check import check_storage_visible
        ray.init(address={ray_lab.address!r}, logging_level="ERROR", log_to_driver=False)
        try:
            check_storage_visible({storage!r}, timeout_s=240)
            print("RESULT=" + json.dumps({{"ok": "yes"}}))
        except UserError as err:
            print("RESULT=" + json.dumps({{"error": err.message}}))
    """)
    done = ray_lab.run_python(0, code, timeout_s=360)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT=")), None)
    assert done.returncode == 0 and line, f"{shlex.quote(storage)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(line[len("RESULT=") :])


@pytest.mark.netns
@pytest.mark.slow
def test_a_node_with_a_private_folder_is_named(lab: tuple[RayLab, Path, Path]) -> None:
    ray_lab, _, private = lab
    outcome = _check_on_head(ray_lab, str(private))
    message = outcome.get("error", "")
    private_ip = ray_lab.net.ips[PRIVATE_NODE]
    assert f"node {private_ip} does not see the probe file" in message, outcome
    assert all(ip not in message for ip in ray_lab.net.ips if ip != private_ip), message
    assert message.startswith(f"--storage: {str(private)!r} must be visible to every node")
    assert "NFS" in message and "s3://bucket/prefix" in message, message
    assert "\n" not in message
    assert not list(private.iterdir()), "the probe and the answers are removed"


@pytest.mark.netns
@pytest.mark.slow
def test_a_uri_is_checked_through_each_nodes_filesystem(lab: tuple[RayLab, Path, Path]) -> None:
    ray_lab, _, private = lab
    message = _check_on_head(ray_lab, f"file://{private}").get("error", "")
    assert f"node {ray_lab.net.ips[PRIVATE_NODE]} does not see the probe file" in message, message
    assert "every node needs access to it" in message, message
    assert not list(private.iterdir())


@pytest.mark.netns
@pytest.mark.slow
def test_a_folder_every_node_sees_passes(lab: tuple[RayLab, Path, Path]) -> None:
    ray_lab, shared, _ = lab
    storage = shared / "experiments" / "sweep-1"  # made by the check, as the sweep would
    assert _check_on_head(ray_lab, str(storage)) == {"ok": "yes"}
    assert storage.is_dir() and not list(storage.iterdir()), list(storage.iterdir())


def test_needs_a_connected_ray() -> None:
    import ray

    # Never connected here: no test leaves Ray connected (tests/isolation.py fails and
    # disconnects one that does), so this runs in any order.
    assert not ray.is_initialized()
    with pytest.raises(RuntimeError, match="ray.init"):
        check_storage_visible("/nonexistent/storage")


@pytest.mark.slow
def test_a_single_node_is_not_checked(tmp_path: Path) -> None:
    # In a process of its own: ray.init in pytest's process would leave Ray's SIGTERM
    # handler and environment variables behind after ray.shutdown.
    storage = tmp_path / "never-made"
    code = textwrap.dedent(f"""
        import ray
        from sweep.backend.storage_check import check_storage_visible
        ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR")
        try:
            check_storage_visible({str(storage)!r})
        finally:
            ray.shutdown()
        print("CHECKED")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "CHECKED" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    assert not storage.exists(), "a single node needs no probe"
