"""Every node of a Ray cluster must see ``--storage``: checked before the first trial.

Since Ray 2.7 nothing copies trial folders between machines: each trial writes its
results and checkpoints straight to the storage path on whatever node it runs, the
driver reads them from there, and a trial from a lost node resumes on another node
from its last checkpoint there. A local folder that exists on every machine but is not
shared passes every check on the driver's machine and then splits the sweep across
disks. So on a cluster of more than one node the driver writes a probe file under the
storage, and one small Ray task pinned to each alive node reads it back and writes an
answer beside it; a node that cannot see the probe (or cannot write there) ends the
sweep before any trial ran, with one line naming the node.

Local paths and object-store URIs (``s3://bucket/prefix``, ``gs://...``) go through
the same pyarrow filesystem Ray Tune uses, opened on each node, so a URI is checked
with each node's own credentials too.
"""

from __future__ import annotations

import os
import posixpath
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from sweep.errors import UserError
from sweep.paths import is_uri

__all__ = ["PROBE_PREFIX", "check_storage_visible"]

PROBE_PREFIX = ".netsep-storage-probe-"  # + a random hex id; removed after the check
# A node's task needs a worker process: seconds normally, minutes on a busy machine.
DEFAULT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class _Answer:
    ip: str
    problem: str | None  # None: the node read the probe and wrote its answer


def _open(storage: str) -> tuple[Any, str]:
    """(pyarrow filesystem, path inside it) of a local path or URI."""
    from pyarrow import fs

    return fs.FileSystem.from_uri(storage)


def _visit(storage: str, probe: str, token: str, answer: str, ip: str) -> _Answer:
    """Run on one node: read the driver's probe, write this node's answer."""
    try:
        filesystem, _ = _open(storage)
    except Exception as exc:  # noqa: BLE001 -- any failure to open is the node's answer
        return _Answer(ip, f"cannot open it ({_first_line(exc)})")
    try:
        with filesystem.open_input_stream(probe) as f:
            seen = f.read().decode(errors="replace")
    except FileNotFoundError:
        return _Answer(ip, "does not see the probe file the driver wrote there")
    except Exception as exc:  # noqa: BLE001
        return _Answer(ip, f"cannot read it ({_first_line(exc)})")
    if seen != token:
        return _Answer(ip, "sees a different file under the same name")
    try:
        with filesystem.open_output_stream(answer) as f:
            f.write(token.encode())
    except Exception as exc:  # noqa: BLE001
        return _Answer(ip, f"cannot write there ({_first_line(exc)})")
    return _Answer(ip, None)


def check_storage_visible(storage: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Raise ``UserError`` naming every alive node that cannot read and write ``storage``.

    Needs a connected Ray (``ray.init``). A single-node cluster is not checked (nothing
    is written). ``storage`` is an absolute local path or a URI, as Tune gets it. A
    node that does not answer within ``timeout_s`` (or dies meanwhile) is reported on
    stderr and not held against the sweep: it has no trials to lose yet.
    """
    import ray

    if not ray.is_initialized():
        raise RuntimeError("check_storage_visible: connect to Ray first (ray.init)")
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if len(nodes) <= 1:
        return
    if not is_uri(storage):
        storage = os.path.abspath(storage)  # the nodes look for the driver's path, not their cwd's
    filesystem, root = _open(storage)
    token = uuid.uuid4().hex
    probe = posixpath.join(root, PROBE_PREFIX + token)
    try:
        filesystem.create_dir(root, recursive=True)
        with filesystem.open_output_stream(probe) as f:
            f.write(token.encode())
    except OSError as exc:
        raise UserError(f"--storage: cannot write under {storage!r} ({_first_line(exc)})") from None
    answers = {n["NodeID"]: f"{probe}.{n['NodeID'][:12]}" for n in nodes}
    try:
        results = _ask_every_node(nodes, storage, probe, token, answers, timeout_s)
    finally:
        for path in (probe, *answers.values()):
            try:
                filesystem.delete_file(path)
            except OSError:
                pass  # an answer never written, or already gone
    failed = [a for a in results if a.problem is not None]
    if failed:
        raise UserError(_message(storage, failed))


def _ask_every_node(
    nodes: list[dict[str, Any]], storage: str, probe: str, token: str, answers: dict[str, str], timeout_s: float
) -> list[_Answer]:
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # num_cpus=0: runs even where every CPU is taken; soft=False: on that node or not at all.
    visit = ray.remote(num_cpus=0, max_retries=0)(_visit)
    refs = {}
    for node in nodes:
        strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
        ip = node["NodeManagerAddress"]
        refs[visit.options(scheduling_strategy=strategy).remote(storage, probe, token, answers[node["NodeID"]], ip)] = (
            ip
        )
    ready, pending = ray.wait(list(refs), num_returns=len(refs), timeout=timeout_s)
    results = []
    for ref in ready:
        try:
            results.append(ray.get(ref))
        except Exception as exc:  # noqa: BLE001 -- the node died or the task could not run there
            print(f"netsep: warning: storage check skipped node {refs[ref]}: {_first_line(exc)}", file=sys.stderr)
    for ref in pending:
        ray.cancel(ref, force=True)
        print(
            f"netsep: warning: storage check: node {refs[ref]} did not answer within {timeout_s:g} s; not checked",
            file=sys.stderr,
        )
    return results


def _message(storage: str, failed: list[_Answer]) -> str:
    which = "; ".join(f"node {a.ip} {a.problem}" for a in sorted(failed, key=lambda a: a.ip))
    if is_uri(storage):
        fix = "every node needs access to it (the same credentials and network access as the driver)"
    else:
        fix = (
            "use a folder that every node mounts at the same path (NFS, e.g. --storage /shared/experiments) "
            "or an object store URI such as s3://bucket/prefix"
        )
    return (
        f"--storage: {storage!r} must be visible to every node of the Ray cluster, but {which}; {fix} (docs/cluster.md)"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
