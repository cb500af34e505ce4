"""Builds the one ASGI application that serves every protocol."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from platehub import __version__, apidocs, console
from platehub.config import Settings
from platehub.core import eventlog, parking
from platehub.core.access import AccessLists
from platehub.core.bus import Bus
from platehub.core.commands import CommandQueue
from platehub.core.devices import DeviceRegistry
from platehub.core.gate import GateKeeper
from platehub.core.ingest import Ingestor
from platehub.core.metrics import Metrics
from platehub.core.mqtt import MqttBridge
from platehub.core.ratelimit import RateLimiter
from platehub.core.recognition import Recognizer
from platehub.core.retention import Retention, RetentionJob
from platehub.core.store import Store
from platehub.core.videoreads import VideoReads
from platehub.core.whitelist import WhitelistSync
from platehub.engine import Engine
from platehub.middleware import BodyLimit
from platehub.protocols import metrics as metrics_route
from platehub.protocols.allinone import routes as allinone
from platehub.protocols.ffjson import routes as ffjson
from platehub.protocols.manage import accounts as manage_accounts
from platehub.protocols.manage import lists as manage_lists
from platehub.protocols.manage import parking as manage_parking
from platehub.protocols.manage import routes as manage
from platehub.protocols.snapshot import routes as snapshot
from platehub.protocols.snapshot.webhooks import WebhookDispatcher
from platehub.protocols.tsapi import routes as tsapi
from platehub.protocols.tsapi.common import TsApiError
from platehub.protocols.tsapi.common import error as tsapi_error
from platehub.protocols.video import routes as video
from platehub.video.channel import ChannelRunner

log = logging.getLogger("platehub")


@dataclass
class Platehub:
    """Everything the routes reach through `request.app.state.platehub`."""

    settings: Settings
    store: Store
    bus: Bus
    recognizer: Recognizer
    rate_limiter: RateLimiter
    devices: DeviceRegistry
    commands: CommandQueue
    ingestor: Ingestor
    lists: AccessLists
    gate: GateKeeper
    whitelist: WhitelistSync
    metrics: Metrics
    version: str = __version__
    videoreads: VideoReads | None = None  # video passes → reads (channels, uploads with a camera_id)
    channels: ChannelRunner | None = None  # one worker per enabled video channel


def ensure_admin(store: Store) -> str | None:
    """Create the `admin` user on first start; returns a generated password to print once."""
    if store.users.get("admin") is not None:
        return None
    password = os.environ.get("PLATEHUB_ADMIN_PASSWORD")
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    store.users.create("admin", password, is_admin=True)
    return generated


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    started = time.time()
    store = Store.open(settings)
    generated = ensure_admin(store)
    if generated:
        print(f"platehub: created user 'admin' with password: {generated}  (shown once)", flush=True)
    bus = Bus()
    commands = CommandQueue(store.commands)
    lists = AccessLists(store.access, settings)
    metrics = Metrics(store, bus, enabled=settings.metrics != "off")
    on = metrics.enabled
    state = Platehub(
        settings, store, bus, Recognizer(settings, store, bus, engine, latency=metrics.recognized if on else None),
        RateLimiter(settings.rate_limit),
        DeviceRegistry(settings, store.devices, bus), commands, Ingestor(settings, store, bus), lists,
        GateKeeper(settings, lists, store.decisions, bus, commands), WhitelistSync(settings, store.camera_lists,
                                                                                   settings.zone),
        metrics,
    )
    dispatcher = WebhookDispatcher(settings, store.webhooks, bus, failed=metrics.webhook_failed if on else None)
    if on:  # counters only on the ingest path; the rest is read when scraped (core/metrics.py)
        state.ingestor.observers.append(metrics.on_read)
        state.recognizer.observers.append(metrics.on_read)
        metrics.queues["recognition"] = lambda: state.recognizer.pending
        metrics.queues["webhook_events"] = lambda: dispatcher.depths()["webhook_events"]
        metrics.queues["webhook_deliveries"] = lambda: dispatcher.depths()["webhook_deliveries"]
    state.videoreads = VideoReads(state.ingestor, state.devices)
    state.channels = ChannelRunner(store.channels.list, lambda: state.recognizer.engine,
                                   lambda channel, p: state.videoreads.store(channel.name, p))
    retention = RetentionJob(Retention(settings, store))
    mqtt = MqttBridge(settings, store, bus, commands)  # off when PLATEHUB_MQTT_URL is unset

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        bus.bind(asyncio.get_running_loop())
        state.commands.bind(asyncio.get_running_loop())
        await asyncio.get_running_loop().run_in_executor(None, lambda: state.recognizer.engine)  # load models
        await asyncio.get_running_loop().run_in_executor(None, store.sweep_orphans, started)
        dispatcher.start()
        mqtt.start()
        state.devices.start()
        retention.start()  # PLATEHUB_RETAIN_*: in batches, in a worker thread
        state.channels.start()  # video channels: worker threads, in step with the store
        await asyncio.get_running_loop().run_in_executor(None, eventlog.of(app).record_start)
        log.info("platehub %s ready: data in %s, database %s", __version__, settings.data_dir,
                 settings.db_url.split("@")[-1])
        yield
        await asyncio.get_running_loop().run_in_executor(None, eventlog.of(app).record_stop)
        await asyncio.get_running_loop().run_in_executor(None, state.channels.stop)
        await retention.stop()
        await state.devices.stop()
        await dispatcher.stop()
        await mqtt.stop()
        state.recognizer.close()
        store.close()

    app = FastAPI(
        title="platehub",
        version=__version__,
        description="Self-hosted licence plate recognition server: a Plate Recognizer-compatible Snapshot API, "
        "receivers for FF JSON and all-in-one ANPR cameras, TS-API push.",
        lifespan=lifespan,
        docs_url=None,  # apidocs.mount: Swagger UI from the package, not a CDN
        redoc_url=None,
    )
    app.state.platehub = state
    state.gate.eventlog = eventlog.of(app)
    state.ingestor.gate = state.gate  # every new read of a camera door is decided
    state.ingestor.observers.append(parking.of(app).on_read)  # occupancy and visits from every new read
    state.recognizer.observers.append(parking.of(app).on_read)  # … and Snapshot API reads (camera_id = source)
    state.commands.hand_opens.append(parking.of(app).opened_by_hand)  # an operator's open lets a vehicle in

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(TsApiError)
    async def _tsapi_error(request, exc: TsApiError) -> Response:
        return tsapi_error(request, exc)

    @app.exception_handler(Exception)
    async def _server_error(request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error; the server log has the details."}, status_code=500)

    app.include_router(snapshot.router)
    if on:
        app.include_router(metrics_route.router)
    app.include_router(ffjson.router(settings))
    app.include_router(allinone.router(settings))
    app.include_router(tsapi.router(settings))
    app.include_router(manage.router(settings))
    app.include_router(manage_lists.router(settings))
    app.include_router(manage_parking.router(settings))
    app.include_router(manage_accounts.router(settings))
    app.include_router(video.router)
    apidocs.mount(app)
    console.mount(app)  # last: `/` and `/console/` shadow no API route
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    app.add_middleware(BodyLimit, limit=settings.upload_limit)
    return app
