"""Builds the one ASGI application that serves every protocol."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import NamedTuple

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from platehub import __version__, apidocs, console
from platehub.config import Settings
from platehub.core import mqtt
from platehub.core.access import AccessLists
from platehub.core.accounts import ensure_admin
from platehub.core.bus import CHANNEL_STATUS, COMMAND_QUEUED, RECORDING_STATUS, Bus
from platehub.core.commands import CommandQueue
from platehub.core.devices import DeviceRegistry
from platehub.core.errors import DomainError
from platehub.core.eventlog import EventLog
from platehub.core.gate import GateKeeper
from platehub.core.ingest import Ingestor
from platehub.core.leader import Leader
from platehub.core.metrics import Metrics
from platehub.core.mqtt import MqttBridge
from platehub.core.outbox import Outbox
from platehub.core.parking import ParkingService
from platehub.core.ratelimit import RateLimiter, SharedRateLimiter
from platehub.core.recognition import Recognizer
from platehub.core.redisguard import RedisGuard
from platehub.core.relay import Relay
from platehub.core.retention import Retention, RetentionJob
from platehub.core.store import Store
from platehub.core.store.eventlog import EventLogRepo
from platehub.core.store.search import PlateSearch
from platehub.core.tasks import cancel
from platehub.core.whitelist import WhitelistSync
from platehub.engine import Engine
from platehub.middleware import BodyLimit
from platehub.protocols import errors
from platehub.protocols import metrics as metrics_route
from platehub.protocols.allinone import routes as allinone
from platehub.protocols.allinone.comet import CometPolls
from platehub.protocols.allinone.service import Door
from platehub.protocols.ffjson import routes as ffjson
from platehub.protocols.manage import accounts as manage_accounts
from platehub.protocols.manage import lists as manage_lists
from platehub.protocols.manage import parking as manage_parking
from platehub.protocols.manage import routes as manage
from platehub.protocols.snapshot import routes as snapshot
from platehub.protocols.snapshot.codec import webhook_payload
from platehub.protocols.snapshot.webhooks import WebhookDispatcher
from platehub.protocols.tsapi import hls, ws
from platehub.protocols.tsapi import routes as tsapi
from platehub.protocols.tsapi.common import TsApiError
from platehub.protocols.tsapi.common import error as tsapi_error
from platehub.protocols.tsapi.devicenames import DeviceNames
from platehub.protocols.tsapi.signins import FailedSignIns, SharedSignIns
from platehub.protocols.video import routes as video
from platehub.services import Platehub
from platehub.video.channel import ChannelRunner
from platehub.video.reads import VideoReads
from platehub.video.recorder import RecorderOptions, Recorders
from platehub.video.recordings import Recordings

log = logging.getLogger("platehub")


# what crosses processes on the bus (PLATEHUB_REDIS_URL): the TS-API WebSocket topics' sources, what the MQTT
# bridge publishes (it runs in the leader), and comet wake-ups
RELAYED = frozenset({*(t for feeds in ws.SOURCES.values() for t in feeds), *mqtt.TOPICS, COMMAND_QUEUED})


class Background(NamedTuple):
    """The app's background jobs besides the services' own (started and stopped by its lifespan)."""

    webhooks: WebhookDispatcher
    mqtt: MqttBridge  # off when PLATEHUB_MQTT_URL is unset; in the leader
    retention: RetentionJob  # PLATEHUB_RETAIN_*: in batches, in a worker thread; in the leader
    leader: Leader  # which process runs the once-per-site jobs (core/leader.py)
    shared: RedisGuard | None  # the Redis client of the slow-down and rate limits (PLATEHUB_REDIS_URL)


def build(settings: Settings, store: Store, engine: Engine | None = None) -> tuple[Platehub, Background]:
    """Every service, built once and given its collaborators, and the background jobs."""
    bus = Bus(Relay(settings.redis_url, RELAYED) if settings.redis_url else None)
    eventlog = EventLog(EventLogRepo(store.engine), bus)
    parking = ParkingService(store, bus, eventlog)
    commands = CommandQueue(store.commands, bus, hand_opens=(parking.opened_by_hand,))  # an open by hand lets a car in
    lists = AccessLists(store.access, settings, eventlog)
    outbox = Outbox(store.outbox, {  # the webhook deliveries each event owes, stored where it happens
        "recognition": lambda rec, hook: webhook_payload(rec, hook.id, hook.target),
        "alert": lambda alert, hook: alert.as_json()})
    gate = GateKeeper(settings, lists, store.decisions, bus, commands, eventlog, outbox)
    on = settings.metrics != "off"
    metrics = Metrics(store, bus, enabled=on, queues={  # read when scraped (core/metrics.py)
        "recognition": lambda: recognizer.pending,
        "webhook_events": lambda: dispatcher.depths()["webhook_events"],
        "webhook_deliveries": lambda: dispatcher.depths()["webhook_deliveries"],
    } if on else None)
    # each new read: counted (metrics on), then occupancy and visits (parking); Snapshot API reads too
    observers = (metrics.on_read, parking.on_read) if on else (parking.on_read,)
    recognizer = Recognizer(settings, store, bus, engine, latency=metrics.recognized if on else None,
                            observers=observers, outbox=outbox)
    ingestor = Ingestor(settings, store, bus, gate=gate, observers=observers)  # every new door read is decided
    devices = DeviceRegistry(settings, store.devices, bus, eventlog)
    whitelist = WhitelistSync(settings, store.camera_lists, settings.zone, eventlog)
    door = Door(settings, store, bus, devices, ingestor, commands, whitelist)
    videoreads = VideoReads(ingestor, devices)
    channels = ChannelRunner(store.channels.list, lambda: recognizer.engine,
                             lambda channel, p: videoreads.store(channel.name, p),
                             on_event=lambda e: bus.publish(CHANNEL_STATUS, e))
    recordings = Recordings(settings.data_dir / "recordings")
    recorders = Recorders(  # one ffmpeg per recording channel; retention of the recordings
        store.channels.list, recordings, settings.data_dir / "live", RecorderOptions(settings.record_segment,
                                                                                     settings.ffmpeg),
        on_state=lambda state: bus.publish(RECORDING_STATUS, state),
        streaming=lambda c: channels.status(c).state == "online",
        retain_days=settings.retain_recordings_days, retain_gb=settings.retain_recordings_gb,
        passes=lambda c, since, until: store.reads.pass_times(c.name, since, until))  # event recording keeps these
    shared = RedisGuard(settings.redis_url) if settings.redis_url else None  # one client: slow-down, rate limits
    rate_limiter = SharedRateLimiter(settings.rate_limit, shared) if shared else RateLimiter(settings.rate_limit)
    sign_ins = SharedSignIns(shared) if shared else FailedSignIns()
    services = Platehub(
        settings=settings, store=store, bus=bus, eventlog=eventlog, parking=parking, recognizer=recognizer,
        rate_limiter=rate_limiter, devices=devices, commands=commands, ingestor=ingestor,
        lists=lists, gate=gate, whitelist=whitelist, metrics=metrics, door=door,
        polls=CometPolls(door, commands, settings.comet_hold), sign_ins=sign_ins,
        plate_search=PlateSearch(store.engine), device_names=DeviceNames(store.devices),
        videoreads=videoreads, channels=channels, recordings=recordings, recorders=recorders,
        links=hls.LinkSigner(store.keys.key(hls.KEY_NAME)))
    dispatcher = WebhookDispatcher(settings, outbox, store.webhooks, failed=metrics.webhook_failed if on else None)
    return services, Background(dispatcher, MqttBridge(settings, store, bus, commands),
                                RetentionJob(Retention(settings, store)), Leader(settings.redis_url), shared)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    started = time.time()
    store = Store.open(settings)
    generated = ensure_admin(store)
    if generated:
        print(f"platehub: created user 'admin' with password: {generated}  (shown once)", flush=True)
    services, jobs = build(settings, store, engine)
    bus, eventlog = services.bus, services.eventlog

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        bus.bind(loop)
        bus.start()  # with PLATEHUB_REDIS_URL: to and from the other processes
        services.commands.start()
        await loop.run_in_executor(None, lambda: services.recognizer.engine)  # load models
        await loop.run_in_executor(None, store.sweep_orphans, started)  # on PostgreSQL, only settled files
        jobs.webhooks.start()

        async def lead() -> None:  # the once-per-site jobs, in one process of several (core/leader.py)
            services.devices.start()
            jobs.retention.start()
            services.channels.start()  # video channels: worker threads, in step with the store
            services.recorders.start()  # … and their recording (ffmpeg processes)
            jobs.mqtt.start()

        async def step_down() -> None:
            await loop.run_in_executor(None, services.channels.stop)
            await loop.run_in_executor(None, services.recorders.stop)
            await jobs.retention.stop()
            await services.devices.stop()
            await jobs.mqtt.stop()

        await jobs.leader.start(lead, step_down)
        # channel and recording states from the process that runs them (the leader), for this one's answers
        states = bus.subscribe(CHANNEL_STATUS, RECORDING_STATUS, everywhere=True)

        async def hear_states() -> None:
            async for event in states:
                (services.channels if event.topic == CHANNEL_STATUS else services.recorders).hear(event.payload)

        hearing = asyncio.create_task(hear_states(), name="channel-states")
        await loop.run_in_executor(None, eventlog.record_start)
        eventlog.start()  # device online/offline, emergency calls, from the bus
        log.info("platehub %s ready: data in %s, database %s", __version__, settings.data_dir,
                 settings.db_url.split("@")[-1])
        yield
        await eventlog.stop()
        await loop.run_in_executor(None, eventlog.record_stop)
        await jobs.leader.stop()
        await cancel(hearing)
        states.close()
        await jobs.webhooks.stop()
        await services.commands.stop()
        await bus.stop()
        if jobs.shared is not None:
            jobs.shared.close()
        services.recognizer.close()
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
    app.state.platehub = services  # found there only by protocols/deps.py

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(DomainError, errors.domain_error)  # the /v1 and Snapshot API convention

    @app.exception_handler(TsApiError)
    async def _tsapi_error(request, exc: TsApiError) -> Response:
        return tsapi_error(request, exc)

    @app.exception_handler(Exception)
    async def _server_error(request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error; the server log has the details."}, status_code=500)

    app.include_router(snapshot.router)
    if services.metrics.enabled:
        app.include_router(metrics_route.router)
    app.include_router(ffjson.router(settings))
    app.include_router(allinone.router(settings))
    app.include_router(tsapi.router)
    app.include_router(manage.router)
    app.include_router(manage_lists.router)
    app.include_router(manage_parking.router)
    app.include_router(manage_accounts.router)
    app.include_router(video.router)
    apidocs.mount(app)
    console.mount(app)  # last: `/` and `/console/` shadow no API route
    app.add_middleware(allinone.PushLane, door=services.door, paths=allinone.paths(settings))  # the hot path
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    app.add_middleware(BodyLimit, limit=settings.upload_limit)
    return app
