"""TS-API recorded video search (spec 004, "Retrieve recorded data"): `/api/find?what=recDays` (the dates
with recorded video) and `what=recMinutes` (the minutes), over the channels' segments on disk
(video/recordings.py). Right: Playback.

Readings chosen where the guide is loose:
- dates and minutes are in UTC when the request's times are in UTC (`Z` or +00:00), else in the
  server's local time, as the guide says for recDays; recMinutes follows the same rule;
- recDays without any parameter answers the guide's merged form (`data`: year, month, days over all
  channels); with `ch`, `timeBegin` or `timeEnd` it answers per channel (`chid`, `data`), as the guide's
  second example; `timeBegin`/`timeEnd` echo the request, or span the first to the last recorded day;
- recMinutes needs `timeBegin` or `timeEnd`; one alone means the day from (or up to) it; a range over
  3 days is refused (400, code -2), as the guide limits it;
- a day counts when a segment started on it (read from the file names: fast over months); a minute
  counts when some recorded video falls in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import groupby
from typing import Any

from platehub.protocols.tsapi.carno import ParamError, parse_time
from platehub.video.recordings import Recordings, days, minutes

MAX_MINUTES_RANGE = timedelta(days=3)


def channels_of(raw: str | None, recorded: list[int]) -> tuple[list[int], bool]:
    """(the channel ids asked for, whether `ch` was given); all recorded channels without it."""
    if raw is None or not raw.strip():
        return recorded, False
    try:
        return sorted({int(c) for c in raw.split(",") if c.strip()}), True
    except ValueError:
        raise ParamError("`ch` must be channel numbers separated by commas, e.g. ch=1,2") from None


def zone_of(*times: datetime | None) -> tzinfo:
    """UTC when the request's times are in UTC, else the server's local zone."""
    given = [t for t in times if t is not None]
    if given and all(t.utcoffset() == timedelta(0) for t in given):
        return UTC
    return datetime.now().astimezone().tzinfo  # type: ignore[return-value]


def _ts(t: datetime, zone: tzinfo) -> str:
    return t.astimezone(zone).isoformat(timespec="milliseconds")


def _end_of(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, 999000, tzinfo=zone)


def _months(found: list[date]) -> list[dict[str, Any]]:
    return [{"year": y, "month": m, "days": [d.day for d in ds]}
            for (y, m), ds in groupby(found, key=lambda d: (d.year, d.month))]


def rec_days(params: Mapping[str, str], recordings: Recordings) -> dict[str, Any]:
    since, until = parse_time(params.get("timeBegin"), "timeBegin"), parse_time(params.get("timeEnd"), "timeEnd")
    chans, named = channels_of(params.get("ch"), recordings.channels())
    zone = zone_of(since, until)
    per = {c: days(recordings.starts(c, since, until), zone) for c in chans}
    if not (named or since or until):
        merged = sorted({d for ds in per.values() for d in ds})
        begin = _ts(datetime(merged[0].year, merged[0].month, merged[0].day, tzinfo=zone), zone) if merged else None
        return {"timeBegin": begin, "timeEnd": _ts(_end_of(merged[-1], zone), zone) if merged else None,
                "data": _months(merged)}
    return {"timeBegin": _ts(since, zone) if since else None, "timeEnd": _ts(until, zone) if until else None,
            "data": [{"chid": c, "data": _months(ds)} for c, ds in per.items() if ds]}


def minutes_range(params: Mapping[str, str]) -> tuple[datetime, datetime]:
    since, until = parse_time(params.get("timeBegin"), "timeBegin"), parse_time(params.get("timeEnd"), "timeEnd")
    if since is None and until is None:
        raise ParamError("`timeBegin` or `timeEnd` is required for recMinutes (a range of at most 3 days)")
    since = since or until - timedelta(days=1)  # type: ignore[operator]
    until = until or since + timedelta(days=1)
    if until <= since:
        raise ParamError("`timeEnd` must be after `timeBegin`")
    if until - since > MAX_MINUTES_RANGE:
        raise ParamError("the range of recMinutes is at most 3 days")
    return since, until


def rec_minutes(params: Mapping[str, str], recordings: Recordings) -> dict[str, Any]:
    since, until = minutes_range(params)
    chans, _ = channels_of(params.get("ch"), recordings.channels())
    zone = zone_of(parse_time(params.get("timeBegin"), "timeBegin"), parse_time(params.get("timeEnd"), "timeEnd"))
    data = []
    for c in chans:
        found = minutes(recordings.segments(c, since, until), zone, since, until)
        hours = [{"year": h.year, "month": h.month, "day": h.day, "hour": h.hour, "minutes": [m.minute for m in ms]}
                 for h, ms in ((h, list(ms)) for h, ms in groupby(found, key=lambda t: t.replace(minute=0)))]
        if hours:
            data.append({"chid": c, "data": hours})
    return {"timeBegin": _ts(since, zone), "timeEnd": _ts(until, zone),
            "data": data}
