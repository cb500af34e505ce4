"""TS-API export of the vehicle number log (spec 004, "Export the search result of vehicle numbers log"):
`/api/find?what=carNo&export=true` writes the search result to spreadsheet files and answers their
download URLs; `/download/{export}/{file}` serves them (right DataExport), and the video files of
`/wsapi/dataExport` (dataexport.py) too.

Files are .xlsx written with openpyxl's write-only mode (rows go straight to disk), or .csv when
openpyxl is not installed; at most `rows_per_file` rows each. Text is written as text, never as
a formula (a camera's plate text or device name may start with `=`). Rows are streamed from the database,
so the result is never held in memory. Exports live under <data>/exports/<random id>/ and are
deleted after EXPORT_KEEP."""

from __future__ import annotations

import csv
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core import spreadsheet
from platehub.core.store.search import Hit, PlateSearch
from platehub.protocols.deps import SettingsDep
from platehub.protocols.tsapi.carno import CarNoQuery, direction, iso_local
from platehub.protocols.tsapi.common import TsApiError, require_user

ROWS_PER_FILE = 100_000
EXPORT_KEEP = 24 * 3600  # seconds an export stays downloadable
HEADER = ("id", "plateNo", "plateText", "score", "timeBegin", "timeEnd", "srcCode", "srcName", "direction",
          "protocol")
# this module's export ids, and dataexport.py's task ids (UUIDs, as the guide's)
_EXPORT_ID = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

try:
    from openpyxl import Workbook
except ImportError:  # pragma: no cover - CSV instead
    Workbook = None

FORMAT = "xlsx" if Workbook is not None else "csv"


def row_of(hit: Hit) -> tuple:
    r = hit.read
    return (r.id, r.plate, r.plate_raw, None if r.score is None else round(r.score * 100),
            iso_local(r.first_seen), iso_local(r.last_seen or r.first_seen), r.source or "",
            hit.source_name or r.source or "", direction(r.direction) or "", r.protocol)


class _Sheet:
    """One output file, rows appended one by one."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt, self.rows = path, fmt, 0
        if fmt == "xlsx":
            self._wb = Workbook(write_only=True)
            self._ws = self._wb.create_sheet("carNo")
            self._ws.append(HEADER)
        else:
            self._file = open(path, "w", newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed by close()
            self._csv = csv.writer(self._file)
            self._csv.writerow(HEADER)

    def append(self, row: tuple) -> None:
        """Camera-supplied text (plate, device name) stays text: never a formula (core/spreadsheet.py)."""
        if self.fmt == "xlsx":
            self._ws.append(spreadsheet.xlsx_row(self._ws, row))
        else:
            self._csv.writerow(spreadsheet.csv_row(row))
        self.rows += 1

    def close(self) -> None:
        if self.fmt == "xlsx":
            self._wb.save(self.path)
        else:
            self._file.close()


def file_names(stem: str, fmt: str) -> Iterator[str]:
    """`stem.xlsx`, `stem(2).xlsx`, `stem(3).xlsx` … as in the guide's example."""
    yield f"{stem}.{fmt}"
    n = 2
    while True:
        yield f"{stem}({n}).{fmt}"
        n += 1


def write_files(hits: Iterable[Hit], directory: Path, stem: str, rows_per_file: int = ROWS_PER_FILE,
                fmt: str = FORMAT) -> list[Path]:
    """Write the hits to files of at most `rows_per_file` rows; none when there are no hits."""
    if fmt == "xlsx" and Workbook is None:
        raise RuntimeError("xlsx export needs openpyxl")
    directory.mkdir(parents=True, exist_ok=True)
    names = file_names(stem, fmt)
    written: list[Path] = []
    sheet: _Sheet | None = None
    try:
        for hit in hits:
            if sheet is None or sheet.rows >= rows_per_file:
                if sheet is not None:
                    sheet.close()
                sheet = _Sheet(directory / next(names), fmt)
                written.append(sheet.path)
            sheet.append(row_of(hit))
    finally:
        if sheet is not None:
            sheet.close()
    return written


def stem_of(query: CarNoQuery) -> str:
    """The guide names files by the start of the range: 2018-01-01T00.00.00."""
    start = query.since.astimezone() if query.since else None
    return (start.strftime("%Y-%m-%dT%H.%M.%S") if start else time.strftime("carNo-%Y-%m-%dT%H.%M.%S"))


def exports_dir(settings: Settings) -> Path:
    return settings.data_dir / "exports"


def _prune(root: Path, keep: float = EXPORT_KEEP) -> None:
    if not root.is_dir():
        return
    cutoff = time.time() - keep
    for d in root.iterdir():
        try:
            if d.is_dir() and d.stat().st_mtime < cutoff:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def export(store, settings: Settings, query: CarNoQuery, base_url: str,
           rows_per_file: int = ROWS_PER_FILE) -> list[str]:
    """Run the export (blocking) and return the download URLs."""
    root = exports_dir(settings)
    _prune(root)
    export_id = secrets.token_hex(16)
    hits = PlateSearch(store.engine).iter_hits(query.keyword, query.since, query.until, query.sources, query.sort,
                                               directions=query.directions, decision=query.decision)
    paths = write_files(hits, root / export_id, stem_of(query), rows_per_file)
    return [f"{base_url}download/{export_id}/{p.name}" for p in paths]


router = APIRouter(tags=["TS-API"])


@router.get("/download/{export_id}/{name}", summary="Download an exported vehicle number log file (TS-API)",
            description="The URLs `/api/find?what=carNo&export=true` answered. Needs the DataExport right.")
async def download(request: Request, export_id: str, name: str, settings: SettingsDep) -> Response:
    await require_user(request, right="DataExport")
    root = exports_dir(settings)
    if not _EXPORT_ID.match(export_id) or "/" in name or "\\" in name or name.startswith("."):
        raise TsApiError(404, "No such export file.")
    path = root / export_id / name
    if not await run_in_threadpool(path.is_file):
        raise TsApiError(404, "No such export file.")
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if name.endswith(".xlsx")
             else "video/mp4" if name.endswith(".mp4") else "text/csv; charset=utf-8")
    return FileResponse(path, media_type=media, filename=name)
