"""TS-API vehicle number log (spec 004, "Vehicle number log search"): the request's parameters and
the JSON of one read. Pure: no web framework, no database.

What platehub gives where the guide describes a video recorder:
- `id` is the read's id (a hex string: platehub's reads have no serial number);
- `image` lists the plate crop (else the whole image) at `/api/image/{id}/plate|full`, omitted when
  the read has no image; `score` (0..100) and `roi` are omitted when the read has none;
- `timeRange` is [first seen, last seen] in the server's local offset, milliseconds;
- `srcName` is the device's name (URL-encoded, as in the guide), else its code;
- `direction` only when the read has one that means entry or exit;
- `vod` links a read of a recording video channel (protocol `video`) to its video at the moment the
  vehicle was first seen (`/watch?ch=…&when=…`); `[]` for every other read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from platehub.core.read import Read, image_path, normalize_plate
from platehub.core.similar import MAX_KEYWORD
from platehub.protocols.tsapi import hls

DEFAULT_COUNT = 50  # the guide: "only the log entries from the most recent to the maximum 50 items"
MAX_COUNT = 1000  # platehub's cap on one page
SORTS = ("desc", "asc")
MAX_INT = 2**31 - 1  # `at`, `maxCount`: above it an offset means nothing (and 2**63 overflows SQL)

_ENTRY = {"entry", "in", "incoming", "approaching", "enter"}
_EXIT = {"exit", "out", "outgoing", "leaving", "away"}


class ParamError(ValueError):
    """A parameter is unusable (400)."""


@dataclass(frozen=True)
class CarNoQuery:
    keyword: str | None
    since: datetime | None
    until: datetime | None
    at: int
    max_count: int
    sort: str
    sources: tuple[str, ...]
    export: bool
    lang: str | None
    # platehub's extensions (not in the guide; other servers ignore them): `direction=entry|exit`, and
    # `decision=` a gate action (open, closed) or reason (allowed, denied, unknown, inactive …)
    direction: str | None = None
    decision: str | None = None

    @property
    def directions(self) -> tuple[str, ...] | None:
        """The stored direction values the `direction` filter stands for."""
        return None if self.direction is None else tuple(sorted(_ENTRY if self.direction == "entry" else _EXIT))


def parse_time(value: str | None, name: str) -> datetime | None:
    """ISO 8601 with an offset or `Z`; without an offset it is the server's local time; a date alone
    is its local midnight. Stray whitespace (the guide's own examples end in %0D%0A) is ignored."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    try:
        if len(raw) == 10:
            d = date.fromisoformat(raw)
            ts = datetime(d.year, d.month, d.day)
        else:
            ts = datetime.fromisoformat(raw.replace(" ", "+") if raw[10:11] == "T" else raw)
    except ValueError:
        raise ParamError(f"`{name}` is not an ISO 8601 date and time (e.g. 2018-01-01T00:00:00-05:00): "
                         f"{value!r}") from None
    return in_range(ts, name, value)


def in_range(ts: datetime, name: str, value: str) -> datetime:
    """`ts` (naive: the server's local time) made aware, if it and a millisecond either side are
    representable in UTC (0001-01-01T00:00:00+14:00 is not: it is before year 1 in UTC)."""
    try:
        ts = ts if ts.tzinfo is not None else ts.astimezone()
        ts.astimezone(UTC)
        (ts - timedelta(milliseconds=1)).astimezone(UTC)
        (ts + timedelta(milliseconds=1)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise ParamError(f"`{name}` is out of range: {value!r}") from None
    return ts


def parse_int(value: str | None, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        n = int(value.strip())
    except ValueError:
        raise ParamError(f"`{name}` must be a whole number, not {value!r}") from None
    if n < 0:
        raise ParamError(f"`{name}` must not be negative")
    if n > MAX_INT:
        raise ParamError(f"`{name}` must be at most {MAX_INT}")
    return n


def parse_bool(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes", "on", "")


def parse_query(params) -> CarNoQuery:
    """`params`: a mapping of the query string (`request.query_params`)."""
    since = parse_time(params.get("timeBegin"), "timeBegin")
    until = parse_time(params.get("timeEnd"), "timeEnd")
    if until is not None and until.microsecond % 1000 == 0:  # times are shown to the ms: include that whole ms
        until += timedelta(microseconds=999)
    if since and until and since > until:
        raise ParamError("`timeBegin` is after `timeEnd`")
    sort = (params.get("sort") or "desc").strip().lower()
    if sort not in SORTS:
        raise ParamError(f"`sort` must be desc or asc, not {params.get('sort')!r}")
    src = params.get("src") or ""
    sources = tuple(dict.fromkeys(s.strip() for s in src.split(",") if s.strip()))
    keyword = (params.get("keyword") or "").strip() or None
    keyword_length = len(normalize_plate(keyword or ""))
    if keyword_length > MAX_KEYWORD:
        raise ParamError(f"`keyword` is too long ({keyword_length} characters; a plate has at most {MAX_KEYWORD})")
    moving = (params.get("direction") or "").strip().lower() or None
    if moving not in (None, "entry", "exit"):
        raise ParamError(f"`direction` must be entry or exit, not {params.get('direction')!r}")
    decision = (params.get("decision") or "").strip().lower() or None
    if decision is not None and not decision.replace("_", "").isalpha():
        raise ParamError(f"`decision` must be a gate action or reason, not {params.get('decision')!r}")
    return CarNoQuery(keyword, since, until, parse_int(params.get("at"), "at", 0),
                      min(MAX_COUNT, parse_int(params.get("maxCount"), "maxCount", DEFAULT_COUNT)), sort, sources,
                      "export" in params and parse_bool(params.get("export")), params.get("lang"), moving,
                      decision)


def iso_local(ts: datetime) -> str:
    return ts.astimezone().isoformat(timespec="milliseconds")


def direction(value: str | None) -> str | None:
    v = (value or "").strip().lower()
    return "entry" if v in _ENTRY else "exit" if v in _EXIT else None


def image_urls(read: Read, base_url: str) -> list[str]:
    path = image_path(read)
    return [base_url.rstrip("/") + path] if path else []


def video_link(read: Read, channel_id: int, base_url: str) -> dict[str, Any]:
    """The `vod` entry of a read: its channel's recorded video at the moment the vehicle was first seen."""
    return {"chid": channel_id, "videoSrc": hls.watch_url(base_url, channel_id, when=iso_local(read.first_seen))}


def item(read: Read, source_name: str | None, base_url: str,
         recording: Mapping[str, int] | None = None) -> dict[str, Any]:
    """One entry of `data`, in the guide's order of fields; `recording`: the recording video channels'
    ids by name (a read of one links its video)."""
    out: dict[str, Any] = {"id": read.id, "plateNo": read.plate}
    if read.score is not None:
        out["score"] = round(read.score * 100)
    if read.box is not None:
        out["roi"] = {"offset": [read.box.xmin, read.box.ymin],
                      "size": [read.box.xmax - read.box.xmin, read.box.ymax - read.box.ymin]}
    images = image_urls(read, base_url)
    if images:
        out["image"] = images
    out["timeRange"] = [iso_local(read.first_seen), iso_local(read.last_seen or read.first_seen)]
    code = read.source or ""
    out["srcCode"] = code
    out["srcName"] = quote(source_name or code, safe="")
    d = direction(read.direction)
    if d:
        out["direction"] = d
    channel = (recording or {}).get(code) if read.protocol == "video" else None
    out["vod"] = [video_link(read, channel, base_url)] if channel is not None else []
    return out
