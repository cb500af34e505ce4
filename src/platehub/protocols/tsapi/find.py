"""TS-API `GET /api/find` (spec 004): `what=carNo` (vehicle number log search, with `export=true` the
spreadsheet export), `what=similarCarNo` (similar vehicle numbers), `what=eventLog` (the event
log, answered by `tsapi/eventlog.py`) and `what=recDays` / `recMinutes` (recorded video: `recfind.py`,
right Playback). Thin: parameters in (`carno.py`), the store's search
(`core/store/search.py`), JSON out. Rights: LPR; the export also needs DataExport."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core.read import normalize_plate
from platehub.core.similar import MAX_KEYWORD
from platehub.core.store import Store
from platehub.core.store.search import PlateSearch
from platehub.protocols.deps import EventLogDep, PlateSearchDep, RecordingsDep, SettingsDep, StoreDep
from platehub.protocols.tsapi import carno, export, recfind
from platehub.protocols.tsapi.common import TsApiError, require_user, respond
from platehub.protocols.tsapi.eventlog import find_event_log
from platehub.video.recordings import Recordings

CODE_INVALID = -2  # the guide's "invalid parameters"


def _bad(message: str) -> TsApiError:
    return TsApiError(400, message, code=CODE_INVALID)


async def _car_no(request: Request, store: Store, settings: Settings, search: PlateSearch) -> Response:
    user = await require_user(request, right="LPR")
    try:
        query = carno.parse_query(request.query_params)
    except carno.ParamError as e:
        raise _bad(str(e)) from None
    base = str(request.base_url)
    if query.export:
        if not (user.is_admin or "DataExport" in user.rights):
            raise TsApiError(403, "The DataExport right is required.")
        urls = await run_in_threadpool(export.export, store, settings, query, base)
        return respond(request, urls)
    hits, total = await run_in_threadpool(functools.partial(
        search.search, query.keyword, query.since, query.until, query.sources, query.sort, query.at,
        query.max_count, directions=query.directions, decision=query.decision))
    channels = await run_in_threadpool(store.channels.list)
    recording = {c.name: c.id for c in channels if c.recording != "off"}  # their reads link their video
    return respond(request, {"totalCount": total, "at": query.at,
                             "data": [carno.item(h.read, h.source_name, base, recording) for h in hits]})


async def _similar(request: Request, search: PlateSearch) -> Response:
    await require_user(request, right="LPR")
    keyword = normalize_plate(request.query_params.get("keyword") or "")
    if not keyword:
        raise _bad("`keyword` is required: the vehicle number (or some of its characters)")
    if len(keyword) > MAX_KEYWORD:
        raise _bad(f"`keyword` is too long ({len(keyword)} characters; a plate has at most {MAX_KEYWORD})")
    try:
        limit = min(carno.MAX_COUNT, carno.parse_int(request.query_params.get("maxCount"), "maxCount",
                                                     carno.DEFAULT_COUNT))
    except carno.ParamError as e:
        raise _bad(str(e)) from None
    plates = await run_in_threadpool(search.similar, keyword, limit)
    return respond(request, plates)


async def _recorded(request: Request, recordings: Recordings, by_day: bool) -> Response:
    await require_user(request, right="Playback")
    try:
        answer = await run_in_threadpool(recfind.rec_days if by_day else recfind.rec_minutes,
                                         request.query_params, recordings)
    except carno.ParamError as e:
        raise _bad(str(e)) from None
    return respond(request, answer)


router = APIRouter(tags=["TS-API"])


@router.get("/api/find", summary="Search the vehicle number log, similar numbers, the event log (TS-API)",
            description="`what=carNo` (keyword, timeBegin, timeEnd, at, maxCount, sort, src, lang, export), "
            "`what=similarCarNo` (keyword, maxCount), `what=eventLog`, `what=recDays` and `what=recMinutes` "
            "(ch, timeBegin, timeEnd). Sign in by session, Basic or `auth=`.")
async def find(request: Request, store: StoreDep, settings: SettingsDep, search: PlateSearchDep,
               eventlog: EventLogDep, recordings: RecordingsDep) -> Response:
    what = (request.query_params.get("what") or "").strip()
    if what.lower() == "carno":
        return await _car_no(request, store, settings, search)
    if what.lower() == "similarcarno":
        return await _similar(request, search)
    if what.lower() == "eventlog":
        return await find_event_log(request, eventlog)
    if what.lower() in ("recdays", "recminutes"):
        return await _recorded(request, recordings, what.lower() == "recdays")
    await require_user(request)
    raise _bad(f"`what` must be carNo, similarCarNo, eventLog, recDays or recMinutes, not {what!r}")

router.include_router(export.router)
