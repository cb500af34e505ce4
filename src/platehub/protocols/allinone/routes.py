"""HTTP routes of the all-in-one cameras' push protocol (spec 001). Thin: read the body, hand it to the
door (`service.Door`, `comet.CometPolls`, built by the app), answer its reply.

Every configured path accepts every message, by content: a JSON body is a pushed message
(AlarmInfoPlate, AlarmIoIn, SerialData or TriggerImage, whatever the Content-Type says: the spec's own
screenshot example posts TriggerImage to the registration path), a form (multipart, urlencoded, or
query string for GET) is a heartbeat or comet poll. So a camera with paths mixed up still works.
Bad input gets a reply that does not open the gate (a form of more than `form.MAX_FIELDS` fields
with a 413); a server fault a 503 with such a reply, so the camera keeps the record and sends it again."""

from __future__ import annotations

import logging

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.protocols.allinone import codec, form
from platehub.protocols.allinone.codec import BadMessage
from platehub.protocols.allinone.service import SNAPSHOT_DEVICE_PARAM, Origin
from platehub.protocols.deps import DoorDep, PollsDep
from platehub.protocols.forms import FormError

log = logging.getLogger("platehub.allinone")
PUSH_THREADS = 4


async def _form(request: Request, body: bytes) -> dict[str, str]:
    fields = {k: v for k, v in request.query_params.items() if k != SNAPSHOT_DEVICE_PARAM}
    if body:  # parsed in a worker thread: a big or malformed body never stalls the event loop
        fields.update(await run_in_threadpool(form.fields, body, request.headers.get("content-type", "")))
    return fields


def router(settings: Settings) -> APIRouter:
    # pushed messages are handled by at most PUSH_THREADS threads: their work holds the GIL but for the
    # fsyncs, which the group commit shares, so more threads only fight over it (benchmarks/ingest.py,
    # 16 cameras: 4 threads 307 events/s, p99 65 ms; 16 threads 294/s, p99 97 ms)
    pushes = anyio.CapacityLimiter(PUSH_THREADS)
    r = APIRouter(tags=["All-in-one ANPR cameras (HTTP push)"])

    async def receive(request: Request, door: DoorDep, polls: PollsDep) -> JSONResponse:
        client = request.client.host if request.client else None
        try:
            body = await request.body()
            origin = Origin(request.url.scheme, request.headers.get("host") or request.url.netloc, client,
                            request.query_params.get(SNAPSHOT_DEVICE_PARAM))
            if codec.looks_like_json(body):
                status, reply = await anyio.to_thread.run_sync(door.handle_json, body, origin,
                                                               limiter=pushes)
                return JSONResponse(reply, status_code=status)
            try:
                reg = codec.parse_registration(await _form(request, body))
            except FormError as e:  # too many fields
                log.warning("all-in-one: form refused from %s to %s: %s", client, request.url.path, e)
                return JSONResponse(codec.refusal(str(e)), status_code=e.status)
            except BadMessage as e:
                log.warning("all-in-one: bad request from %s to %s: %s", client, request.url.path, e)
                return JSONResponse(codec.refusal(str(e)))
            return JSONResponse(await polls.poll(reg, origin, request.receive))
        except Exception:
            log.exception("all-in-one: failed on %s from %s", request.url.path, client)
            return JSONResponse(codec.refusal("server error; send it again"), status_code=503)

    paths = (settings.allinone_plate_path, settings.allinone_register_path, settings.allinone_io_path,
             settings.allinone_serial_path, settings.allinone_snapshot_path)
    for path in dict.fromkeys(paths):
        r.add_api_route(path, receive, methods=["GET", "POST"], name=f"allinone:{path}")
    return r
