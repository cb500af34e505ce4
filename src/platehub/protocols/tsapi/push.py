"""TS-API `POST /api/push` (spec 004, "Pushing events to the server"). Thin: sign in, parse, hand
the events to the domain, answer. Pushing needs the `Control` right (core/rights.py `PUSH`: a pushed
read can open a barrier); a signed-in user without it gets 403 and nothing is stored.

LPR events become reads (stored, idempotent on src + when + plateNo, then published); their `src`
becomes a known device. emergencyCall events are published on the bus (`emergency.call`) and
logged; they are stored once the event log exists (issue 4).

A batch keeps its valid events: the good ones are stored, the bad ones are listed in a 400 answer,
so a client that resends the whole batch after fixing it does not get duplicates (when it gives
`when`)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from platehub.core import rights
from platehub.core.bus import EMERGENCY_CALL, Bus
from platehub.core.devices import DeviceRegistry
from platehub.core.ingest import Ingestor
from platehub.core.read import utcnow
from platehub.protocols.deps import BusDep, DevicesDep, IngestorDep
from platehub.protocols.tsapi import pushcodec
from platehub.protocols.tsapi.auth import SignInRefused, sign_in
from platehub.protocols.tsapi.pushcodec import EmergencyCall, LprEvent, PushError

log = logging.getLogger("platehub.tsapi")


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _parse(body: bytes, received_at) -> tuple[list[LprEvent | EmergencyCall], list[pushcodec.Rejected]]:
    """The body's events and the rejected ones (blocking: JSON of up to the upload limit)."""
    return pushcodec.parse_events(pushcodec.parse_body(body), received_at)


def _deliver(devices: DeviceRegistry, ingestor: Ingestor, bus: Bus, events: list[LprEvent | EmergencyCall],
             client: str, received_at) -> int:
    """Store and publish the events in order (blocking); returns how many reads were new."""
    new = 0
    for src in dict.fromkeys(e.src for e in events if isinstance(e, LprEvent)):
        try:
            devices.seen(src, "push", address=client)
        except IntegrityError:  # registered by a concurrent request a moment ago
            devices.seen(src, "push", address=client)
    for event in events:
        if isinstance(event, LprEvent):
            new += ingestor.ingest(pushcodec.to_read(event, received_at)).new
        else:
            payload = pushcodec.emergency_payload(event)
            log.info("emergency call %s from %s (%s), cameras %r at %s", event.event, event.src,
                     event.device or "?", event.camera, payload["when"])
            bus.publish(EMERGENCY_CALL, payload)
    return new


router = APIRouter(tags=["TS-API"])


@router.post("/api/push", summary="Push LPR and emergencyCall events (TS-API)",
             description="One event object or an array of them; HTTP Basic or `auth=` (base64 of user:password) "
             "of a user with the Control right (403 without it). "
             "200 with no content on success; 400 lists the events that were rejected (the others are kept).")
@router.post("/api/push/", include_in_schema=False)
async def push(request: Request, devices: DevicesDep, ingestor: IngestorDep, bus: BusDep) -> Response:
    client = request.client.host if request.client else "?"
    try:
        user = await sign_in(request)
    except SignInRefused as e:
        return _answer(e.status, pushcodec.error(pushcodec.CODE_NO_RIGHTS, e.message), e.headers)
    if not rights.holds(user, rights.PUSH):
        log.warning("TS-API push from %s refused: %s lacks the %s right", client, user.login, rights.PUSH)
        return _answer(403, pushcodec.error(pushcodec.CODE_NO_RIGHTS,
                                            f"The {rights.PUSH} right is required to push events."))
    received_at = utcnow()
    try:  # parsed in a worker thread: a big body never stalls the event loop
        events, rejected = await run_in_threadpool(_parse, await request.body(), received_at)
    except PushError as e:
        log.warning("TS-API push from %s (%s) refused: %s", client, user.login, e)
        return _answer(400, pushcodec.error(pushcodec.CODE_INVALID, str(e)))
    new = await run_in_threadpool(_deliver, devices, ingestor, bus, events, client, received_at) if events else 0
    log.debug("TS-API push from %s (%s): %d events, %d new reads", client, user.login, len(events), new)
    if rejected:
        for r_ in rejected:
            log.warning("TS-API push from %s (%s): event %d rejected: %s", client, user.login, r_.index,
                        r_.message)
        return _answer(400, pushcodec.rejected_body(rejected, len(events)))
    return Response(status_code=200)
