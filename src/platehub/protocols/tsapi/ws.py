"""TS-API real-time events over a WebSocket (spec 004, "Real-time event monitoring"):
`/wsapi/subscribeEvents` and `/api/subscribeEvents` (the guide's example page uses the latter).

Each socket signs in on its own: `auth=` (or HTTP Basic), else a session — the `session=`
parameter or the session cookie. The cookie counts only from platehub's own pages
(protocols/origin.py: a page of another site, or of another port of this host, must not read the
stream as the signed-in user; clients that send no `Origin` are not browsers and keep working). A
socket that fails to sign in, names no topic or lacks the right is accepted and closed at once with
code 1008 and the reason ("disconnected immediately", as the guide says). A topic the guide does not
name does not close it (the guide's own event viewer asks for one): the first message lists it in
`unsupportedTopics`. The first message is `{"subscriberId", "topics"}`, then events as they happen,
and a ping message whenever nothing was sent for `PLATEHUB_WS_PING` seconds (default 30). An open
socket signs in again every `CHECK_EVERY` seconds and is closed the
same way once that fails (a password changed, the user removed, a right taken away, from any process).

Sources: `LPR` ← `read.stored` and `read.updated` (every door; an update of a vehicle pass is a
new recognition of the car, sent in the same format); `emergencyCall` ← `emergency.call`;
`parkingCount` ← `parking.count` (the current counts of all lots, or of the lots `ch=` names, first;
then each change: the changed counters and the groups containing them, as `updated`);
`recordingStatus` ← `recording.status` (video/recorder.py; every channel's state first, as `currentStatus`,
then each change as `statusChanged`; `ch=` names the video channels);
`systemEvent` ← `eventlog.added` for entries of the "System log" type, of platehub's LPR
device type (device connected / disconnected) and gate alerts, in the event log search's format, each
only to users whose rights let them read that type (core/rights.py: devices and alerts need `LPR`);
`channelStatus` ← `channel.status` (video channels: the current status of the channels `ch=` names, or
all, first; then each change, channelfeed.py). `device.status` itself feeds no topic (cameras that
push reads are not video channels). The other topics have no source yet: accepted, silent.

Each socket has its own bounded bus queue (oldest dropped when it falls behind), so a slow
client never holds up the others; the subscription is closed when the socket goes."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState

from platehub.config import Settings
from platehub.core import bus as topics_
from platehub.core import eventlog as core_eventlog
from platehub.core import parking, rights
from platehub.core.read import Read, utcnow
from platehub.core.store.accounts import User
from platehub.protocols.deps import (
    BusDep,
    ChannelRunnerDep,
    DeviceNamesDep,
    ParkingDep,
    RecordersDep,
    SettingsDep,
    StoreDep,
    services,
)
from platehub.protocols.origin import cross_site
from platehub.protocols.tsapi import eventlog, events
from platehub.protocols.tsapi.auth import BadCredentials, SignInRefused, credentials, sign_in
from platehub.protocols.tsapi.channelfeed import ChannelFeed
from platehub.protocols.tsapi.common import dumps, session_user
from platehub.protocols.tsapi.devicenames import DeviceNames
from platehub.protocols.tsapi.session import COOKIE
from platehub.video.recorder import RecordingState
from platehub.video.status import ChannelEvent

log = logging.getLogger("platehub.tsapi")

QUEUE = 1000  # events buffered per socket before the oldest are dropped
CHECK_EVERY = 30.0  # seconds between checks that a socket's user is still signed in and holds the rights
POLICY_VIOLATION = 1008

# guide topic → bus topics feeding it
SOURCES: dict[str, tuple[str, ...]] = {
    events.LPR: (topics_.READ_STORED, topics_.READ_UPDATED),
    events.EMERGENCY_CALL: (topics_.EMERGENCY_CALL,),
    events.SYSTEM_EVENT: (core_eventlog.EVENT_LOGGED,),
    events.PARKING_COUNT: (topics_.PARKING_COUNT,),
    events.CHANNEL_STATUS: (topics_.CHANNEL_STATUS,),
    events.RECORDING_STATUS: (topics_.RECORDING_STATUS,),
}
# the event log types sent as systemEvent
SYSTEM_TYPES = (core_eventlog.SYSTEM, core_eventlog.DEVICE, core_eventlog.ACCESS)  # access: gate alerts
# the access right a topic needs (accessRights2 names); admins have them all
RIGHTS = {events.LPR: "LPR"}


class _Refused(Exception):
    pass


async def _user(websocket: WebSocket, allowed_origins: tuple[str, ...]) -> User:
    """Who the socket signs in as: its own credentials (auth= / Basic) first, else a session."""
    try:
        given = credentials(websocket) is not None  # type: ignore[arg-type]
    except BadCredentials:
        given = True  # sign_in reports them (and counts the failure)
    if given:
        try:
            return await sign_in(websocket)  # type: ignore[arg-type]
        except SignInRefused as e:
            raise _Refused(e.message) from None
    token = websocket.query_params.get("session")
    if not token and websocket.cookies.get(COOKIE):
        if cross_site(websocket, allowed_origins):
            raise _Refused("The session cookie is not accepted from another site's page; use auth= or session=.")
        token = websocket.cookies.get(COOKIE)
    user = await session_user(websocket, token) if token else None
    if user is None:
        raise _Refused("Sign-in required: the auth= parameter or a session." if not token
                       else "The session has ended; sign in again.")
    return user


def _refusal(user: User, wanted: Sequence[str]) -> str | None:
    """Why `user` may not have the topics `wanted`; None when it may."""
    for topic in wanted:
        right = RIGHTS.get(topic)
        if not rights.holds(user, right):
            return f"The {right} right is required for the {topic} topic."
    return None


async def _signed_in_again(websocket: WebSocket, allowed_origins: tuple[str, ...], wanted: Sequence[str],
                           ) -> User | str:
    """Sign the socket in again (its session, or its own credentials, as stored now): the user as
    stored now, or why it may no longer have its topics (a password changed, the user removed, a
    right taken away, from any process)."""
    try:
        user = await _user(websocket, allowed_origins)
    except _Refused as e:
        return str(e)
    return _refusal(user, wanted) or user


def base_url(websocket: WebSocket) -> str:
    """http(s)://host[:port] the client reached this socket by (for image links)."""
    url = websocket.url
    scheme = "https" if url.scheme in ("wss", "https") else "http"
    return f"{scheme}://{url.netloc}"


