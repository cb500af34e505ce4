"""TS-API event log: type/code numbers and names (`/api/enum?what=eventType`) and the search
`/api/find?what=eventLog` (spec 004, "Search event log"); `find.py` routes to `find_event_log`.

The guide gives some numbers: type 0 "System log" (code 1 "System startup", 2 "System shutdown"),
type 1 "Privacy" (code 4 "Sign in"). Where it is silent platehub chose its own, unique across types:
sign out 5, data erased 6, settings 2/60, LPR devices 3/50 (connected), 51 (disconnected), 52 (address changed) and
53 (message refused), emergency calls 4/70
(started) and 71 (ended)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub.core import eventlog as core
from platehub.core import rights
from platehub.core.store.eventlog import LogEntry
from platehub.protocols.tsapi import messages
from platehub.protocols.tsapi.carno import MAX_INT, ParamError, in_range
from platehub.protocols.tsapi.common import TsApiError, require_user, respond

TYPE_IDS: dict[str, int] = {core.SYSTEM: 0, core.PRIVACY: 1, core.SETTINGS: 2, core.DEVICE: 3, core.EMERGENCY: 4,
                            core.ACCESS: 5, core.PARKING: 6}
CODE_IDS: dict[tuple[str, str], int] = {
    (core.SYSTEM, "startup"): 1,
    (core.SYSTEM, "shutdown"): 2,
    (core.PRIVACY, "signIn"): 4,
    (core.PRIVACY, "signOut"): 5,
    (core.PRIVACY, "erased"): 6,
    (core.SETTINGS, "changed"): 60,
    (core.DEVICE, "online"): 50,
    (core.DEVICE, "offline"): 51,
    (core.DEVICE, "moved"): 52,
    (core.DEVICE, "refused"): 53,
    (core.EMERGENCY, "callStart"): 70,
    (core.EMERGENCY, "callEnd"): 71,
    (core.ACCESS, "denied"): 80,
    (core.ACCESS, "unknown"): 81,
    (core.PARKING, "full"): 90,
}
_TYPE_OF_ID = {v: k for k, v in TYPE_IDS.items()}
_CODE_OF_ID = {v: k for k, v in CODE_IDS.items()}
DEFAULT_COUNT = 50  # spec: "only the log entries from the most recent to the maximum 50 items"
MAX_COUNT = 1000


def event_types(lang: str | None) -> list[dict[str, Any]]:
    """`/api/enum?what=eventType`."""
    return [{"id": tid, "name": messages.text(f"type.{name}", lang),
             "code": [{"id": CODE_IDS[(name, code)], "name": messages.text(f"code.{name}.{code}", lang)}
                      for code in core.KINDS[name]]}
            for name, tid in TYPE_IDS.items()]


def local_iso(when: datetime) -> str:
    """ISO 8601 in the server's local time with its offset, milliseconds (as the guide's examples)."""
    return when.astimezone().isoformat(timespec="milliseconds")


def entry_json(entry: LogEntry, lang: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": entry.id,
        "type": TYPE_IDS.get(entry.type, -1),
        "typeName": messages.text(f"type.{entry.type}", lang),
        "code": CODE_IDS.get((entry.type, entry.code), -1),
        "codeName": messages.text(f"code.{entry.type}.{entry.code}", lang),
        "timeRange": [local_iso(entry.at)],
    }
    param = dict(entry.details)
    if entry.user and "uid" not in param:
        param["uid"] = entry.user
    if param:
        out["param"] = param
    if entry.type == core.DEVICE:
        out["comment"] = f"{param.get('name') or entry.source}: {out['codeName']}"
    if entry.type == core.ACCESS:
        out["comment"] = f"{param.get('plate') or '-'} at {entry.source or '-'}: {param.get('why', '')}"
    return out


def parse_time(name: str, raw: str | None, lang: str) -> datetime | None:
    """ISO 8601 with offset, `Z`, or without offset (the server's local time)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if " " in text and "T" in text:  # a '+' of the offset that was not URL-encoded arrives as a space
        text = text.replace(" ", "+")
    try:
        return in_range(datetime.fromisoformat(text), name, raw).astimezone()  # naive: the server's local time
    except (ValueError, ParamError):
        raise TsApiError(400, messages.text("bad_param", lang, name=name, value=raw)) from None


def _int(request: Request, name: str, default: int, lang: str, low: int = 0, high: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TsApiError(400, messages.text("bad_param", lang, name=name, value=raw)) from None
    if value < low or value > MAX_INT:
        raise TsApiError(400, messages.text("bad_param", lang, name=name, value=raw))
    return min(value, high) if high is not None else value


def _ids(request: Request, name: str, lang: str) -> list[int] | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    out = []
    for part in raw.split(","):
        part = part.strip()
        if not part.lstrip("-").isdigit():
            raise TsApiError(400, messages.text("bad_param", lang, name=name, value=raw))
        out.append(int(part))
    return out


def kinds_filter(types: list[int] | None, codes: list[int] | None) -> list[tuple[str, str | None]] | None:
    """(type, code) pairs for the repository; unknown numbers match nothing."""
    if types is None and codes is None:
        return None
    wanted_types = {_TYPE_OF_ID[t] for t in types if t in _TYPE_OF_ID} if types is not None else None
    if codes is None:
        return [(t, None) for t in sorted(wanted_types or ())]
    pairs = [_CODE_OF_ID[c] for c in codes if c in _CODE_OF_ID]
    return [(t, c) for t, c in pairs if wanted_types is None or t in wanted_types]


async def find_event_log(request: Request, eventlog: core.EventLog) -> Response:
    """`GET /api/find?what=eventLog`: timeBegin, timeEnd, type, code, at, maxCount, sort, lang.
    Only the entry types the user's rights let it read (core/rights.py) are searched and counted."""
    lang = messages.lang_of(request)
    try:
        user = await require_user(request)
    except TsApiError as e:
        raise TsApiError(e.status, messages.translate(e.message, lang), e.headers, e.code) from None
    begin = parse_time("timeBegin", request.query_params.get("timeBegin"), lang)
    end = parse_time("timeEnd", request.query_params.get("timeEnd"), lang)
    if end is not None and end.microsecond % 1000 == 0:  # times are shown to the ms: include that whole ms
        end += timedelta(microseconds=999)
    at = _int(request, "at", 0, lang)
    max_count = _int(request, "maxCount", DEFAULT_COUNT, lang, high=MAX_COUNT)
    sort = (request.query_params.get("sort") or "desc").strip().lower()
    if sort not in ("asc", "desc"):
        raise TsApiError(400, messages.text("bad_param", lang, name="sort", value=sort))
    kinds = rights.visible_log_kinds(user, kinds_filter(_ids(request, "type", lang), _ids(request, "code", lang)))
    repo = eventlog.repo
    total, entries = await run_in_threadpool(lambda: repo.find(begin=begin, end=end, kinds=kinds, at=at,
                                                               max_count=max_count, ascending=sort == "asc"))
    return respond(request, {"totalCount": total, "at": at, "data": [entry_json(e, lang) for e in entries]})
