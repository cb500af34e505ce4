"""What a route may ask for, by type (FastAPI's `Depends`): `def route(store: StoreDep, ...)`.

The services are built once by `app.create_app` (services.Platehub); this module is the one place
that finds them on the app. Helpers that are not routes (sign-in, sessions) call `services(conn)`.
The getters are `async def` only so that FastAPI calls them on the event loop: a plain `def`
dependency would cost every request a trip through the thread pool for an attribute lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from platehub.config import Settings
from platehub.core.access import AccessLists
from platehub.core.bus import Bus
from platehub.core.commands import CommandQueue
from platehub.core.devices import DeviceRegistry
from platehub.core.eventlog import EventLog
from platehub.core.ingest import Ingestor
from platehub.core.metrics import Metrics
from platehub.core.parking import ParkingService
from platehub.core.ratelimit import RateLimiter
from platehub.core.recognition import Recognizer
from platehub.core.store import Store
from platehub.core.store.search import PlateSearch
from platehub.core.whitelist import WhitelistSync
from platehub.protocols.allinone.comet import CometPolls
from platehub.protocols.tsapi.devicenames import DeviceNames
from platehub.protocols.tsapi.hls import LinkSigner
from platehub.protocols.tsapi.signins import FailedSignIns
from platehub.services import Platehub
from platehub.video.channel import ChannelRunner
from platehub.video.reads import VideoReads
from platehub.video.recorder import Recorders
from platehub.video.recordings import Recordings


def services(conn: HTTPConnection) -> Platehub:
    """The services of the app that `conn` (a request or a WebSocket) reached."""
    return conn.app.state.platehub


async def _settings(conn: HTTPConnection) -> Settings:
    return services(conn).settings


async def _store(conn: HTTPConnection) -> Store:
    return services(conn).store


async def _bus(conn: HTTPConnection) -> Bus:
    return services(conn).bus


async def _eventlog(conn: HTTPConnection) -> EventLog:
    return services(conn).eventlog


async def _parking(conn: HTTPConnection) -> ParkingService:
    return services(conn).parking


async def _recognizer(conn: HTTPConnection) -> Recognizer:
    return services(conn).recognizer


async def _rate_limiter(conn: HTTPConnection) -> RateLimiter:
    return services(conn).rate_limiter


async def _devices(conn: HTTPConnection) -> DeviceRegistry:
    return services(conn).devices


async def _commands(conn: HTTPConnection) -> CommandQueue:
    return services(conn).commands


async def _ingestor(conn: HTTPConnection) -> Ingestor:
    return services(conn).ingestor


async def _lists(conn: HTTPConnection) -> AccessLists:
    return services(conn).lists


async def _whitelist(conn: HTTPConnection) -> WhitelistSync:
    return services(conn).whitelist


async def _metrics(conn: HTTPConnection) -> Metrics:
    return services(conn).metrics


async def _polls(conn: HTTPConnection) -> CometPolls:
    return services(conn).polls


async def _plate_search(conn: HTTPConnection) -> PlateSearch:
    return services(conn).plate_search


async def _sign_ins(conn: HTTPConnection) -> FailedSignIns:
    return services(conn).sign_ins


async def _device_names(conn: HTTPConnection) -> DeviceNames:
    return services(conn).device_names


async def _videoreads(conn: HTTPConnection) -> VideoReads:
    return services(conn).videoreads


async def _channels(conn: HTTPConnection) -> ChannelRunner:
    return services(conn).channels



async def _recordings(conn: HTTPConnection) -> Recordings:
    return services(conn).recordings


async def _recorders(conn: HTTPConnection) -> Recorders:
    return services(conn).recorders


async def _links(conn: HTTPConnection) -> LinkSigner:
    return services(conn).links


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]
BusDep = Annotated[Bus, Depends(_bus)]
EventLogDep = Annotated[EventLog, Depends(_eventlog)]
ParkingDep = Annotated[ParkingService, Depends(_parking)]
RecognizerDep = Annotated[Recognizer, Depends(_recognizer)]
RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]
DevicesDep = Annotated[DeviceRegistry, Depends(_devices)]
IngestorDep = Annotated[Ingestor, Depends(_ingestor)]
CommandsDep = Annotated[CommandQueue, Depends(_commands)]
ListsDep = Annotated[AccessLists, Depends(_lists)]
WhitelistDep = Annotated[WhitelistSync, Depends(_whitelist)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
PollsDep = Annotated[CometPolls, Depends(_polls)]
PlateSearchDep = Annotated[PlateSearch, Depends(_plate_search)]
SignInsDep = Annotated[FailedSignIns, Depends(_sign_ins)]
DeviceNamesDep = Annotated[DeviceNames, Depends(_device_names)]
VideoReadsDep = Annotated[VideoReads, Depends(_videoreads)]
ChannelRunnerDep = Annotated[ChannelRunner, Depends(_channels)]
RecordingsDep = Annotated[Recordings, Depends(_recordings)]
RecordersDep = Annotated[Recorders, Depends(_recorders)]
LinksDep = Annotated[LinkSigner, Depends(_links)]
