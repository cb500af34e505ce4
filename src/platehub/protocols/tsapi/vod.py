"""TS-API video (spec 004): `/api/vod` (live and recorded video sources: vodfind.py), `/watch` (a
channel's video: the HLS playlist, live or recorded from `when` for `duration` (default 1 h); MJPEG;
or, for a browser, the player page: watchpage.py), and the files behind them: `/watch/rec/<ch>/<file>`
(a recorded segment, with byte ranges) and `/watch/live/<ch>/<file>` (ffmpeg's live HLS segments).

Sign-in: a session, HTTP Basic or `auth=` (protocols/tsapi/common.py); the files also take the `t=`
token their playlist gave (hls.py; signed with `<data>/link.key`, shared by the processes on that data
directory: `link_key`). Recorded video needs the Playback right. A channel without
recorded video in the range answers 404 with the guide's status code 1404 ("No file found"); live HLS
exists only while the channel records (ffmpeg writes it), MJPEG while the channel is enabled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core.store.channels import Channel
from platehub.core.store.sharedkey import shared_key
from platehub.protocols.deps import ChannelRunnerDep, RecordersDep, RecordingsDep, SettingsDep, StoreDep
from platehub.protocols.tsapi import hls, vodfind, watchpage
from platehub.protocols.tsapi.carno import ParamError
from platehub.protocols.tsapi.common import TsApiError, require_user, respond
from platehub.protocols.tsapi.events import parse_channels, parse_flag
from platehub.video.channel import ChannelRunner
from platehub.video.recordings import Recordings, file_id

CODE_INVALID, NO_FILE = -2, 1404
DEFAULT_WATCH = 3600.0  # seconds of recorded video a /watch playlist spans without `duration`
MAX_WATCH = 86400.0
MJPEG_IDLE = 30.0  # seconds without a frame before an MJPEG stream ends
BOUNDARY = "platehub-frame"

router = APIRouter(tags=["TS-API"])


def link_key(settings: Settings) -> bytes:
    """The key of the `t=` tokens: one file in the data directory, so every process sharing it agrees."""
    return shared_key(settings.data_dir.resolve() / "link.key")


def _bad(message: str) -> TsApiError:
    return TsApiError(400, message, code=CODE_INVALID)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _size(recordings: Recordings, c: Channel) -> tuple[int, int] | None:
    starts = recordings.starts(c.id, since=datetime.now(UTC) - timedelta(days=1)) if c.recording != "off" else []
    newest = recordings.by_id(file_id(c.id, starts[-1])) if starts else None
    if newest is not None and newest.layout.width:
        return newest.layout.width, newest.layout.height
    return None  # not recording: the size is not known without decoding a frame


@router.get("/api/vod", summary="Live and recorded video sources (TS-API)",
            description="Live: ch, protocol (hls, mjpeg), stream, nameonly. Recorded: ch with when (ISO 8601, "
            "today, yesterday), duration, limit, otherwise (nearBefore, nearAfter); or id with next / prev.")
async def vod(request: Request, store: StoreDep, recordings: RecordingsDep, recorders: RecordersDep) -> Response:
    params = request.query_params
    user = await require_user(request)
    try:
        live = vodfind.is_live(params)
        query = None if live else vodfind.parse_recorded(params)
        wanted = parse_channels(params.get("ch"))
    except ValueError as e:  # ParamError too
        raise _bad(str(e)) from None
    channels = await run_in_threadpool(store.channels.list)
    base = _base(request)
    if query is None:
        items = [vodfind.live_item(c, base, recorders.live_playlist(c.id) is not None,
                                   await run_in_threadpool(_size, recordings, c), params.get("protocol"),
                                   params.get("stream"), "nameonly" in params and parse_flag(params["nameonly"] or "1"))
                 for c in channels if c.enabled and (wanted is None or c.id in wanted)]
        return respond(request, items)
    if not (user.is_admin or "Playback" in user.rights):
        raise TsApiError(403, "The Playback right is required.")
    found = await run_in_threadpool(vodfind.find, query, recordings)
    names = {c.id: c.name for c in channels}
    return respond(request, [vodfind.recorded_item(s, names.get(s.channel_id, str(s.channel_id)), base)
                             for s in found])


async def _channel(store, raw: str | None) -> Channel:
    if raw is None or not raw.strip().isdigit():
        raise _bad("`ch` is required: the channel number (e.g. ch=1)")
    channel = await run_in_threadpool(store.channels.get, int(raw))
    if channel is None:
        raise TsApiError(404, f"No channel {raw}.")
    return channel


@router.get("/watch", summary="A channel's video: HLS playlist, MJPEG or the player page (TS-API)",
            description="ch; when (absent or now: live; ISO 8601, today, yesterday: recorded) and duration; "
            "protocol=hls (the playlist; the default for clients that are not browsers), protocol=mjpeg; "
            "showTitle.")
async def watch(request: Request, store: StoreDep, recordings: RecordingsDep, recorders: RecordersDep,
                runner: ChannelRunnerDep, settings: SettingsDep) -> Response:
    params = request.query_params
    user = await require_user(request)
    channel = await _channel(store, params.get("ch"))
    protocol = (params.get("protocol") or "").strip().lower()
    if not protocol:
        if "text/html" in request.headers.get("accept", ""):
            body, headers = watchpage.page(channel.name, params.get("showTitle", "true").lower() != "false")
            return HTMLResponse(body, headers=headers)
        protocol = "hls"
    if protocol not in ("hls", "mjpeg"):
        raise _bad("`protocol` is hls or mjpeg")
    try:
        when = vodfind.parse_when(params.get("when"))
        duration = min(MAX_WATCH, vodfind.parse_duration(params.get("duration"), DEFAULT_WATCH))
    except ParamError as e:
        raise _bad(str(e)) from None
    if when is None and protocol == "mjpeg":
        return _mjpeg(runner, channel)
    if when is None:
        playlist = recorders.live_playlist(channel.id)
        if playlist is None:
            raise TsApiError(404, f"Channel {channel.id} has no live HLS (it is not recording); use protocol=mjpeg.",
                             code=NO_FILE)
        text = await run_in_threadpool(playlist.read_text)
        return Response(hls.live(text, channel.id, hls.token(channel.id, key=link_key(settings))), media_type=hls.MIME,
                        headers={"Cache-Control": "no-cache"})
    if protocol == "mjpeg":
        raise _bad("recorded video is served as HLS (protocol=hls) or as its MP4 files (/api/vod)")
    if not (user.is_admin or "Playback" in user.rights):
        raise TsApiError(403, "The Playback right is required.")
    segments = await run_in_threadpool(recordings.segments, channel.id, when, when + timedelta(seconds=duration))
    if not segments:
        raise TsApiError(404, "No file found.", code=NO_FILE)
    offset = max(0.0, (when - segments[0].start).total_seconds())
    return Response(hls.recorded(segments, offset, hls.token(channel.id, key=link_key(settings))), media_type=hls.MIME)


async def _may(request: Request, channel_id: int, right: str | None, settings: Settings) -> None:
    if not hls.valid(channel_id, request.query_params.get("t"), key=link_key(settings)):
        await require_user(request, right=right)


@router.get("/watch/rec/{channel_id}/{name}", summary="A recorded segment file (fragmented MP4; byte ranges)")
async def recorded_file(request: Request, channel_id: int, name: str, recordings: RecordingsDep,
                        settings: SettingsDep) -> Response:
    await _may(request, channel_id, "Playback", settings)
    segment = await run_in_threadpool(recordings.by_name, channel_id, name)
    if segment is None:
        raise TsApiError(404, "No file found.", code=NO_FILE)
    return FileResponse(segment.path, media_type="video/mp4", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/watch/live/{channel_id}/{name}", summary="A live HLS segment of a recording channel")
async def live_file(request: Request, channel_id: int, name: str, recorders: RecordersDep,
                    settings: SettingsDep) -> Response:
    await _may(request, channel_id, None, settings)
    playlist = recorders.live_playlist(channel_id)
    path = playlist.parent / name if playlist is not None else None
    if path is None or Path(name).name != name or not name.endswith(".ts") or not path.is_file():
        raise TsApiError(404, "No such live segment (it may have rolled off the live playlist).", code=NO_FILE)
    return FileResponse(path, media_type="video/mp2t", headers={"Cache-Control": "no-cache"})


def _mjpeg(runner: ChannelRunner, channel: Channel) -> StreamingResponse:
    interval = max(0.1, 1.0 / max(channel.sample_rate, 0.1))

    async def frames() -> AsyncIterator[bytes]:
        last, quiet = None, 0.0
        while quiet < MJPEG_IDLE:
            latest = runner.latest(channel.id)  # encoded once per frame, whoever watches (video/liveframe.py)
            jpeg = await run_in_threadpool(latest.jpeg) if latest is not None else None
            if jpeg is not None and jpeg is not last:
                last, quiet = jpeg, 0.0
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg.data)}\r\n\r\n"
                       .encode() + jpeg.data + b"\r\n")
            await asyncio.sleep(interval)
            quiet += interval

    return StreamingResponse(frames(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})
