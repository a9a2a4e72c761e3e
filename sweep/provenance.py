"""Where a result came from: the code, the packages, the machines, the command, the times.

Every results folder (a sweep's, a compare's, a study's) gets ``provenance.json``,
written when a run starts and completed (end time, Ray's nodes) when it ends. A
``--resume`` appends a run instead of overwriting the first, so the file holds
``{"format": 1, "runs": [...]}``; a resumed run on another commit than the first is
marked ``commit_changed: true`` (its numbers mix two versions of the code). When the
checkout has uncommitted changes to tracked files (``dirty``), ``git diff HEAD`` is
saved beside it (``provenance.diff``, ``provenance.run2.diff`` for a second run ...),
so a dirty run can still be reproduced.

The git facts are of the repository that holds the ``sweep`` package (the code that
ran), never of the working directory; a netsep that is not a git checkout (installed
from a tarball) records ``commit: null`` and why. ``run_git`` is shared with the study
registration check (``sweep.study.registration``). Nothing here imports Ray: the
backend passes Ray's node table in (``sweep.backend.nodes``).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import re
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.folders import read_json_file, write_text_atomically

__all__ = [
    "FORMAT",
    "PACKAGES",
    "PACKAGE_FOLDERS",
    "PROVENANCE_DIFF",
    "PROVENANCE_JSON",
    "REPO_DIR",
    "GitResult",
    "collect_provenance",
    "drop_run",
    "end_run",
    "read_provenance",
    "run_git",
    "start_run",
    "tracker_fields",
    "utc_now",
]

PROVENANCE_JSON = "provenance.json"
PROVENANCE_DIFF = "provenance.diff"
FORMAT = 1  # of provenance.json; a reader of another format shows it as unknown rather than guessing
REPO_DIR = Path(__file__).resolve().parents[1]  # the checkout (or install) that holds the sweep package
PACKAGE_FOLDERS = ("sweep", "trainable", "search_spaces", "studies")  # untracked files here can change a result
PACKAGES = ("torch", "torchvision", "ray", "optuna", "numpy")  # the ones whose versions change numbers
_GIT_TIMEOUT_S = 30.0
# Variables that would point git at another repository or index than the one asked for.
_GIT_ENV_DROP = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")


@dataclass(frozen=True)
class GitResult:
    """One git command's outcome: ``ok`` (exit 0), its output, and git's first error line."""

    ok: bool
    out: str
    error: str


def run_git(cwd: Path, *args: str) -> GitResult:
    """``git -C cwd ARGS``, read-only, never prompting; a missing git is a failed result, not an exception.

    ``GIT_OPTIONAL_LOCKS=0``: ``git status`` would otherwise refresh (write) the index
    of a checkout other people may be using at the same moment.
    """
    env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
    env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        return GitResult(False, "", "git is not installed")
    except (OSError, subprocess.TimeoutExpired) as error:
        return GitResult(False, "", f"git could not run ({type(error).__name__}: {error})")
    first = next((line.strip() for line in done.stderr.splitlines() if line.strip()), "")
    return GitResult(done.returncode == 0, done.stdout, first)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _netsep_version(repo_dir: Path) -> str | None:
    """The version in ``repo_dir``'s pyproject (the code that runs), else the installed distribution's."""
    try:
        text = (repo_dir / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        text = ""
    project = re.search(r"^\[project\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if project and re.search(r'^name\s*=\s*"netsep"', project.group(1), re.M):
        version = re.search(r'^version\s*=\s*"([^"]+)"', project.group(1), re.M)
        if version:
            return version.group(1)
    try:
        return importlib.metadata.version("netsep")
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_facts(repo_dir: Path) -> dict[str, Any]:
    """commit, dirty, the diff text (when dirty) and untracked files under the package folders."""
    facts: dict[str, Any] = {"commit": None, "dirty": None, "diff": None, "untracked": [], "git_note": None}
    top = run_git(repo_dir, "rev-parse", "--show-toplevel")
    if not top.ok:
        facts["git_note"] = f"not a git checkout ({top.error or 'git rev-parse failed'})"
        return facts
    # A netsep installed into some other project's repository (a venv inside it) is not
    # that repository's code: only a checkout whose root holds the package counts.
    if Path(top.out.strip()).resolve() != repo_dir.resolve():
        facts["git_note"] = f"{repo_dir} is not the root of a git checkout (that is {top.out.strip()})"
        return facts
    head = run_git(repo_dir, "rev-parse", "HEAD")
    if head.ok:
        facts["commit"] = head.out.strip()
    else:
        facts["git_note"] = f"the repository has no commit yet ({head.error})"
    status = run_git(repo_dir, "status", "--porcelain", "--untracked-files=no")
    facts["dirty"] = bool(status.out.strip()) if status.ok else None
    if facts["dirty"] and facts["commit"]:
        diff = run_git(repo_dir, "diff", "HEAD")
        facts["diff"] = diff.out if diff.ok else f"# git diff HEAD failed: {diff.error}\n"
    folders = [f for f in PACKAGE_FOLDERS if (repo_dir / f).is_dir()]
    if folders:
        others = run_git(repo_dir, "ls-files", "--others", "--exclude-standard", "--", *folders)
        facts["untracked"] = sorted(others.out.splitlines()) if others.ok else []
    return facts


def _versions() -> dict[str, str | None]:
    """Python's and the numeric packages' versions from their metadata (Ray is never imported here)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    out["cuda"] = out["cudnn"] = None
    if out["torch"] is not None and importlib.util.find_spec("torch") is not None:
        import torch  # the driver imports it anyway (the dataset it ships); CUDA's versions are torch's own

        out["cuda"] = torch.version.cuda
        try:
            cudnn = torch.backends.cudnn.version()
        except (RuntimeError, OSError):  # a build whose cuDNN library cannot be loaded
            cudnn = None
        out["cudnn"] = None if cudnn is None else str(cudnn)
    return out


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def collect_provenance(argv: Sequence[str], repo_dir: Path = REPO_DIR) -> dict[str, Any]:
    """What this process is about to run with: the code, packages, driver and command; started now.

    ``diff`` holds the text of ``git diff HEAD`` when the checkout is dirty (``start_run``
    moves it into its own file); ``ended`` and ``nodes`` are filled by ``end_run``.
    """
    return {
        "started": utc_now(),
        "ended": None,
        "netsep": _netsep_version(repo_dir),
        "repo": str(repo_dir),
        **_git_facts(repo_dir),
        "versions": _versions(),
        "command": [str(a) for a in argv],
        "driver": {
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "cpus": os.cpu_count(),
        },
        "nodes": [],
    }