async def _message(websocket: WebSocket, names: DeviceNames, user: User, event: topics_.Event, verbose: bool,
                   lots: frozenset[int] | None = None, feed: ChannelFeed | None = None) -> dict[str, Any] | None:
    payload = event.payload
    if event.topic == topics_.CHANNEL_STATUS and isinstance(payload, ChannelEvent):
        return feed.message(payload) if feed is not None else None
    if event.topic in (topics_.READ_STORED, topics_.READ_UPDATED) and isinstance(payload, Read):
        device = await names.device(payload.source)
        channel = None
        if payload.protocol == "video" and payload.source:  # read from a video channel: its chid and video
            channel = await run_in_threadpool(services(websocket).store.channels.get, payload.source)
        return events.lpr(payload, device.name if device else None, base_url(websocket),
                          parking.parking_lot_json(device), parking.lot_direction(device, payload.direction),
                          channel)
    if event.topic == topics_.PARKING_COUNT and isinstance(payload, parking.CountChange):
        updated = [parking.lot_json(lot) for lot in payload.lots if lots is None or lot.id in lots]
        return events.parking_count(updated, utcnow()) if updated else None
    if event.topic == topics_.EMERGENCY_CALL and isinstance(payload, dict):
        return events.emergency_call(payload, verbose)
    if event.topic == topics_.RECORDING_STATUS and isinstance(payload, RecordingState):
        wanted = lots is None or payload.channel_id in lots  # ch= names video channels here
        return events.recording_status([payload], utcnow(), current=False) if wanted else None
    kind = getattr(payload, "type", None)
    if event.topic == core_eventlog.EVENT_LOGGED and kind in SYSTEM_TYPES and rights.may_read_log(user, kind):
        return events.system_event(eventlog.entry_json(payload, websocket.query_params.get("lang")))
    return None


