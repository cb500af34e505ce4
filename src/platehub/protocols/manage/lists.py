"""platehub's API for the access lists (core/access.py holds the rules, core/listfile.py the files).

- `GET /v1/lists/entries/?list=&tag=&q=&device=&offset=&limit=` → `{"total", "offset", "limit", "entries"}`
  (`q`: part of the plate; `device`: the entries that apply to it);
- `POST /v1/lists/entries/` `{"list", "plate", "valid_from", "valid_until", "schedule", "tag", "comment",
  "devices"}` → 201 (409 when the list holds the plate already);
- `GET|PUT|DELETE /v1/lists/entries/{id}/`: PUT changes the fields given;
- `POST /v1/lists/import/?mode=merge|replace&list=`: a multipart `file`, or the CSV / XLSX file as the
  body → `{"added", "updated", "removed", "refused": [{"line", "reason"}]}`;
- `GET /v1/lists/export/?format=csv|xlsx&list=`: the file (what the import reads back);
- `GET /v1/lists/match/?plate=&device=&at=&edits=&lookalikes=`: the entries a read matches and why.

Entries: times as ISO 8601 in UTC (`Z`), the schedule as text (`mon-fri 07:00-19:00; sat 08:00-12:00`),
devices as a list or null (every device). Input times may also be `YYYY-MM-DD HH:MM:SS` (site local).
Reading needs the LPR right, changing the Settings right (or an API token). Each change is one
settings entry of the event log (an import one entry, not one per row), recorded by the domain operation
(core/access.py, core/listfile.py). Errors are `{"detail": ...}`."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from platehub.core.access import LISTS, Entry, ListError, format_schedule, parse_list, parse_time
from platehub.core.listfile import FORMATS, MODES, csv_chunks, import_into, write_xlsx
from platehub.core.read import normalize_plate
from platehub.protocols import forms
from platehub.protocols.deps import ListsDep, StoreDep
from platehub.protocols.manage.auth import Reader, Writer
from platehub.protocols.manage.common import MAX_LIMIT, MEDIA, int_param, iso_utc, json_object, who


def entry_out(e: Entry) -> dict[str, Any]:
    return {"id": e.id, "list": e.list, "plate": e.plate, "valid_from": iso_utc(e.valid_from),
            "valid_until": iso_utc(e.valid_until), "schedule": format_schedule(e.schedule) or None, "tag": e.tag,
            "comment": e.comment, "devices": list(e.devices) if e.devices else None,
            "created_at": iso_utc(e.created_at), "updated_at": iso_utc(e.updated_at)}


def _list_param(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parse_list(value)
    except ListError as e:
        raise HTTPException(400, str(e)) from None


def _entry_id(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise HTTPException(404, f"No entry {value!r}.")
    return int(value)


router = APIRouter(prefix="/v1/lists", tags=["Access lists"])


@router.get("/entries/", summary="List entries (filters: list, tag, q = part of the plate, device)")
def list_entries(request: Request, user: Reader, store: StoreDep) -> dict[str, Any]:
    p = request.query_params
    offset = int_param(p.get("offset"), "offset", 0)
    limit = int_param(p.get("limit"), "limit", 100, 0, MAX_LIMIT)
    total, entries = store.access.list(_list_param(p.get("list")), p.get("tag") or None,
                                       normalize_plate(p.get("q") or "") or None, p.get("device") or None,
                                       offset, limit)
    return {"total": total, "offset": offset, "limit": limit, "entries": [entry_out(e) for e in entries]}


@router.post("/entries/", status_code=201, summary="Add an entry")
async def add_entry(request: Request, user: Writer, lists: ListsDep) -> dict[str, Any]:
    fields = await json_object(request)
    return entry_out(await run_in_threadpool(lambda: lists.add(fields, by=who(user))))  # a plate held: 409


@router.get("/entries/{entry_id}/", summary="One entry")
def get_entry(entry_id: str, user: Reader, lists: ListsDep) -> dict[str, Any]:
    entry = lists.get(_entry_id(entry_id))
    if entry is None:
        raise HTTPException(404, f"No entry {entry_id}.")
    return entry_out(entry)


@router.put("/entries/{entry_id}/", summary="Change the fields given of an entry")
async def put_entry(request: Request, entry_id: str, user: Writer, lists: ListsDep) -> dict[str, Any]:
    number = _entry_id(entry_id)
    fields = await json_object(request)
    fields = {k: v for k, v in fields.items() if k not in ("id", "created_at", "updated_at")}
    entry = await run_in_threadpool(lambda: lists.update(number, fields, by=who(user)))  # a plate held: 409
    if entry is None:
        raise HTTPException(404, f"No entry {entry_id}.")
    return entry_out(entry)


@router.delete("/entries/{entry_id}/", status_code=204, summary="Remove an entry")
def delete_entry(entry_id: str, user: Writer, lists: ListsDep) -> Response:
    if lists.remove(_entry_id(entry_id), by=who(user)) is None:
        raise HTTPException(404, f"No entry {entry_id}.")
    return Response(status_code=204)


@router.post("/import/", summary="Import a CSV or XLSX file (multipart `file`, or the file as the body)")
async def import_entries(request: Request, user: Writer, lists: ListsDep) -> dict[str, Any]:
    p = request.query_params
    mode = p.get("mode") or "merge"
    if mode not in MODES:
        raise HTTPException(400, f"`mode` must be one of {', '.join(MODES)}.")
    list_ = _list_param(p.get("list"))
    data, hint = await _upload(request)
    result = await run_in_threadpool(lambda: import_into(lists, data, mode=mode, list_=list_, fmt=hint,
                                                         by=who(user)))
    return {"added": result.added, "updated": result.updated, "removed": result.removed,
            "refused": [{"line": x.line, "reason": x.reason} for x in result.refused]}


@router.get("/export/", summary="Export entries as CSV or XLSX")
async def export_entries(request: Request, user: Reader, lists: ListsDep, store: StoreDep) -> Response:
    p = request.query_params
    fmt = p.get("format") or "csv"
    if fmt not in FORMATS:
        raise HTTPException(400, f"`format` must be one of {', '.join(FORMATS)}.")
    list_ = _list_param(p.get("list"))
    name = f"access-{list_ or 'lists'}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    entries = store.access.iterate(list_)
    if fmt == "csv":
        return StreamingResponse(iterate_in_threadpool(csv_chunks(entries, lists.zone)), media_type=MEDIA["csv"],
                                 headers=disposition)
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="platehub-lists-")
    os.close(fd)
    try:
        await run_in_threadpool(write_xlsx, entries, lists.zone, path)
    except BaseException:
        os.unlink(path)
        raise
    return FileResponse(path, media_type=MEDIA["xlsx"], headers=disposition,
                        background=BackgroundTask(os.unlink, path))


@router.get("/match/", summary="The entries a read plate matches, best first, and why")
def match(request: Request, user: Reader, lists: ListsDep) -> dict[str, Any]:
    p = request.query_params
    plate = normalize_plate(p.get("plate") or "")
    if not plate:
        raise HTTPException(400, "`plate` is required.")
    at = parse_time(p.get("at"), lists.zone, "at") or datetime.now(UTC)
    edits = int_param(p.get("edits"), "edits", lists.settings.match_edits, 0, 2)
    lookalikes = p.get("lookalikes")
    if lookalikes not in (None, "", "0", "1", "true", "false", "on", "off"):
        raise HTTPException(400, "`lookalikes` must be on or off.")
    flag = None if not lookalikes else lookalikes in ("1", "true", "on")
    matches = lists.match(plate, p.get("device") or None, at, edits=edits, lookalikes=flag)
    return {"plate": plate, "at": iso_utc(at), "matches": [
        {"entry": entry_out(m.entry), "kind": m.kind, "distance": m.distance, "active": m.active,
         "inactive_reason": m.inactive_reason, "why": m.why} for m in matches]}


async def _upload(request: Request) -> tuple[bytes, str | None]:
    """The file's bytes and a format hint (its name or media type)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        try:
            form = await forms.read(request)  # parsed in a worker thread
        except forms.FormError as e:
            raise HTTPException(e.status, f"Malformed multipart body: {e}") from None
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(400, "The multipart body needs a `file` part.")
        data = await upload.read()
        await form.close()
        return data, upload.filename or upload.content_type
    data = await request.body()
    if not data:
        raise HTTPException(400, "The body is empty: send a CSV or XLSX file.")
    return data, ctype or None


__all__ = ["LISTS", "router"]
