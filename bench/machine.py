"""The machine a benchmark ran on, and the plain text it prints: shared by the bench scripts."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["format_table", "load_average", "machine_info", "wait_for_quiet"]


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    import optuna
    import ray

    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model,
        "cpu_count": os.cpu_count(),
        "ray": ray.__version__,
        "optuna": optuna.__version__,
    }


def load_average() -> float:
    """The 1-minute load average (what `uptime` shows first)."""
    return os.getloadavg()[0]


def wait_for_quiet(max_load: float | None, timeout_s: float = 300.0, poll_s: float = 5.0) -> float:
    """Wait until the 1-minute load average is at most ``max_load`` (or the timeout); returns it.

    Other people's tests and benchmarks share this machine: timing under their load
    measures them, not the sweep. ``None`` does not wait.
    """
    deadline = time.monotonic() + timeout_s
    load = load_average()
    while max_load is not None and load > max_load and time.monotonic() < deadline:
        time.sleep(poll_s)
        load = load_average()
    if max_load is not None and load > max_load:
        print(f"note: load average still {load:.2f} > {max_load:g} after {timeout_s:g} s; timing anyway", flush=True)
    return load


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: columns two spaces apart, a rule under the header."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)