async def _close(websocket: WebSocket, reason: str) -> None:
    reason = reason.encode()[:120].decode("utf-8", "ignore")  # a close reason is at most 123 bytes
    if websocket.application_state != WebSocketState.DISCONNECTED:
        try:
            await websocket.close(POLICY_VIOLATION, reason)
        except (RuntimeError, WebSocketDisconnect):
            pass


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_events(websocket: WebSocket, settings: Settings, names: DeviceNames, user: User,
                       sub: topics_.Subscription | None, verbose: bool, lots: frozenset[int] | None = None,
                       wanted: Sequence[str] = (), feed: ChannelFeed | None = None) -> None:
    """Send each event's message; a ping when nothing was sent for `ping` seconds. Every CHECK_EVERY
    seconds the socket signs in again; once that fails, it is closed with the reason."""
    ping = settings.ws_ping or None  # PLATEHUB_WS_PING; 0 = no pings
    last_sent = last_check = time.monotonic()
    while True:
        due = min(last_check + CHECK_EVERY, last_sent + ping if ping else math.inf)
        wait = max(0.0, due - time.monotonic())
        event = None
        if sub is None:
            await asyncio.sleep(wait)
        else:
            try:
                event = await asyncio.wait_for(sub.get(), wait)
            except TimeoutError:
                event = None
        now = time.monotonic()
        if now >= last_check + CHECK_EVERY:
            again = await _signed_in_again(websocket, settings.allowed_origins, wanted)
            if isinstance(again, str):
                log.info("TS-API event socket closed: %s", again)
                await _close(websocket, again)
                return
            user, last_check = again, time.monotonic()
        if event is None and not (ping and now >= last_sent + ping):
            continue
        message = events.ping(utcnow()) if event is None \
            else await _message(websocket, names, user, event, verbose, lots, feed)
        if message is not None:
            await websocket.send_text(dumps(message, None).decode())
            last_sent = time.monotonic()


async def subscribe_events(websocket: WebSocket, settings: SettingsDep, bus: BusDep, parking_service: ParkingDep,
                           names: DeviceNamesDep, store: StoreDep, runner: ChannelRunnerDep,
                           recorders: RecordersDep) -> None:
    await websocket.accept()
    client = websocket.client.host if websocket.client else "?"
    params = websocket.query_params
    try:
        user = await _user(websocket, settings.allowed_origins)
        try:
            wanted = events.parse_topics(params.get("topics"))
            unsupported = events.unsupported_topics(params.get("topics"))  # named in the first message
            # ch= names the video channels (channelStatus, recordingStatus) and the parking lots (parkingCount)
            lots = events.parse_channels(params.get("ch"))
        except ValueError as e:
            raise _Refused(str(e)) from None
        refusal = _refusal(user, wanted)
        if refusal:
            raise _Refused(refusal)
    except _Refused as e:
        log.info("TS-API event socket from %s refused: %s", client, e)
        await _close(websocket, str(e))
        return

    feeds = sorted({bus_topic for topic in wanted for bus_topic in SOURCES.get(topic, ())})
    # every process's events (core/bus.py); no topics at all would mean every topic
    sub = bus.subscribe(*feeds, maxsize=QUEUE, everywhere=True) if feeds else None
    verbose = events.parse_flag(params.get("verbose"))
    hello = events.subscriber(wanted, unsupported=unsupported)
    log.info("TS-API event socket %s from %s (%s): %s", hello["subscriberId"], client, user.login, ",".join(wanted))
    tasks: list[asyncio.Task] = []
    try:
        await websocket.send_text(dumps(hello, None).decode())
        if events.PARKING_COUNT in wanted:  # the current counts once, right after the request
            current = await run_in_threadpool(parking_service.all)
            updated = [parking.lot_json(lot) for lot in parking.ordered(current) if lots is None or lot.id in lots]
            await websocket.send_text(dumps(events.parking_count(updated, utcnow()), None).decode())
        feed = None
        if events.CHANNEL_STATUS in wanted:  # the current status once, right after the subscriber id
            feed = ChannelFeed(lots, verbose, params.get("lang"))
            stored = await run_in_threadpool(store.channels.list)
            current = feed.current([(c, runner.status(c)) for c in stored])
            await websocket.send_text(dumps(current, None).decode())
        if events.RECORDING_STATUS in wanted:  # every channel's recording once, right after the request
            channels = await run_in_threadpool(store.channels.list)
            states = [s for s in recorders.states(channels) if lots is None or s.channel_id in lots]
            await websocket.send_text(dumps(events.recording_status(states, utcnow(), current=True), None).decode())
        tasks = [asyncio.create_task(_until_closed(websocket)),
                 asyncio.create_task(_send_events(websocket, settings, names, user, sub, verbose, lots, wanted,
                                                  feed))]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                if not isinstance(exc, WebSocketDisconnect | RuntimeError | OSError):
                    log.error("TS-API event socket %s failed", hello["subscriberId"], exc_info=exc)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if sub is not None:
            if sub.dropped:
                log.warning("TS-API event socket %s fell behind: %d events dropped", hello["subscriberId"],
                            sub.dropped)
            sub.close()
        log.info("TS-API event socket %s closed", hello["subscriberId"])


router = APIRouter()
router.add_api_websocket_route("/wsapi/subscribeEvents", subscribe_events)
router.add_api_websocket_route("/api/subscribeEvents", subscribe_events)
