"""The "Provenance" block of a report, and a study's "Not pre-registered" opening line.

Both read the folder's ``provenance.json`` (``sweep.provenance``) and return markdown
lines; a folder without one (made by an older netsep) gets no block. The folder may
have travelled, so the file is untrusted: a damaged one is said in one line instead
of stopping the report, and every value is shown as short plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sweep.errors import UserError
from sweep.provenance import PACKAGES, PROVENANCE_JSON, read_provenance

__all__ = ["provenance_block", "registration_lead"]

_SHORT_COMMIT = 12


def _text(value: Any, limit: int = 80) -> str:
    """A value from the file as inline text: no backticks, table bars or line breaks; at most ``limit`` chars."""
    text = " ".join(str(value).replace("`", "'").replace("|", "/").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _runs(folder: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The recorded runs (dicts only) and a problem to show, if the file is damaged."""
    try:
        data = read_provenance(folder)
    except UserError as error:
        return [], error.message
    if data is None:
        return [], None
    return [r for r in data["runs"] if isinstance(r, dict)], None


def _commit(run: Mapping[str, Any]) -> str:
    commit = run.get("commit")
    if not commit:
        return f"no commit ({_text(run.get('git_note') or 'not a git checkout')})"
    dirty = run.get("dirty")
    state = (
        f"uncommitted changes, saved in `{_text(run.get('diff_file'))}`"
        if dirty and run.get("diff_file")
        else "uncommitted changes"
        if dirty
        else "clean"
        if dirty is False
        else "unknown state"
    )
    return f"commit `{_text(commit)[:_SHORT_COMMIT]}` ({state})"


def _versions(run: Mapping[str, Any]) -> str:
    versions = run.get("versions")
    if not isinstance(versions, Mapping):
        return "not recorded"
    parts = [f"Python {_text(versions.get('python'))}"]
    for name in PACKAGES:
        part = f"{name} {_text(versions.get(name))}"
        if name == "torch" and versions.get("cuda"):
            part += f" (CUDA {_text(versions.get('cuda'))}, cuDNN {_text(versions.get('cudnn'))})"
        parts.append(part)
    return ", ".join(parts)


def _nodes(runs: list[dict[str, Any]]) -> str:
    """How many distinct Ray nodes the runs recorded, and their hosts."""
    seen: dict[str, str] = {}
    for run in runs:
        for node in run.get("nodes") or []:
            if isinstance(node, Mapping):
                key = _text(node.get("node_id") or node.get("address") or node.get("host"))
                seen.setdefault(key, _text(node.get("host") or node.get("address"), 40))
    if not seen:
        return "no Ray nodes recorded (the run did not end normally, or Ray did not answer)"
    hosts = sorted(set(seen.values()))
    shown = ", ".join(hosts[:8]) + (f", … ({len(hosts) - 8} more)" if len(hosts) > 8 else "")
    return f"{len(seen)} Ray node{'s' if len(seen) != 1 else ''} ({shown})"


def _registration(runs: list[dict[str, Any]]) -> list[str]:
    first = runs[0]
    record = first.get("study_registration")
    if not isinstance(record, Mapping):
        return []
    started = _text(first.get("started"))
    if record.get("registered"):
        return [
            f"- Study file `{_text(record.get('file'))}`: registered in commit "
            f"`{_text(record.get('commit'))[:_SHORT_COMMIT]}` at {_text(record.get('committed'))}; "
            f"first run started {started}"
        ]
    return [f"- Study file `{_text(record.get('file'))}`: **not registered** ({_text(record.get('reason'), 160)})"]


def provenance_block(folder: str | Path) -> list[str]:
    """``## Provenance``: commit and state of the code, versions, Ray nodes, resumed runs on other commits."""
    runs, problem = _runs(Path(folder))
    if problem:
        return ["## Provenance", "", f"- {_text(problem, 300)}", ""]
    if not runs:
        return []
    first = runs[0]
    out = ["## Provenance", "", f"- Code: netsep {_text(first.get('netsep'))}, {_commit(first)}"]
    untracked = first.get("untracked")
    if isinstance(untracked, list) and untracked:
        names = ", ".join(f"`{_text(n, 60)}`" for n in untracked[:5]) + (" …" if len(untracked) > 5 else "")
        out.append(f"- Untracked files in the package folders (not in the commit): {names}")
    out.append(f"- Versions: {_versions(first)}")
    out.append(f"- Ran on: {_nodes(runs)}")
    out += _registration(runs)
    if len(runs) > 1:
        out.append(f"- Runs: {len(runs)} (the first started {_text(first.get('started'))}; the others resumed it)")
    for number, run in enumerate(runs[1:], start=2):
        if run.get("commit_changed"):
            out.append(
                f"- **Run {number} ran on another commit** ({_commit(run)}, started {_text(run.get('started'))}) "
                f"than the first: its results mix two versions of the code"
            )
    out.append(f"- Details: `{PROVENANCE_JSON}`")
    return [*out, ""]


def registration_lead(folder: str | Path) -> list[str]:
    """A study's opening line when any of its runs used a file that was not registered; else nothing."""
    runs, _ = _runs(Path(folder))
    for run in runs:
        record = run.get("study_registration")
        if isinstance(record, Mapping) and not record.get("registered"):
            return [
                f"**Not pre-registered**: the study file `{_text(record.get('file'))}` was run with "
                f"--unregistered ({_text(record.get('reason'), 160)}), so nothing shows that its arms, seeds and "
                "primary metric were fixed before the results were seen.",
                "",
            ]
    return []
