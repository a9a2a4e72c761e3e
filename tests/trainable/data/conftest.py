"""Every data test gets its own empty cache folder (never the user's ~/.cache)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty cache folder (never the user's ~/.cache)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NETSEP_CACHE_DIR", str(cache))
    return cache