def read_provenance(folder: str | Path) -> dict[str, Any] | None:
    """The folder's provenance (``{"format", "runs"}``), None when it has none; ``UserError`` when damaged."""
    path = Path(folder) / PROVENANCE_JSON
    if not path.exists():
        return None
    data = read_json_file(path, "netsep's provenance record")
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise UserError(f"{path}: not a provenance record (no list of runs); the file is damaged or not netsep's")
    return data


def _diff_name(index: int) -> str:
    return PROVENANCE_DIFF if index == 0 else f"provenance.run{index + 1}.diff"


def _write(folder: Path, data: Mapping[str, Any]) -> None:
    write_text_atomically(folder / PROVENANCE_JSON, json.dumps(data, indent=2) + "\n")


def start_run(
    folder: str | Path,
    extra: Mapping[str, Any] | None = None,
    *,
    argv: Sequence[str] | None = None,
    repo_dir: Path = REPO_DIR,
) -> int:
    """Record a run starting in ``folder`` (appended after earlier runs); its index in ``runs``.

    ``extra``: the mode's own fields (``mode``, ``resumed``, a study's registration).
    ``argv`` defaults to ``sys.argv``. ``UserError`` when an earlier record is damaged:
    netsep does not overwrite a record it cannot read.
    """
    folder = Path(folder)
    data = read_provenance(folder) or {"format": FORMAT, "runs": []}
    runs: list[Any] = data["runs"]
    record = {**dict(extra or {}), **collect_provenance(sys.argv if argv is None else argv, repo_dir)}
    index = len(runs)
    diff = record.pop("diff")
    record["diff_file"] = None
    if diff is not None:
        record["diff_file"] = _diff_name(index)
        write_text_atomically(folder / record["diff_file"], diff)
    if index:
        first = runs[0] if isinstance(runs[0], dict) else {}
        record["commit_changed"] = record["commit"] != first.get("commit")
    runs.append(record)
    _write(folder, data)
    return index


def end_run(folder: str | Path, index: int, nodes: Sequence[Mapping[str, Any]]) -> None:
    """Complete run ``index`` of ``folder``'s record: the end time and Ray's nodes."""
    data = read_provenance(folder)
    if data is None or not 0 <= index < len(data["runs"]) or not isinstance(data["runs"][index], dict):
        raise UserError(f"{Path(folder) / PROVENANCE_JSON}: run {index + 1} is not recorded there (removed?)")
    data["runs"][index].update(ended=utc_now(), nodes=[dict(n) for n in nodes])
    _write(Path(folder), data)


def drop_run(folder: str | Path, index: int) -> None:
    """Forget run ``index`` (the last one), which never ran: a user mistake stopped it as it began.

    The first run's record and diff go with their files, so that the folder of a new run a
    mistake stopped is left empty (and is removed, ``sweep.folders.claim``).
    """
    folder = Path(folder)
    data = read_provenance(folder)
    if data is None or index != len(data["runs"]) - 1:
        return
    run = data["runs"].pop()
    diff = run.get("diff_file") if isinstance(run, dict) else None
    if diff == _diff_name(index):  # only the name netsep gave it, never a path from the file
        (folder / diff).unlink(missing_ok=True)
    if data["runs"]:
        _write(folder, data)
    else:
        (folder / PROVENANCE_JSON).unlink(missing_ok=True)


def tracker_fields(folder: str | Path) -> dict[str, Any]:
    """The latest run's commit, dirty, netsep and package versions: small enough for a tracker's config.

    Empty when the folder has no readable record (the tracker then logs without it).
    """
    try:
        data = read_provenance(folder)
    except UserError:
        return {}
    runs = [r for r in (data or {}).get("runs", []) if isinstance(r, dict)]
    if not runs:
        return {}
    last = runs[-1]
    return {
        "commit": last.get("commit"),
        "dirty": last.get("dirty"),
        "netsep": last.get("netsep"),
        **(last.get("versions") if isinstance(last.get("versions"), dict) else {}),
    }
