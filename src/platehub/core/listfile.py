"""Access lists as CSV and XLSX files: import (merge or replace) and export, which round-trip exactly.

Columns `list,plate,valid_from,valid_until,schedule,tag,comment,devices`: a header row is required,
in any order and case; unknown columns refuse the file; `list` may be left out when the import names
the list. Devices are separated by spaces or `;`. Times are written as ISO 8601 in site local time
with the offset; read as ISO 8601 or `YYYY-MM-DD HH:MM:SS` (naive = site local time).

CSV: UTF-8 with or without BOM (export writes the BOM, for Excel), else GB18030 when that yields
Chinese plate characters, else cp1252; `;`, `,` or tab delimiters are told from the header line.

Rows are checked one by one: a bad row (or a second row for the same list and plate) is refused with
its line number and the reason, the good rows are imported all the same (valid input is never lost).
`replace` empties the named list (without a name: the lists the file's good rows belong to) in the
same transaction as the import; a file with refused rows only changes nothing. An import through
`import_into` (the CLI's and the API's) is one settings entry of the event log, however many rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, TextIO

from platehub.core import spreadsheet
from platehub.core.access import _EDGE, FIELDS, LISTS, Entry, ListError, entry_fields, parse_entry, parse_list
from platehub.core.errors import DomainError

if TYPE_CHECKING:
    from platehub.core.access import AccessLists
    from platehub.core.store.access import AccessRepo

MODES = ("merge", "replace")
FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # a sheet's rows less the header


class ListFileError(DomainError):
    """The file as a whole cannot be read (not CSV/XLSX, no or a bad header)."""


@dataclass(frozen=True)
class Refused:
    line: int
    reason: str


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    removed: int  # entries of replaced lists that the file did not have
    refused: tuple[Refused, ...]

    def summary(self) -> str:
        text = f"{self.added} added, {self.updated} updated, {len(self.refused)} refused"
        return text + (f", {self.removed} removed" if self.removed else "")


# ---- reading ----------------------------------------------------------------------------------------------

def detect_format(data: bytes, hint: str | None = None) -> str:
    """"xlsx" for a ZIP (an XLSX is one), else "csv"; `hint` (a format, a file name or a media type) must agree."""
    is_zip = data[:4] == b"PK\x03\x04"
    wanted = None
    if hint:
        h = hint.lower()
        wanted = "xlsx" if (h.endswith("xlsx") or "spreadsheetml" in h) else "csv" if ("csv" in h or "text" in h) \
            else None
    if wanted == "xlsx" and not is_zip:
        raise ListFileError("not an XLSX file (an XLSX file is a ZIP archive)")
    return "xlsx" if is_zip else "csv"


def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise ListFileError("not a text file (CSV) nor an XLSX file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if any(c in _EDGE for c in text):
            return text
    except UnicodeDecodeError:
        pass
    return data.decode("cp1252", errors="replace")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(";,\t", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as e:
        raise ListFileError(f"line {reader.line_num}: {e}") from None


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises anything on a damaged file
        raise ListFileError(f"not a readable XLSX file ({type(e).__name__})") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, [_cell(v) for v in row]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise ListFileError(f"not a readable XLSX file ({type(e).__name__})") from None
    finally:
        book.close()


def _blank(row: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def parse_file(data: bytes, zone: tzinfo | None, *, fmt: str | None = None, list_: str | None = None
               ) -> tuple[list[Entry], list[Refused]]:
    """The good entries (unique per list and plate) and the refused rows of a CSV or XLSX file."""
    if list_ is not None:
        list_ = parse_list(list_)
    rows = _xlsx_rows(data) if detect_format(data, fmt) == "xlsx" else _csv_rows(data)
    header: list[str] | None = None
    entries: list[Entry] = []
    refused: list[Refused] = []
    seen: dict[tuple[str, str], int] = {}
    for line, row in rows:
        if _blank(row):
            continue
        if header is None:
            header = _header(row, list_)
            continue
        if len(row) > len(header) and not _blank(row[len(header):]):
            refused.append(Refused(line, f"{len(row)} columns, the header has {len(header)}"))
            continue
        fields = {name: value for name, value in zip(header, row, strict=False)
                  if not (value is None or (isinstance(value, str) and not value.strip()))}
        if list_ is not None:
            if "list" in fields and str(fields["list"]).strip().lower() != list_:
                refused.append(Refused(line, f"list {fields['list']!r}: this import is for the {list_} list"))
                continue
            fields["list"] = list_
        try:
            entry = parse_entry(fields, zone)
        except ListError as e:
            refused.append(Refused(line, str(e)))
            continue
        first = seen.setdefault((entry.list, entry.plate), line)
        if first != line:
            refused.append(Refused(line, f"{entry.plate} is on line {first} of the {entry.list} list already"))
            continue
        entries.append(entry)
    if header is None:
        raise ListFileError(f"no header row (the columns are {','.join(FIELDS)})")
    return entries, refused


def _header(row: list[Any], list_: str | None) -> list[str]:
    names = [str(v or "").strip().lower().lstrip("\ufeff") for v in row]
    while names and not names[-1]:
        names.pop()
    unknown = [n or "(empty)" for n in names if n not in FIELDS]
    if unknown:
        raise ListFileError(f"unknown column(s) {', '.join(unknown)}; the columns are {','.join(FIELDS)}")
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        raise ListFileError(f"column(s) {', '.join(doubles)} more than once")
    missing = [n for n in ("list", "plate") if n not in names and not (n == "list" and list_)]
    if missing:
        raise ListFileError(f"missing column(s) {', '.join(missing)}")
    return names


def import_file(repo: AccessRepo, data: bytes, zone: tzinfo | None, *, mode: str = "merge",
                list_: str | None = None, fmt: str | None = None,
                progress: Callable[[int], None] | None = None) -> ImportResult:
    """Read a file and store its good rows: `merge` adds or updates entries, `replace` also removes
    the replaced lists' other entries."""
    if mode not in MODES:
        raise ListFileError(f"mode: {mode!r}; one of {', '.join(MODES)}")
    entries, refused = parse_file(data, zone, fmt=fmt, list_=list_)
    if not entries and refused:
        return ImportResult(0, 0, 0, tuple(refused))
    replace: list[str] = []
    if mode == "replace":
        replace = [list_] if list_ else [name for name in LISTS if any(e.list == name for e in entries)]
    if not entries and not replace:
        return ImportResult(0, 0, 0, ())
    added, updated, removed = repo.bulk(entries, replace=replace, progress=progress)
    return ImportResult(added, updated, removed, tuple(refused))


