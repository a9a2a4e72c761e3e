"""Reading netsep's own JSON files back from a folder that may have travelled.

A folder copied from a colleague or a shared disk is untrusted input: its files may
be cut short, not JSON, enormous or nested a million deep. ``read_json_file`` turns
every such file into one ``UserError`` naming it, never a traceback, and never reads
more than ``limit`` bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sweep.errors import UserError

__all__ = ["JSON_LIMIT", "read_json_file"]

JSON_LIMIT = 64 << 20  # bytes: far above any plan netsep writes (a few KB)


def read_json_file(path: str | Path, what: str, *, limit: int = JSON_LIMIT) -> Any:
    """The JSON value in ``path``; ``UserError`` naming ``path`` and ``what`` it should be otherwise."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"larger than {limit >> 20} MiB")
        return json.loads(data.decode("utf-8"))
    except RecursionError:
        reason = "nested too deeply"
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = f"{type(error).__name__}: {error}"
    raise UserError(
        f"{path}: cannot be read as {what} ({reason}); the file is damaged (a full disk or an interrupted copy?)"
    )
