"""TS-API server routes (spec 004): `/api/auth` (sessions), `/api/info`, `/api/system`, `/api/enum`
(`/api/status` is with the other channel calls in channels.py). Thin: sign-in through
`auth`/`common`, data from the store, the event log and the host.

Sign-in and sign-out stay GET requests, as the guide writes them (`GET /api/auth?login=…`), so its
clients keep working; but a browser sent there by another site's page (a link, a redirect, an
`<img>`: login CSRF, which would sign the victim's browser in as the attacker) is refused with 403,
judged by the headers only browsers set (protocols/origin.py). The session cookie is
`SameSite=Strict`, so no navigation from another site carries it either.

What platehub is, told honestly: an LPR server with video channels (read for plates), without
recording here, ONVIF device control or object detection, so those lists are empty."""

from __future__ import annotations

import logging
import os
import struct
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub import __version__
from platehub.config import Settings
from platehub.core import eventlog as core_eventlog
from platehub.core import parking
from platehub.core.store import Store
from platehub.core.store.accounts import RIGHTS, User, UserRepo
from platehub.protocols.deps import EventLogDep, ParkingDep, SettingsDep, SignInsDep, StoreDep
from platehub.protocols.origin import cross_site
from platehub.protocols.tsapi import channelcodec, channels, events, messages, system_info
from platehub.protocols.tsapi.auth import (
    BadCredentials,
    SignInRefused,
    credentials,
    decode_pair,
    sign_in,
)
from platehub.protocols.tsapi.common import TsApiError, respond, session_user, user_in
from platehub.protocols.tsapi.eventlog import event_types
from platehub.protocols.tsapi.session import COOKIE
from platehub.protocols.tsapi.signins import FailedSignIns

log = logging.getLogger("platehub.tsapi")

API_VERSION = "TS-API@0.9.19"  # the guide version the implemented parts follow
PRODUCT = "platehub"
PUBLIC_INFO = ("apiVersion", "siteName", "timezone", "product", "license")
ENUM_ITEMS = ("channel", "lprSrc", "emergencyCall", "eventType", "parkingLot", "realtimeEvent", "objectType",
              "objectAttr")


