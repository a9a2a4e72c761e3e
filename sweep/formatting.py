"""Text for people: numbers, tables and CSV cells, defined once for every report.

Pure functions of their arguments; nothing here reads or writes files
(``sweep.folders.write`` writes them).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "cell",
    "param_text",
    "num",
    "signed",
    "plural",
    "arrow",
    "when",
    "csv_text",
    "text_table",
    "md_table",
]


def cell(value: Any) -> str:
    """CSV text: exact floats (repr, ``nan`` for NaN), YAML-style booleans and null, blank for absent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def param_text(value: Any) -> str:
    """A parameter value for a table: 4 significant digits, YAML spelling of booleans and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def num(value: float | None, digits: int = 4) -> str:
    """A metric for a table: fixed digits; ``-`` for a missing or NaN value."""
    if value is None or math.isnan(value):
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}f}"


def signed(value: float, digits: int = 4) -> str:
    """A difference for a table: always with its sign; ``-`` for NaN."""
    if math.isnan(value):
        return "-"
    return f"{value:+.{digits}f}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def arrow(direction: str) -> str:
    return "higher is better" if direction == "max" else "lower is better"


def when(ts: float | None) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM:SS``; ``-`` when unknown."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts is not None else "-"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """One CSV file's text, every value through ``cell`` (``sweep.folders.write_csv`` writes it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(header))
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buffer.getvalue()


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width table for the terminal: columns padded, a dashed rule under the header."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table; ``|`` inside cells is escaped."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), "|" + "|".join("---" for _ in header) + "|", *(line(r) for r in rows)])
