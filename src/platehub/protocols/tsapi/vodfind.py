"""TS-API video sources (spec 004, "Search for video sources", `/api/vod`): the request's parameters,
which recorded segments answer it, and the JSON of live and recorded sources. No web framework here.

Live (`when` absent or `now`): per channel, an HLS source (`/watch?ch=N&protocol=hls`: only for
channels that record, ffmpeg's live playlist) and an MJPEG one (`/watch?ch=N&protocol=mjpeg`: the frames
the channel reads); `protocol=hls|mjpeg` keeps one kind, `stream=sub` finds none (platehub keeps one
stream per camera), `nameonly` leaves the sources out.

Recorded (`when`, or `id`): one item per segment file (`fileId` = video/recordings.py `file_id`), its
source the MP4 file itself at `/watch/rec/<ch>/<name>` (Basic auth, `auth=` or a session, as the guide
says for files). `ch` is required with `when` (400 otherwise, as the guide says); `duration` (w, d, h, m,
s, ms; seconds without a unit; default 1 s) widens the window from `when`; `limit` (default 10, at most
50); `otherwise=nearBefore|nearAfter` answers the nearest segments before or after when none falls in
the window. `id` alone gives that file and the ones after it; with `next` the ones after it, with `prev`
the ones before it (nearest first). `nolive` changes nothing: recorded items never include live video.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from platehub.core.store.channels import Channel
from platehub.protocols.tsapi import hls
from platehub.protocols.tsapi.carno import ParamError, parse_time
from platehub.protocols.tsapi.events import parse_flag, timestamp
from platehub.video.recordings import Recordings, Segment, split_id

DEFAULT_LIMIT, MAX_LIMIT = 10, 50
UNITS = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "": 1.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)?\s*$", re.IGNORECASE)


def parse_duration(raw: str | None, default: float) -> float:
    """`1h`, `90m`, `5000ms`, `30` (seconds) → seconds."""
    if raw is None or not raw.strip():
        return default
    m = _DURATION.match(raw)
    if not m:
        raise ParamError(f"`duration` is a number with a unit (w, d, h, m, s, ms), e.g. 90m: {raw!r}")
    return float(m.group(1)) * UNITS[(m.group(2) or "").lower()]


def parse_when(raw: str | None) -> datetime | None:
    """`when`: ISO 8601, `today` / `yesterday` (the server's local midnight); None for absent or `now`."""
    value = (raw or "").strip().lower()
    if value in ("", "now"):
        return None
    if value in ("today", "yesterday"):
        midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight - timedelta(days=1 if value == "yesterday" else 0)
    return parse_time(raw, "when")


def _int(raw: str | None, name: str, default: int | None = None) -> int | None:
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit() or len(raw.strip()) > 18:
        raise ParamError(f"`{name}` must be a whole number: {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class RecordedQuery:
    channel_id: int
    when: datetime | None
    duration: float
    file_id: int | None
    next: bool
    prev: bool
    limit: int
    otherwise: str | None


def is_live(params: Mapping[str, str]) -> bool:
    return parse_when(params.get("when")) is None and params.get("id") is None


def parse_recorded(params: Mapping[str, str]) -> RecordedQuery:
    fid = _int(params.get("id"), "id")
    ch = _int(params.get("ch"), "ch")
    if fid is not None:
        try:
            owner, _ = split_id(fid)
        except (ValueError, OverflowError, OSError):
            raise ParamError(f"no recorded file has the id {fid}") from None
        if ch is not None and ch != owner:
            raise ParamError(f"the file {fid} is not of channel {ch}")
        ch = owner
    if ch is None:
        raise ParamError("`ch` is required for recorded video (e.g. ch=1)")
    limit = min(MAX_LIMIT, max(1, _int(params.get("limit"), "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT))
    otherwise = params.get("otherwise")
    if otherwise is not None and otherwise.strip().lower() not in ("nearbefore", "nearafter"):
        raise ParamError("`otherwise` is nearBefore or nearAfter")
    return RecordedQuery(ch, parse_when(params.get("when")), parse_duration(params.get("duration"), 1.0), fid,
                         parse_flag(params.get("next")) or ("next" in params and not params.get("next")),
                         parse_flag(params.get("prev")) or ("prev" in params and not params.get("prev")),
                         limit, otherwise.strip().lower() if otherwise else None)


def find(q: RecordedQuery, recordings: Recordings) -> list[Segment]:
    """The segments that answer a recorded query (blocking: reads directories)."""
    if q.file_id is not None:
        _, start = split_id(q.file_id)
        if q.prev:
            return list(reversed(recordings.segments(q.channel_id, until=start)[-q.limit:]))
        after = recordings.segments(q.channel_id, since=start)
        after = [s for s in after if s.start > start] if q.next else [s for s in after if s.start >= start]
        return after[:q.limit]
    assert q.when is not None
    until = q.when + timedelta(seconds=q.duration)
    found = recordings.segments(q.channel_id, q.when, until)[:q.limit]
    if found or q.otherwise is None:
        return found
    if q.otherwise == "nearbefore":
        return list(reversed(recordings.segments(q.channel_id, until=q.when)[-q.limit:]))
    return recordings.segments(q.channel_id, since=until)[:q.limit]


def recorded_item(s: Segment, title: str, base: str) -> dict[str, Any]:
    src: dict[str, Any] = {"src": f"{base}/watch/rec/{s.channel_id}/{quote(s.name)}", "type": "video/mp4"}
    if s.layout.height:
        src["label"] = f"{s.layout.height}p"
        src["size"] = [s.layout.width, s.layout.height]
    src["timeRange"] = [timestamp(s.start), timestamp(s.end)]
    return {"chid": s.channel_id, "title": quote(title, safe=""), "fileId": s.file_id, "src": [src]}


def live_item(c: Channel, base: str, live_hls: bool, size: tuple[int, int] | None, protocol: str | None,
              stream: str | None, name_only: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"chid": c.id, "title": c.name, "display": f"CH{c.id}: {c.name}"}
    if name_only:
        return item
    sources = []
    kinds = [("hls", "application/x-mpegurl")] if live_hls else []
    kinds.append(("mjpeg", "multipart/x-mixed-replace"))
    for kind, mime in kinds:
        if (protocol and protocol.lower() != kind) or (stream and stream.lower() != "main"):
            continue
        src: dict[str, Any] = {"protocol": kind, "profile": "main", "src": hls.watch_url(base, c.id, protocol=kind),
                               "type": mime}
        if size:
            src["label"], src["size"] = f"{size[1]}p", list(size)
        sources.append(src)
    item["src"] = sources
    return item
