"""Where results live: local paths or object-store URIs (s3://, gs://, ...)."""

from __future__ import annotations

__all__ = ["is_uri"]


def is_uri(location: str) -> bool:
    """True for ``scheme://...`` locations (Tune reads and writes them through pyarrow)."""
    return "://" in location
