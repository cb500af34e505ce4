"""HTTP routes of video reading. Thin: parse, call the domain, render. Errors are `{"detail": ...}`.

- `POST /v1/video-reader/`: a video file as the multipart `upload` part (as the Snapshot API takes an
  image), optional fields `sample_rate` (frames read a second of video, default 5), `mode` (default
  fast), `regions` (comma-separated), `camera_id`, `timestamp` (ISO 8601: when the video starts) →
  `{"filename", "duration", "width", "height", "frames", "processing_time", "passes": [...]}`, one pass
  per vehicle (times in seconds from the start). Nothing is stored, unless `camera_id` is given: then
  each pass is also stored as a read of that source (protocol "video", through the ingest path, gate
  and webhooks included) and its entry gets `"read"`: the read's id. Authentication as the Snapshot
  API's (a token when the server requires one). Not a video, truncated, empty: 400; over the upload
  limit: 413.
- `GET /v1/channels/` (each with its `status`: state connecting | online | stalled | offline | disabled,
  counters, last error), `POST /v1/channels/`, `GET|PATCH|DELETE /v1/channels/{id or name}/`: the LPR
  right to read, the Settings right (or an API token) to change, as `/v1/lists/`. Camera URLs are shown
  without their password.
- `GET /v1/channels/{id or name}/frame.jpg`: the newest frame the channel's reader took, as JPEG (the
  console's live view; encoded on request, video/liveframe.py), with `X-Frame-Time` (epoch seconds);
  the LPR right. No such channel: 404; disabled, or no frame yet: 503 with `Retry-After: 1`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from platehub.core.read import utcnow
from platehub.core.store.accounts import User
from platehub.core.store.channels import ChannelExists
from platehub.engine.pipeline import MODES
from platehub.protocols import forms
from platehub.protocols.deps import BusDep, ChannelRunnerDep, RecognizerDep, SettingsDep, StoreDep, VideoReadsDep
from platehub.protocols.manage.auth import require
from platehub.protocols.manage.common import json_object, who
from platehub.protocols.snapshot.routes import check_token
from platehub.protocols.video.codec import channel_json, file_json
from platehub.video.channel import ChannelOptions, ChannelRunner, read_file
from platehub.video.channels import ChannelError, Channels
from platehub.video.sources import SourceError

log = logging.getLogger("platehub.video")
router = APIRouter(tags=["Video"])
MAX_SAMPLE_RATE = 30.0


def _bad(detail: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _options(fields: dict[str, str]) -> ChannelOptions:
    try:
        rate = float(fields.get("sample_rate") or 5.0)
    except ValueError:
        raise HTTPException(400, "sample_rate must be a number.") from None
    if not 0 < rate <= MAX_SAMPLE_RATE:
        raise HTTPException(400, f"sample_rate must be above 0 and at most {MAX_SAMPLE_RATE:g}.")
    mode = fields.get("mode") or "fast"
    if mode not in MODES:
        raise HTTPException(400, f"mode must be one of {', '.join(MODES)}.")
    regions = tuple(r.strip().lower() for r in (fields.get("regions") or "").split(",") if r.strip())
    return ChannelOptions(sample_rate=rate, mode=mode, regions=regions)


def _save(data: bytes, suffix: str) -> str:
    fd, path = tempfile.mkstemp(prefix="platehub-video-", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@router.post("/v1/video-reader/", summary="Read the vehicle passes of a video file (multipart `upload`)",
             dependencies=[Depends(check_token)])
async def video_reader(request: Request, settings: SettingsDep, recognizer: RecognizerDep,
                       videoreads: VideoReadsDep) -> JSONResponse:
    received = utcnow()
    if forms.media_type(request.headers.get("content-type")) != "multipart/form-data":
        return _bad("Send the video as the multipart/form-data part `upload`.")
    try:
        form = await forms.read(request, max_fields=20, max_files=1, max_part_size=settings.upload_limit)
    except forms.FormError as e:
        return _bad(f"The form data could not be parsed: {e}", e.status)
    try:
        upload = form.get("upload")
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        if not isinstance(upload, UploadFile):
            return _bad("The video file is missing: send it as the multipart part `upload`.")
        data = await upload.read()
        filename = upload.filename or "upload"
    finally:
        await form.close()
    if not data:
        return _bad("The uploaded file is empty.")
    options = _options(fields)
    camera_id = (fields.get("camera_id") or "").strip() or None
    start = received
    if fields.get("timestamp"):
        try:
            start = datetime.fromisoformat(fields["timestamp"].replace("Z", "+00:00"))
        except ValueError:
            return _bad("timestamp must be ISO 8601, e.g. 2026-01-31T08:00:00Z.")
    path = await run_in_threadpool(_save, data, os.path.splitext(filename)[1][:10])
    try:
        result = await run_in_threadpool(read_file, recognizer.engine, path, options)
    except SourceError as e:
        return _bad(f"The upload is not a readable video: {e}.")
    finally:
        os.unlink(path)
    out = file_json(result, filename, options.sample_rate, options.mode)
    if camera_id:
        for p, entry in zip(result.passes, out["passes"], strict=True):
            stored = await run_in_threadpool(videoreads.store, camera_id, p, start.timestamp())
            entry["read"] = stored.read.id
    log.info("video %s: %d passes (%s) in %.1f s", filename, len(result.passes),
             ",".join(p.plate for p in result.passes) or "-", result.processing_time)
    return JSONResponse(out)


_read_right, _write_right = Depends(require("LPR")), Depends(require("Settings"))


def _out(runner: ChannelRunner, channel) -> dict[str, Any]:
    return channel_json(channel, runner.status(channel))


async def _change(func, *args):
    try:
        return await run_in_threadpool(func, *args)
    except ChannelError as e:
        raise HTTPException(400, str(e)) from None
    except ChannelExists as e:
        raise HTTPException(409, str(e)) from None


@router.get("/v1/channels/", summary="Video channels, each with its status")
async def list_channels(store: StoreDep, runner: ChannelRunnerDep, user: User | None = _read_right) -> dict[str, Any]:
    channels = await run_in_threadpool(store.channels.list)
    return {"channels": [_out(runner, c) for c in channels]}


@router.post("/v1/channels/", status_code=201, summary="Add a video channel")
async def add_channel(request: Request, store: StoreDep, bus: BusDep, runner: ChannelRunnerDep,
                      user: User | None = _write_right) -> dict[str, Any]:
    fields = await json_object(request)
    channel = await _change(Channels(store, bus).add, fields, who(user))
    runner.wake()
    return _out(runner, channel)


@router.get("/v1/channels/{key}/", summary="One video channel (by id or name) with its status")
async def get_channel(key: str, store: StoreDep, runner: ChannelRunnerDep,
                      user: User | None = _read_right) -> dict[str, Any]:
    channel = await run_in_threadpool(store.channels.get, key)
    if channel is None:
        raise HTTPException(404, f"No channel {key!r}.")
    return _out(runner, channel)


@router.get("/v1/channels/{key}/frame.jpg", summary="The newest frame of a running channel (JPEG)",
            responses={200: {"content": {"image/jpeg": {}}}})
async def channel_frame(key: str, store: StoreDep, runner: ChannelRunnerDep,
                        user: User | None = _read_right) -> Response:
    channel = await run_in_threadpool(store.channels.get, key)
    if channel is None:
        raise HTTPException(404, f"No channel {key!r}.")
    latest = runner.latest(channel.id)
    jpeg = await run_in_threadpool(latest.jpeg) if latest is not None else None
    if jpeg is None:
        why = "is disabled" if not channel.enabled else "has no frame yet"
        raise HTTPException(503, f"Channel {channel.name!r} {why}.", headers={"Retry-After": "1"})
    return Response(jpeg.data, media_type="image/jpeg",
                    headers={"Cache-Control": "no-store", "X-Frame-Time": f"{jpeg.t:.3f}"})


@router.patch("/v1/channels/{key}/", summary="Change the fields given of a channel (its worker restarts)")
async def patch_channel(request: Request, key: str, store: StoreDep, bus: BusDep, runner: ChannelRunnerDep,
                        user: User | None = _write_right) -> dict[str, Any]:
    fields = await json_object(request)
    channel = await _change(Channels(store, bus).update, key, fields, who(user))
    if channel is None:
        raise HTTPException(404, f"No channel {key!r}.")
    runner.wake()
    return _out(runner, channel)


@router.delete("/v1/channels/{key}/", status_code=204, summary="Remove a channel")
async def delete_channel(key: str, store: StoreDep, bus: BusDep, runner: ChannelRunnerDep,
                         user: User | None = _write_right) -> Response:
    channel = await _change(Channels(store, bus).remove, key, who(user))
    if channel is None:
        raise HTTPException(404, f"No channel {key!r}.")
    runner.wake()
    return Response(status_code=204)
