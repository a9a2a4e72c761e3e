"""sweep.formatting: cells, table text, and files that a failed write leaves whole."""

from __future__ import annotations

import math

from sweep.formatting import cell, md_table, num, param_text, signed, text_table


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
