"""sweep.formatting: cells, table text, and files that a failed write leaves whole."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import sweep.formatting as formatting
from sweep.formatting import cell, md_table, num, param_text, signed, text_table, write_csv, write_text_atomically


def test_cells_are_exact_and_spell_booleans_and_null() -> None:
    assert [cell(None), cell(True), cell(False), cell(0.1), cell(math.nan), cell(3), cell("a")] == [
        "",
        "true",
        "false",
        "0.1",
        "nan",
        "3",
        "a",
    ]
    assert cell(1 / 3) == repr(1 / 3)  # every digit: a CSV row reads back to the same float


def test_table_numbers() -> None:
    assert [num(None), num(math.nan), num(math.inf), num(0.123456), num(0.5, 1)] == ["-", "-", "inf", "0.1235", "0.5"]
    assert [signed(0.01), signed(-0.01, 2), signed(math.nan)] == ["+0.0100", "-0.01", "-"]
    assert [param_text(True), param_text(None), param_text(0.000123456), param_text("x")] == [
        "true",
        "null",
        "0.0001235",
        "x",
    ]


def test_text_and_markdown_tables() -> None:
    assert text_table(["a", "bb"], [["1", "2"], ["333", ""]]).splitlines() == ["a    bb", "---  --", "1    2", "333"]
    assert "a \\| b" in md_table(["h"], [["a | b"]])


def test_a_csv_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, ["x", "y"], [[1, 0.5], [None, True]])
    assert path.read_text() == "x,y\n1,0.5\n,true\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "summary.md"
    path.write_text("the last good report\n")

    def full_disk(src, dst) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(formatting.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_text_atomically(path, "a new report that does not fit\n")
    assert path.read_text() == "the last good report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]
