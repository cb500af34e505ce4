"""HTTP route of the FF JSON door: the camera's "Cloud URL" (`settings.ff_path`). Thin: read the
request, let the codec parse and translate it, hand the read to the ingestor, answer."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from platehub.config import Settings
from platehub.core.read import utcnow
from platehub.protocols import forms
from platehub.protocols.deps import DevicesDep, IngestorDep, StoreDep
from platehub.protocols.ffjson import codec

log = logging.getLogger("platehub.ffjson")

MAX_PARTS = 100  # form fields, and files, per request: an event has two (`event`, `image`)


async def _decode(request: Request, body: bytes, limit: int) -> codec.FFRequest:
    """The event and its image; the parsing runs in worker threads, off the event loop."""
    ctype = request.headers.get("content-type", "")
    kind = forms.media_type(ctype)
    if kind not in forms.FORM_TYPES:
        return await run_in_threadpool(codec.decode_body, body)
    if kind == "multipart/form-data" and not codec.multipart_complete(body, ctype):
        raise codec.FFError("The multipart body is truncated or malformed (no closing boundary).")
    try:
        form = await forms.read(request, max_fields=MAX_PARTS, max_files=MAX_PARTS, max_part_size=limit)
    except forms.FormError as e:
        raise codec.FFError(f"The form data could not be parsed: {e}", e.status) from None
    try:
        parts = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                parts.append(codec.Part(name, await value.read(), value.filename, value.content_type))
            else:
                parts.append(codec.Part(name, value))
    finally:
        await form.close()
    return await run_in_threadpool(codec.decode_form, parts)


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["FF JSON cameras"])
    path = settings.ff_path if settings.ff_path.startswith("/") else "/" + settings.ff_path

    @r.post(path, summary="Receive an FF JSON plate event (the camera's Cloud URL)")
    async def ff_event(request: Request, devices: DevicesDep, ingestor: IngestorDep, store: StoreDep) -> JSONResponse:
        client = request.client.host if request.client else None
        received = utcnow()
        try:
            body = await request.body()
        except ClientDisconnect:
            log.info("ffjson: %s disconnected before the body was complete", client or "?")
            return JSONResponse({"detail": "The request body is incomplete."}, status_code=400)
        try:
            decoded = await _decode(request, body, settings.upload_limit)
        except codec.FFError as e:
            log.warning("ffjson %d from %s: %s", e.status, client or "?", e)
            return JSONResponse({"detail": str(e)}, status_code=e.status)
        event = decoded.event
        for warning in decoded.warnings:
            log.warning("ffjson event from %s (%s): %s", codec.source_of(event), client or "?", warning)
        read = codec.to_read(event, received)
        full, plate = codec.image_slots(event, decoded.image)
        await run_in_threadpool(devices.seen, read.source, codec.PROTOCOL, address=client,
                                **codec.device_fields(event))
        ingest = ingestor.ingest_pass if read.source_key and event.car_id else ingestor.ingest
        result = await run_in_threadpool(ingest, read, full, plate)
        read_id = result.read.id
        if not (result.new or result.updated):  # a retransmission: answer with the stored read's id
            stored = await run_in_threadpool(store.reads.get_by_key, read.protocol, read.source_key or "")
            read_id = stored.id if stored else None
        state = "new" if result.new else "updated" if result.updated else "duplicate"
        return JSONResponse({"status": "ok", "read": read_id, "stored": state})

    return r