def _bias(when: datetime) -> str:
    minutes = int((when.utcoffset() or when - when).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def timezone_name() -> str | None:
    """The IANA name of the server's zone: $TZ, /etc/timezone, or the /etc/localtime link."""
    tz = os.environ.get("TZ", "").lstrip(":").strip()
    if "/" in tz and not tz.startswith("/"):
        return tz
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    except OSError:
        pass
    target = os.path.realpath("/etc/localtime")
    if "zoneinfo/" in target:
        return target.split("zoneinfo/", 1)[1]
    return None


def timezone_info() -> dict[str, str]:
    bias = _bias(datetime.now().astimezone())
    return {"name": timezone_name() or f"UTC{bias}", "bias": bias}


def product_info() -> dict[str, str]:
    return {"name": PRODUCT, "version": f"v{__version__} ({struct.calcsize('P') * 8}-bit)"}


MAX_CHANNELS = 64  # no licence limit: the cores are (README "Measured": about 4 channels × 5 frames/s on 2 cores)


def license_info() -> dict[str, Any]:
    """What platehub offers: plate recognition (also on video channels) and emergency-call reception,
    no LPR zones licensed apart, object/face detection, traffic count or speed; no licence key."""
    return {"type": "genuine", "maxChannels": MAX_CHANNELS, "nLprZone": 0, "nChObjDetection": 0,
            "nChFaceRecognition": 0, "nChTrafficCount": 0, "nChSpeedometer": 0, "mediaType": "Software",
            "extension": ["lprExt", "emergencyCall"]}


def who_am_i(user: User) -> dict[str, Any]:
    granted = {r: user.is_admin or r in user.rights for r in RIGHTS}
    return {"uid": user.login, "name": user.login, "accessRights2": granted,
            "accessRights": [r for r in RIGHTS if granted[r]]}


def public_info(item: str, settings: Settings) -> Any:
    return {"apiVersion": lambda: API_VERSION, "siteName": lambda: quote(settings.site_name, safe=""),
            "timezone": timezone_info, "product": product_info, "license": license_info}[item]()


_user = user_in


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _sign_in_login(request: Request, users: UserRepo, throttle: FailedSignIns, encoded: str, lang: str,
                         ) -> User:
    """`login=`: the same checks and slow-down of failures as HTTP Basic / `auth=` (auth.sign_in)."""
    client = _address(request) or "?"
    wait = throttle.wait(client)
    if wait > 0:
        after = throttle.retry_after(wait)
        raise TsApiError(429, f"Too many failed sign-ins; try again in {after} s.", {"Retry-After": after})
    user, login, problem = None, None, ""
    try:
        login, password = decode_pair(encoded)
    except BadCredentials as e:
        problem = str(e)
    else:
        user = await run_in_threadpool(users.verify, login, password)
    if user is None:
        delay = throttle.failed(client)
        log.warning("TS-API sign-in refused for %r from %s: %s%s", login, client, problem or "wrong user or password",
                    f"; client blocked for {delay:g} s" if delay else "")
        raise TsApiError(401, messages.text("wrong_credentials", lang) if not problem
                         else f"Unreadable credentials: {problem}.")
    throttle.succeeded(client)
    return user


def _items(request: Request, known: tuple[str, ...]) -> list[str]:
    return [k for k in request.query_params if k in known]


def _list_param(raw: str | None, supported: tuple[str, ...], lang: str,
                aliases: dict[str, str] | None = None) -> list[str] | None:
    """`info=os,cpu` → items; None for `supported`; every item for empty/`all`; 400 for unknown ones."""
    if raw is None or raw.strip() in ("", "all"):
        return list(supported)
    if raw.strip() == "supported":
        return None
    out = []
    for part in raw.split(","):
        item = (aliases or {}).get(part.strip(), part.strip())
        if item == "all":
            return list(supported)
        if item not in supported:
            raise TsApiError(400, messages.text("unknown_item", lang, item=part.strip(),
                                                supported=", ".join((*supported, "all"))))
        if item not in out:
            out.append(item)
    return out


def _lpr_sources(store: Store) -> list[dict[str, Any]]:
    """Every device that sent reads, then the video channels that have not read one yet; a channel's
    entry links its channel and gives its recognition zone (as TS-LPR's built-in recognition)."""
    devices = sorted(store.devices.list(), key=lambda d: (d.first_seen, d.code))
    channels = {c.name: c for c in store.channels.list()}
    out = [{"id": i, "code": d.code, "name": d.name or d.code, "linkedChannel": [], "tag": "Normal",
            "online": d.online, "protocol": d.protocol}
           for i, d in enumerate(devices, 1)]
    for item, d in zip(out, devices, strict=True):
        lots = parking.parking_lot_json(d)  # the guide's parkingLot {entrance, exit} of a mapped source
        if lots:
            item["parkingLot"] = lots
        if d.protocol == "video" and d.code in channels:
            item.update(channelcodec.lpr_source(channels.pop(d.code)))
    for c in channels.values():
        out.append({"id": len(out) + 1, "code": c.name, "name": c.name, "linkedChannel": [], "tag": "Normal",
                    "online": False, "protocol": "video", **channelcodec.lpr_source(c)})
    return out


def _parking_lots(service: parking.ParkingService) -> dict[str, list[dict[str, Any]]]:
    lots = service.all()
    return {kind: [parking.lot_json(lot) for lot in lots if lot.type == kind] for kind in ("counter", "group")}


def _emergency_sources(eventlog: core_eventlog.EventLog) -> list[dict[str, Any]]:
    sources = eventlog.repo.sources(core_eventlog.EMERGENCY)
    return [{"id": i, "code": src, "name": entry.details.get("device") or src, "linkedChannel": []}
            for i, (src, entry) in enumerate(sources, 1)]


router = APIRouter(tags=["TS-API"])


def refuse_cross_site(request: Request, settings: Settings, lang: str) -> None:
    if cross_site(request, settings.allowed_origins):
        log.warning("TS-API sign-in/out from another site's page refused (%s, Origin %s, Referer %s)",
                    _address(request), request.headers.get("origin"), request.headers.get("referer"))
        raise TsApiError(403, messages.text("cross_site", lang))


@router.get("/api/auth", summary="Sign in (login= or auth= or HTTP Basic) / sign out (logout) (TS-API)")
async def auth(request: Request, settings: SettingsDep, store: StoreDep, eventlog: EventLogDep,
               throttle: SignInsDep) -> Response:
    lang = messages.lang_of(request)
    q = request.query_params
    opened = store.sessions  # blocking: called off the event loop
    old = request.cookies.get(COOKIE)
    if "logout" in q:
        refuse_cross_site(request, settings, lang)
        user = await run_in_threadpool(opened.close, old)
        if user is not None:
            await run_in_threadpool(eventlog.signed_out, user.login, _address(request))
        resp = respond(request, {"code": 0, "message": messages.text("signed_out" if user else "not_signed_in",
                                                                     lang)})
        resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return resp
    if "login" in q:
        refuse_cross_site(request, settings, lang)
        user, via = await _sign_in_login(request, store.users, throttle, q["login"], lang), "login"
    else:
        try:
            sent = credentials(request) is not None
        except BadCredentials:
            sent = True  # sign_in reports them
        if not sent:  # nothing to sign in with: say whether the session is alive
            if await session_user(request) is None:
                raise TsApiError(401, messages.text("auth_required", lang))
            return respond(request, {"code": 0, "message": messages.text("signed_in", lang)})
        refuse_cross_site(request, settings, lang)
        try:
            user = await sign_in(request)
        except SignInRefused as e:
            raise TsApiError(e.status, messages.translate(e.message, lang), e.headers) from None
        via = "auth" if "auth" in q else "basic"
    if old:
        await run_in_threadpool(opened.close, old)
    token = await run_in_threadpool(opened.open, user)
    await run_in_threadpool(eventlog.signed_in, user.login, _address(request), via)
    resp = respond(request, {"code": 0, "message": messages.text("signed_in", lang)})
    resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                    secure=request.url.scheme == "https")
    return resp