def import_into(lists: AccessLists, data: bytes, *, mode: str = "merge", list_: str | None = None,
                fmt: str | None = None, progress: Callable[[int], None] | None = None,
                by: str | None = None) -> ImportResult:
    """`import_file` into the lists, recorded as one settings entry of the event log when it changed any."""
    result = import_file(lists.repo, data, lists.zone, mode=mode, list_=list_, fmt=fmt, progress=progress)
    if result.added or result.updated or result.removed:
        lists.eventlog.settings_changed(f"{list_ or 'access'} list import", by, None, {
            "mode": mode, "added": result.added, "updated": result.updated, "removed": result.removed,
            "refused": len(result.refused)})
    return result


# ---- writing ----------------------------------------------------------------------------------------------

def write_csv(entries: Iterable[Entry], zone: tzinfo | None, out: TextIO,
              progress: Callable[[int], None] | None = None) -> int:
    """CSV (comma, CRLF as Excel writes); the caller writes the UTF-8 BOM if wanted. Returns the row count."""
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    n = 0
    for n, entry in enumerate(entries, 1):
        fields = entry_fields(entry, zone)
        writer.writerow([fields[f] for f in FIELDS])
        if progress and n % 10000 == 0:
            progress(n)
    return n


def csv_chunks(entries: Iterable[Entry], zone: tzinfo | None, rows: int = 2000) -> Iterator[bytes]:
    """The CSV export as UTF-8 (with BOM) byte chunks, for streaming."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(FIELDS)
    yield b"\xef\xbb\xbf" + buf.getvalue().encode()
    buf.seek(0)
    buf.truncate()
    for n, entry in enumerate(entries, 1):
        fields = entry_fields(entry, zone)
        writer.writerow([fields[f] for f in FIELDS])
        if n % rows == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    if buf.getvalue():
        yield buf.getvalue().encode()


def write_xlsx(entries: Iterable[Entry], zone: tzinfo | None, out: Any,
               progress: Callable[[int], None] | None = None) -> int:
    """An XLSX workbook (every cell text, so plates like 0123 stay as they are) to a path or binary file."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("access lists")
    sheet.append(list(FIELDS))
    n = 0
    for n, entry in enumerate(entries, 1):
        if n > XLSX_MAX_ROWS:
            raise ListFileError(f"more than {XLSX_MAX_ROWS:,} entries do not fit in a sheet: export CSV")
        fields = entry_fields(entry, zone)
        sheet.append(spreadsheet.xlsx_row(sheet, [fields[f] for f in FIELDS]))  # never a formula
        if progress and n % 10000 == 0:
            progress(n)
    book.save(out)
    return n
