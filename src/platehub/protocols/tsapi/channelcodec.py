"""Video channels in the TS-API guide's shapes (spec 004): pure functions, no I/O.

`chid` is the channel's stored id (numbers from 1, as the guide's; a removed channel's number is not
reused). Status codes are the guide's list ("Request channel status @0.3.0"); platehub's states map
onto them as follows (the guide gives the codes, not when a server uses which):

    disabled                          -1  Not used
    connecting, first attempt         -3  On connecting
    connecting after a failure        -4  On reconnecting
    online                           200  Connected
    stalled (connected, no frame)    410  No video input
    offline, could not open          404  No network connection (a camera that does not answer, no file)
    offline, the stream stopped      408  Camera response timeout (lost signal; a file channel at its end)

Status messages come with `verbose` only (the guide's "verbose: request status messages"), on the
socket as in `/api/status`. platehub's channels have no PTZ, presets, relays, AUX or reboot (`caps` all false/0), and no
restreamed sources of their own here (`staticSrc` gives `src: []`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Any
from urllib.parse import quote, urlsplit

from platehub.core.redact import redact_url
from platehub.core.store.channels import Channel
from platehub.protocols.tsapi import messages
from platehub.protocols.tsapi.events import CHANNEL_STATUS, timestamp
from platehub.video.sources import is_file
from platehub.video.status import ADDED, REMOVED, RENAMED, SOURCE, ChannelStatus
from platehub.video.zones import LOGICAL_H, LOGICAL_W

NOT_USED, CONNECTING, RECONNECTING, CONNECTED, NO_NETWORK, TIMEOUT, NO_VIDEO = -1, -3, -4, 200, 404, 408, 410
CODES = {  # the guide's whole list, with the catalogue key of each message
    -5: "rebooting", -4: "reconnecting", -3: "connecting", -2: "loading", -1: "not_used", 0: "no_response",
    1: "used", 2: "has_video", 200: "connected", 401: "login_failed", 403: "blocked", 404: "no_network",
    408: "timeout", 410: "no_video", 503: "service_failure", 1000: "playback_complete", 1404: "no_file",
}
OPEN_FAILURES = ("could not open", "no such file")  # video/sources.py: the source never opened
CAPS = {"pantilt": False, "zoom": False, "focus": False, "iris": False, "home": False, "maxPreset": 0, "aux": 0,
        "digitalInputs": 0, "relayOutputs": 0, "reboot": False}


def status_code(s: ChannelStatus) -> int:
    if s.state == "disabled":
        return NOT_USED
    if s.state == "online":
        return CONNECTED
    if s.state == "stalled":
        return NO_VIDEO
    if s.state == "offline":
        return NO_NETWORK if (s.last_error or "").lower().startswith(OPEN_FAILURES) else TIMEOUT
    return RECONNECTING if s.last_error or s.frames_read else CONNECTING


def status_json(s: ChannelStatus, verbose: bool, lang: str | None) -> dict[str, Any]:
    code = status_code(s)
    out: dict[str, Any] = {"code": code}
    if verbose:
        out["message"] = messages.text(f"channel.{CODES[code]}", lang)
    return out


def display_name(c: Channel) -> str:
    return f"CH{c.id}. {c.name}" if c.name else f"CH{c.id}"


def channel_item(c: Channel) -> dict[str, Any]:
    """An `/api/enum?what=channel` item."""
    return {"chid": c.id, "title": c.name, "displayName": display_name(c)}


def source_type(c: Channel) -> str:
    """The guide's channel `type` ("rtsp", "onvif", "file"); HTTP streams are "http" (not in the guide)."""
    if is_file(c.url):
        return "file"
    return "rtsp" if c.url.lower().startswith(("rtsp://", "rtsps://")) else "http"


def enum_item(c: Channel, static_src: bool, caps: bool) -> dict[str, Any]:
    out = channel_item(c)
    if static_src:
        out["src"] = []
    if caps:
        out["caps"] = dict(CAPS)
    return out


def lpr_source(c: Channel) -> dict[str, Any]:
    """What a channel adds to its `/api/enum?what=lprSrc` entry: its channel linked, its zone (the
    bounding rectangle of its recognition zones, 8K logical coordinates; the whole view without one),
    "NotUsed" while disabled."""
    points = [p for poly in c.zones for p in poly]
    rect = [min(x for x, _ in points), min(y for _, y in points), max(x for x, _ in points),
            max(y for _, y in points)] if points else [0, 0, LOGICAL_W, LOGICAL_H]
    return {"linkedChannel": [c.id], "tag": "Normal" if c.enabled else "NotUsed",
            "zone": {"id": 0, "chid": c.id, "rect": [round(v) for v in rect], "mode": "driving",
                     "disabledOnly": False, "noParkingAllowed": False}}


