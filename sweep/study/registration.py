"""Pre-registration you can check: a study runs only from a file git has committed, unchanged.

A study's analysis (arms, seeds, primary metric, effect) is fixed before it runs by
committing its file: the commit's hash and time are the registration, and nobody can
move them afterwards. So ``launch.py study`` runs a file only when it is tracked, has
been committed, and ``git status`` shows no change to it; else it stops before Ray
starts (exit 2). ``--unregistered`` runs it anyway, and its reports open with
"**Not pre-registered**" (``sweep.report.provenance_block``). A file outside any git
checkout (a study downloaded as a tarball) is not registered either.

The registration (or why there is none) goes into the run's ``provenance.json``.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.provenance import run_git

__all__ = ["Registration", "registration_of", "require_registered"]


@dataclass(frozen=True)
class Registration:
    """Whether a study file is registered: the commit and time that registered it, or why it is not."""

    shown: str  # the file as the user can type it (relative to the working directory when under it)
    registered: bool
    commit: str | None = None  # the last commit that changed the file (the version that runs)
    committed: str | None = None  # that commit's time (ISO 8601, the committer's)
    reason: str | None = None  # why it is not registered

    def refusal(self) -> str:
        """The one-line error of a run without ``--unregistered``."""
        return (
            f"{self.shown}: not registered: {self.reason}; commit it first "
            f"(git add {shlex.quote(self.shown)} && git commit) or pass --unregistered"
        )

    def record(self) -> dict[str, Any]:
        """The run's ``study_registration`` field of ``provenance.json``."""
        return {
            "file": self.shown,
            "registered": self.registered,
            "commit": self.commit,
            "committed": self.committed,
            "reason": self.reason,
        }


def _shown(path: Path) -> str:
    relative = os.path.relpath(path, Path.cwd())
    return str(path) if relative.startswith("..") else relative


def registration_of(path: str | Path) -> Registration:
    """Is ``path`` tracked, committed, and unchanged since its last commit? Reads git only."""
    path = Path(path).resolve()
    shown = _shown(path)
    top = run_git(path.parent, "rev-parse", "--show-toplevel")
    if not top.ok:
        why = "" if "not a git repository" in top.error else f" ({top.error})"
        return Registration(shown, False, reason=f"it is not in a git checkout{why}, so no commit records it")
    root = Path(top.out.strip()).resolve()
    relative = path.relative_to(root).as_posix()
    last = run_git(root, "log", "-1", "--format=%H %cI", "--", relative)
    if not last.ok or not last.out.strip():
        tracked = run_git(root, "ls-files", "--error-unmatch", "--", relative).ok
        why = "it is added (git add) but never committed" if tracked else "it is not tracked by git"
        return Registration(shown, False, reason=why)
    commit, _, committed = last.out.strip().partition(" ")
    status = run_git(root, "status", "--porcelain", "--", relative)
    if not status.ok or status.out.strip():
        change = status.out.strip().splitlines()[0] if status.ok else status.error
        return Registration(
            shown,
            False,
            commit=commit,
            committed=committed,
            reason=f"it differs from its last commit {commit[:12]} (git status: {change!r})",
        )
    return Registration(shown, True, commit=commit, committed=committed)


def require_registered(registration: Registration, unregistered: bool) -> None:
    """``UserError`` (exit 2) for an unregistered study file, unless ``--unregistered`` was given."""
    if not registration.registered and not unregistered:
        raise UserError(registration.refusal())
