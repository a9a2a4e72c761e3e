"""Where results live: local paths or object-store URIs (s3://, gs://, ...)."""

from __future__ import annotations

import re

__all__ = ["check_folder_name", "is_uri"]

_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def is_uri(location: str) -> bool:
    """True for ``scheme://...`` locations (Tune reads and writes them through pyarrow)."""
    return "://" in location


def check_folder_name(name: str, max_length: int | None = None) -> str:
    """``name`` when it can be one folder's name on any filesystem; ValueError (the rule) else.

    Letters, digits, '_', '-', '.', not starting with '.' or '-': no path separator, no
    hidden or option-like name, nothing a shell or a URI would read differently.
    """
    if _FOLDER_NAME.fullmatch(name) and (max_length is None or len(name) <= max_length):
        return name
    limit = f" of at most {max_length} characters" if max_length is not None else ""
    raise ValueError(
        f"must be a folder-safe name{limit} (letters, digits, '_', '-', '.'; not starting with '.' or '-'), "
        f"got {name!r}"
    )
