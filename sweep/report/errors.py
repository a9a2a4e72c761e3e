"""Why a trial failed, in one line, from Tune's ``error.txt``. Pure text in, text out."""

from __future__ import annotations

import re

__all__ = ["error_reason"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FAILURE_HEADER = re.compile(r"^Failure # \d+", re.MULTILINE)
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:\([\w.]+\))?): (?P<message>\S.*)$")
_FRAME_LINE = re.compile(r'^\s+File "(?P<path>[^"]+)", line \d+')
# Frames in Ray or in Python's standard library: an exception raised there while
# Ray handled the trial's own error (e.g. copying it) is not the trial's reason.
_INTERNAL_FRAME = re.compile(r"(/ray/|/lib/python\d+\.\d+/(?!site-packages/))")


def _exceptions(block: str) -> list[tuple[str, str, bool]]:
    """(type, message, raised by the trial's own code) of every exception line, in order."""
    found: list[tuple[str, str, bool]] = []
    last_frame = ""
    for line in block.splitlines():
        frame = _FRAME_LINE.match(line)
        if frame:
            last_frame = frame.group("path")
            continue
        match = _EXCEPTION_LINE.match(line)
        if match and not line.startswith(("Failure #", "Traceback")):
            kind = match.group("type")
            own = not kind.startswith("ray.") and not _INTERNAL_FRAME.search(last_frame)
            found.append((kind, match.group("message").strip(), own))
            last_frame = ""
    return found


def error_reason(text: str) -> str:
    """The one line of a Tune ``error.txt`` that says why the trial failed.

    Tune appends one block per failed attempt ("Failure # N"); the last block
    counts. Within it, Ray wraps the trial's exception in its own (``ray.*``) and
    may raise more while handling it, so the answer is the last exception raised
    by the trial's own code, as ``Type: message`` without the module, e.g.
    ``DivergedError: diverged at epoch 1, step 3: the classifier loss is not finite``.
    Falls back to the first non-Ray exception line, then the last exception line,
    then the last non-empty line.
    """
    text = _ANSI.sub("", text)
    starts = [m.start() for m in _FAILURE_HEADER.finditer(text)]
    block = text[starts[-1] :] if starts else text
    found = _exceptions(block)
    chosen = next((f for f in reversed(found) if f[2]), None)
    if chosen is None:
        chosen = next((f for f in found if not f[0].startswith("ray.")), None)
    if chosen is None and found:
        chosen = found[-1]
    if chosen is not None:
        kind, message, _ = chosen
        short = kind.rsplit(".", 1)[-1] if "(" not in kind else kind
        return f"{short}: {message}"
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    return lines[-1] if lines else "error.txt is empty"
