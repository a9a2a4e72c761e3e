"""Collect a space file's problems as ``file: key.path: rule, bad value`` lines; raise them at once."""

from __future__ import annotations

from collections.abc import Iterable

from sweep.errors import UserError

__all__ = ["MAX_PROBLEMS", "Report"]

# Lines shown at most: a file with a thousand bad choices needs the first few to be
# fixed, not a screenful; the last line says how many more there are.
MAX_PROBLEMS = 40


class Report:
    """The problems found in one file, in the order found, each once."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []
        self._seen: set[str] = set()
        self.more = 0  # problems found beyond MAX_PROBLEMS (checks may stop counting early)

    def add(self, path: str, message: str) -> None:
        line = f"{self.file}: {path}: {message}" if path else f"{self.file}: {message}"
        if line in self._seen:
            return
        self._seen.add(line)
        if len(self.lines) < MAX_PROBLEMS:
            self.lines.append(line)
        else:
            self.more += 1

    def add_all(self, problems: Iterable[tuple[str, str]]) -> None:
        for path, message in problems:
            self.add(path, message)

    @property
    def full(self) -> bool:
        """True once no further line would be shown (checks may stop early)."""
        return len(self.lines) >= MAX_PROBLEMS

    def raise_if_any(self) -> None:
        if self.lines:
            more = (
                [f"{self.file}: ... and more problems, not shown (fix these {MAX_PROBLEMS} first)"] if self.more else []
            )
            raise UserError("\n".join(self.lines + more))