def info_item(c: Channel, caps_only: bool) -> dict[str, Any]:
    """An `/api/channel/info` item: `{chid, type, caps}` (no ONVIF device information: none is one)."""
    if caps_only:
        return {"chid": c.id, "caps": dict(CAPS)}
    return {"chid": c.id, "type": source_type(c), "caps": dict(CAPS)}


def status_item(c: Channel, s: ChannelStatus, verbose: bool, lang: str | None) -> dict[str, Any]:
    """An `/api/status` item."""
    return {"chid": c.id, "status": status_json(s, verbose, lang)}


def current_status(channels: list[tuple[Channel, ChannelStatus]], now: datetime, verbose: bool,
                   lang: str | None) -> dict[str, Any]:
    """The `channelStatus` topic's first message: every channel asked for, as it is now. The guide
    includes `title` when `verbose`; platehub always does (a client cannot name a channel otherwise)."""
    return {"timestamp": timestamp(now), "topic": CHANNEL_STATUS, "event": "currentStatus",
            "channel": [{**channel_item(c), "status": status_json(s, verbose, lang), "caps": dict(CAPS), "src": []}
                        for c, s in channels]}


def change(kind: str, c: Channel, s: ChannelStatus, now: datetime, verbose: bool,
           lang: str | None) -> dict[str, Any]:
    """A `channelStatus` event for a ChannelEvent (video/status.py) of `kind`."""
    head = {"timestamp": timestamp(now), "topic": CHANNEL_STATUS}
    if kind == ADDED:
        return {**head, "event": "channelAdded", "chid": c.id}
    if kind == REMOVED:
        return {**head, "event": "channelRemoved", "chid": c.id}
    if kind == RENAMED:
        return {**head, "event": "nameChanged", "chid": c.id, "name": c.name, "displayName": display_name(c)}
    if kind == SOURCE:
        return {**head, "event": "videoSrcModified", "chid": c.id}
    return {**head, "event": "statusChanged", "chid": c.id, "status": status_json(s, verbose, lang)}


class Refused(ValueError):
    """An item of `POST /api/channel` that cannot be added: the guide's code, and why."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _with_login(url: str, uid: Any, password: Any) -> str:
    """`uid` / `password` put into an RTSP URL's user part (URL-quoted)."""
    if not uid or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    user = quote(str(uid), safe="") + (":" + quote(str(password), safe="") if password else "")
    return f"{scheme}://{user}@{rest.split('@', 1)[-1]}"


def _default_name(url: str) -> str:
    if is_file(url):
        return PurePath(url.removeprefix("file://")).name or url
    return urlsplit(url).hostname or url


def new_channel(item: Any, taken: set[int]) -> dict[str, Any]:
    """The fields (video/channels.py) of one `POST /api/channel` item: `source` (required), `name`
    (default: the camera's host or the file's name), `uid`/`password` (into the URL), `chid` (refused
    when in use: -1; a free one is not honoured, numbers are assigned by the store), `device` (an ONVIF
    camera: its `url` is required, -3, but platehub reads the `source` stream only), `tcp` (platehub
    always asks for TCP) and `playback` (a file channel always repeats) are accepted as given."""
    if not isinstance(item, dict):
        raise Refused(-2, "Each channel is a JSON object with a source.")
    source = item.get("source")
    if not isinstance(source, str) or not source.strip():
        raise Refused(-2, "source is required.")
    device = item.get("device")
    if device is not None and not (isinstance(device, dict) and isinstance(device.get("url"), str)
                                   and device["url"].strip()):
        raise Refused(-3, "device: url is required.")
    chid = item.get("chid")
    if isinstance(chid, int) and not isinstance(chid, bool) and chid in taken:
        raise Refused(-1, f"Channel {chid} is in use.")
    url = _with_login(source.strip(), item.get("uid"), item.get("password"))
    name = item.get("name") if isinstance(item.get("name"), str) and item["name"].strip() else _default_name(url)
    return {"name": name, "url": url}


def added_item(c: Channel) -> dict[str, Any]:
    """An `added` entry: the number given, and the source without its password."""
    out: dict[str, Any] = {"chid": c.id, "name": c.name, "type": source_type(c), "source": redact_url(c.url)}
    if out["type"] == "file":
        out["playback"] = "repeat"
    else:
        out["tcp"] = True
    return out


def outcome(done: int, failed: int, lang: str | None, kind: str) -> dict[str, Any]:
    """The `status` of `POST /api/channel` (kind "added") or `DELETE /api/channel/…` ("deleted"). The
    guide's table gives -9 / -10 for deletions that partly / wholly failed (its examples show -5 / -6,
    the codes of additions: the table is followed)."""
    if not failed:
        code, key = 0, kind
    elif done:
        code, key = (-5 if kind == "added" else -9), f"some_{kind}"
    else:
        code, key = (-6 if kind == "added" else -10), f"none_{kind}"
    return {"code": code, "message": messages.text(f"channels.{key}", lang)}
