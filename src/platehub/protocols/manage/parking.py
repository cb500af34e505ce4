"""platehub's API for parking lots and visits (core/parking.py holds the rules).

- `GET /v1/lots/`, `GET /v1/lots/{id}/`: lots as TS-API gives them (`id, name, type, count, maxCount`,
  a group's `member`), plus `full`;
- `POST /v1/lots/` `{"name", "type": "counter"|"group", "maxCount" (counter), "members" (group)}` → 201;
- `PATCH /v1/lots/{id}/` `{"name", "maxCount" | "members"}`; `DELETE /v1/lots/{id}/` → 204;
- `PUT /v1/lots/{id}/count/` `{"count": n}`: manual correction of a counter (event log: user, before, after);
- `GET|PUT /v1/devices/{code}/lots/` `{"entrance": id|null, "exit": id|null}`: map a source to counters;
- `GET /v1/visits/?lot=&plate=&status=&from=&to=&offset=&limit=`: newest first, `{"total", "offset",
  "limit", "visits"}`; `plate` is a part of the entry's or the exit's plate; `from`/`to` (ISO 8601, UTC
  without an offset) bound when the visit began;
- `GET /v1/visits/export/?format=csv|xlsx` (same filters): the file.

Reading needs the LPR right, changing the Settings right (or an API token: manage/auth.py). Errors
are `{"detail": ...}`: 400 for bad input, 404 for an unknown lot or device (core's ParkingError,
NotFound: protocols/errors.py)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from platehub.core import parking
from platehub.core.store.devices import Device
from platehub.core.store.parking import Lot, Visit
from platehub.protocols.deps import ParkingDep, StoreDep
from platehub.protocols.manage.auth import Reader, Writer
from platehub.protocols.manage.common import MAX_LIMIT, MEDIA, int_param, iso_utc, json_object, who


def lot_out(lot: Lot) -> dict[str, Any]:
    return {**parking.lot_json(lot), "full": lot.full}


def visit_out(visit: Visit) -> dict[str, Any]:
    dwell = visit.dwell
    return {"id": visit.id, "lot": visit.lot_id, "plate": visit.plate, "exitPlate": visit.exit_plate,
            "status": visit.status, "enteredAt": iso_utc(visit.entered_at), "exitedAt": iso_utc(visit.exited_at),
            "dwellSeconds": None if dwell is None else int(dwell.total_seconds()), "distance": visit.distance,
            "entryRead": visit.entry_read, "exitRead": visit.exit_read}


def source_out(device: Device) -> dict[str, Any]:
    return {"code": device.code, "entrance": device.lot_entrance, "exit": device.lot_exit}


def _lot_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(404, f"No parking lot {raw[:40]!r}.") from None
    if not 0 < value < 2**31:
        raise HTTPException(404, f"No parking lot {value}.")
    return value


def _time_param(params, name: str) -> datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    if " " in raw and "T" in raw:  # an unencoded '+' of the offset
        raw = raw.replace(" ", "+")
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        when.astimezone(UTC)  # 0001-01-01T00:00:00+14:00 is before year 1 in UTC
    except ValueError:
        raise HTTPException(400, f"`{name}` must be an ISO 8601 time, e.g. 2024-05-01T08:00:00Z.") from None
    except OverflowError:
        raise HTTPException(400, f"`{name}` is out of range.") from None
    return when


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in parking.VISIT_STATUSES:
        raise HTTPException(400, f"`status` must be one of {', '.join(parking.VISIT_STATUSES)}.")
    plate = params.get("plate") or None
    if plate is not None and len(plate) > 64:
        raise HTTPException(400, "`plate` is at most 64 characters.")
    return {"lot_id": int_param(params.get("lot"), "lot", None, 1), "plate": plate, "status": status,
            "since": _time_param(params, "from"), "until": _time_param(params, "to")}


def _pick(body: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in body:
            return body[name]
    return None


router = APIRouter(prefix="/v1", tags=["Parking"])


@router.get("/lots/", summary="Parking lots: counters and groups, with their counts")
def list_lots(user: Reader, service: ParkingDep) -> list[dict[str, Any]]:
    return [lot_out(lot) for lot in service.all()]


@router.post("/lots/", status_code=201, summary='Add a lot: {"name", "type": "counter"|"group", '
             '"maxCount" (counter), "members" (group: counter ids)}')
async def add_lot(request: Request, user: Writer, service: ParkingDep) -> dict[str, Any]:
    body = await json_object(request)
    lot = await run_in_threadpool(service.add_lot, body.get("name"), body.get("type", "counter"),
                                  _pick(body, "maxCount", "max_count"), _pick(body, "members", "member"), who(user))
    return lot_out(lot)


@router.get("/lots/{lot_id}/", summary="One lot")
def get_lot(lot_id: str, user: Reader, service: ParkingDep) -> dict[str, Any]:
    return lot_out(service.get(_lot_id(lot_id)))


@router.patch("/lots/{lot_id}/", summary='Change a lot: {"name", "maxCount" (counter), "members" (group)}')
@router.put("/lots/{lot_id}/", include_in_schema=False)
async def update_lot(request: Request, lot_id: str, user: Writer, service: ParkingDep) -> dict[str, Any]:
    lid = _lot_id(lot_id)
    body = await json_object(request)
    lot = await run_in_threadpool(service.update_lot, lid, body.get("name"), _pick(body, "maxCount", "max_count"),
                                  _pick(body, "members", "member"), who(user))
    return lot_out(lot)


@router.delete("/lots/{lot_id}/", status_code=204, summary="Remove a lot (its visits are kept)")
def remove_lot(lot_id: str, user: Writer, service: ParkingDep) -> Response:
    service.remove_lot(_lot_id(lot_id), who(user))
    return Response(status_code=204)


@router.put("/lots/{lot_id}/count/", summary='Correct a counter\'s count: {"count": n}')
@router.put("/lots/{lot_id}/count", include_in_schema=False)
async def set_count(request: Request, lot_id: str, user: Writer, service: ParkingDep) -> dict[str, Any]:
    lid = _lot_id(lot_id)
    body = await json_object(request)
    return lot_out(await run_in_threadpool(service.set_count, lid, body.get("count"), who(user)))


@router.get("/devices/{code}/lots/", summary="The lots a source is the entrance and the exit of")
def get_source(code: str, user: Reader, store: StoreDep) -> dict[str, Any]:
    device = store.devices.get(code)
    if device is None:
        raise HTTPException(404, f"No device {code!r}.")
    return source_out(device)


@router.put("/devices/{code}/lots/", summary='Map a source: {"entrance": lot id|null, "exit": lot id|null} '
            "(a key left out keeps its value)")
@router.put("/devices/{code}/lots", include_in_schema=False)
async def map_source(request: Request, code: str, user: Writer, service: ParkingDep) -> dict[str, Any]:
    body = await json_object(request)
    device = await run_in_threadpool(service.map_source, code, body.get("entrance", ...), body.get("exit", ...),
                                     who(user))
    return source_out(device)


@router.get("/visits/", summary="Visits (entry and exit paired), newest first: ?lot=&plate=&status=open|closed|"
            "exit_only|lost&from=&to=&offset=&limit=")
def list_visits(request: Request, user: Reader, service: ParkingDep) -> dict[str, Any]:
    filters = _filters(request)
    offset = int_param(request.query_params.get("offset"), "offset", 0) or 0
    limit = int_param(request.query_params.get("limit"), "limit", 100, 0, MAX_LIMIT)
    total, page = service.search(offset=offset, limit=limit, **filters)
    return {"total": total, "offset": offset, "limit": limit, "visits": [visit_out(v) for v in page]}


@router.get("/visits/export/", summary="The visits (same filters) as a file: ?format=csv|xlsx")
@router.get("/visits/export", include_in_schema=False)
def export_visits(request: Request, user: Reader, store: StoreDep) -> Response:
    fmt = request.query_params.get("format") or "xlsx"
    if fmt not in MEDIA:
        raise HTTPException(400, "`format` must be csv or xlsx.")
    filters = _filters(request)
    fd, name = tempfile.mkstemp(suffix=f".{fmt}", prefix="visits-")
    os.close(fd)
    path = Path(name)
    try:
        parking.write_export(store.visits.iterate(**filters), store.lots.list(), path, fmt)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return FileResponse(path, media_type=MEDIA[fmt], filename=f"visits-{stamp}.{fmt}",
                        background=BackgroundTask(path.unlink, missing_ok=True))
