"""HTTP of the all-in-one cameras' push protocol (spec 001). Thin: read the body, hand it to the door
(`service.Door`, `comet.CometPolls`, built by the app), answer its reply.

Every configured path accepts every message, by content: a JSON body is a pushed message
(AlarmInfoPlate, AlarmIoIn, SerialData or TriggerImage, whatever the Content-Type says: the spec's own
screenshot example posts TriggerImage to the registration path), a form (multipart, urlencoded, or
query string for GET) is a heartbeat or comet poll. So a camera with paths mixed up still works.
Bad input gets a reply that does not open the gate (a form of more than `form.MAX_FIELDS` fields
with a 413); a server fault a 503 with such a reply, so the camera keeps the record and sends it again.

Two doors in: `PushLane`, an ASGI middleware, answers the JSON pushes (every plate a camera reads, the
busiest request platehub has) without the framework's routing, dependencies and inner middleware
(benchmarks/ingest.py: 372 → 391 events/s); it hands every other request on, forms with their body.
`router` has the routes: the forms, and the paths' OpenAPI entries."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL, Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platehub.config import Settings
from platehub.protocols.allinone import codec, form
from platehub.protocols.allinone.codec import BadMessage
from platehub.protocols.allinone.service import SNAPSHOT_DEVICE_PARAM, Door, Origin
from platehub.protocols.deps import PollsDep
from platehub.protocols.forms import FormError

log = logging.getLogger("platehub.allinone")
PUSH_THREADS = 6


async def _form(request: Request, body: bytes) -> dict[str, str]:
    fields = {k: v for k, v in request.query_params.items() if k != SNAPSHOT_DEVICE_PARAM}
    if body:  # parsed in a worker thread: a big or malformed body never stalls the event loop
        fields.update(await run_in_threadpool(form.fields, body, request.headers.get("content-type", "")))
    return fields


def _origin(scope: Scope) -> Origin:
    client = scope["client"][0] if scope.get("client") else None
    host = Headers(scope=scope).get("host") or URL(scope=scope).netloc
    return Origin(scope.get("scheme", "http"), host, client,
                  QueryParams(scope["query_string"]).get(SNAPSHOT_DEVICE_PARAM))


class PushLane:
    """The JSON pushes to the configured paths, answered here (see the module docstring); `door` is the
    app's, `paths` the configured ones. Sits inside the body limit (`middleware.BodyLimit`) and CORS."""

    def __init__(self, app: ASGIApp, door: Door, paths: Iterable[str]) -> None:
        self.app = app
        self.door = door
        self.paths = frozenset(paths)
        # pushed messages are handled by at most PUSH_THREADS threads: enough to overlap their fsyncs (the
        # images', the group commit's), few enough not to fight over the GIL (benchmarks/ingest.py, 16
        # cameras: 4 threads 540 events/s, 6 558-572/s, 8 569/s with p99 38.6 ms, max 49 ms)
        self.pushes = anyio.CapacityLimiter(PUSH_THREADS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or scope["method"] not in ("GET", "POST"):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not codec.looks_like_json(body):
            return await self.app(scope, _replay(body, receive), send)  # a form: the routes
        origin = _origin(scope)
        try:
            status, reply = await anyio.to_thread.run_sync(self.door.handle_json, body, origin,
                                                           limiter=self.pushes)
        except Exception:
            status, reply = 503, _fault(scope["path"], origin.client)
        content = orjson.dumps(reply)  # what JSONResponse sends (UTF-8, compact), without its machinery
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})


def _fault(path: str, client: str | None) -> dict:
    """The reply to a server fault (logged): it opens nothing, and its 503 makes the camera send again."""
    log.exception("all-in-one: failed on %s from %s", path, client)
    return codec.refusal("server error; send it again")


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that hands over the body already read first (then the client's going: a comet poll
    whose camera gave up takes no command)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["All-in-one ANPR cameras (HTTP push)"])

    async def receive(request: Request, polls: PollsDep) -> JSONResponse:
        """A heartbeat or comet poll (a form). JSON pushes to these paths are answered by `PushLane`
        before they reach this route; they are documented here."""
        client = request.client.host if request.client else None
        try:
            body = await request.body()
            origin = _origin(request.scope)
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
            return JSONResponse(_fault(request.url.path, client), status_code=503)

    for path in dict.fromkeys(paths(settings)):
        r.add_api_route(path, receive, methods=["GET", "POST"], name=f"allinone:{path}")
    return r


def paths(settings: Settings) -> tuple[str, ...]:
    return (settings.allinone_plate_path, settings.allinone_register_path, settings.allinone_io_path,
            settings.allinone_serial_path, settings.allinone_snapshot_path)
