"""Cells for the spreadsheets platehub writes (.xlsx exports of reads, parking visits and access
lists; the reads' .csv fallback): what a camera or an operator typed stays text.

Plate text and device names come from cameras, and `=cmd|'/C calc'!A0` or `=HYPERLINK(...)` in
one would become a live formula: openpyxl writes any string starting with `=` as a formula. Every
string that starts like a formula (= + - @, tab, CR) is written as a string cell (inline string,
type "s"); characters XML cannot hold are replaced by U+FFFD instead of failing the export. In CSV
(no cell types) such a string gets a leading apostrophe, as OWASP advises for CSV injection."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _clean(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """`values` for `sheet.append` of an openpyxl write-only sheet, strings as text cells."""
    from openpyxl.cell import WriteOnlyCell

    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            value = _clean(value)
            if value.startswith(FORMULA_START):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # openpyxl made it a formula ("f"); a string it stays
                value = cell
        out.append(value)
    return out


def csv_row(values: Iterable[Any]) -> list[Any]:
    """`values` for a CSV row, a string that a spreadsheet would take for a formula quoted with `'`."""
    return ["'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in values]