@router.get("/api/info", summary="Server information: apiVersion, siteName, timezone, product, license, whoAmI, all")
async def info(request: Request, settings: SettingsDep) -> Response:
    lang = messages.lang_of(request)
    items = _items(request, (*PUBLIC_INFO, "whoAmI", "all"))
    if not items:
        raise TsApiError(400, messages.text("no_item", lang, supported=", ".join((*PUBLIC_INFO, "whoAmI", "all"))))
    everything = "all" in items
    wanted = [*PUBLIC_INFO, "whoAmI"] if everything else items
    data = {item: public_info(item, settings) for item in wanted if item in PUBLIC_INFO}
    if "whoAmI" in wanted:
        try:
            user = await _user(request, lang)
        except TsApiError as e:
            if everything and e.status == 401:  # spec: the public items with 401, without whoAmI
                return respond(request, data, 401, e.headers)
            raise
        data["whoAmI"] = who_am_i(user)
    return respond(request, data)


@router.get("/api/system", summary="Host information (info), health, hddsmart; restart/reboot (admin)")
async def system(request: Request) -> Response:
    lang = messages.lang_of(request)
    q = request.query_params
    if "restart" in q or "reboot" in q:
        await _user(request, lang, admin=True)
        raise TsApiError(501, messages.text("restart_unsupported", lang))
    await _user(request, lang)
    if "health" in q:
        items = _list_param(q.get("health"), system_info.HEALTH_ITEMS, lang)
        if items is None:
            return respond(request, [*system_info.HEALTH_ITEMS, "all"])
        return respond(request, await run_in_threadpool(system_info.system_health, items))
    if "hddsmart" in q:
        raw = q.get("hddsmart") or ""
        try:
            numbers = [int(p) for p in raw.split(",") if p.strip()] or None
        except ValueError:
            raise TsApiError(400, messages.text("bad_param", lang, name="hddsmart", value=raw)) from None
        return respond(request, await run_in_threadpool(system_info.smart, numbers))
    items = _list_param(q.get("info"), system_info.INFO_ITEMS, lang, system_info.ALIASES)
    if items is None:
        return respond(request, [*system_info.INFO_ITEMS, "all"])
    return respond(request, await run_in_threadpool(system_info.system_info, items))


@router.get("/api/enum", summary="Enumerations: channel, lprSrc, emergencyCall, eventType, parkingLot, "
            "realtimeEvent, objectType, objectAttr")
async def enum(request: Request, store: StoreDep, lots: ParkingDep, eventlog: EventLogDep) -> Response:
    """`what=channel` (with `staticSrc`, `caps`; `ch=`) lists the video channels (tsapi/channels.py)."""
    lang = messages.lang_of(request)
    await _user(request, lang)
    what = request.query_params.get("what")
    if what not in ENUM_ITEMS:
        raise TsApiError(400, messages.text("unknown_item", lang, item=what or "",
                                            supported=", ".join(ENUM_ITEMS)))
    if what == "channel":
        q = request.query_params
        return respond(request, [channelcodec.enum_item(c, "staticSrc" in q, "caps" in q)
                                 for c in await channels.listed(request, store, lang)])
    if what == "lprSrc":
        return respond(request, await run_in_threadpool(_lpr_sources, store))
    if what == "emergencyCall":
        return respond(request, await run_in_threadpool(_emergency_sources, eventlog))
    if what == "eventType":
        return respond(request, event_types(lang))
    if what == "parkingLot":
        return respond(request, await run_in_threadpool(_parking_lots, lots))
    if what == "realtimeEvent":
        return respond(request, list(events.TOPICS))  # what /wsapi/subscribeEvents accepts
    if what == "objectType":
        return respond(request, [])  # platehub reads plates; it has no object detector
    return respond(request, {})  # objectAttr: no object types, so no attributes
