"""TS-API real-time event messages (spec 004, "Real-time event monitoring"): pure functions from
domain records to the JSON objects `/wsapi/subscribeEvents` sends. No I/O here.

An LPR message has `chid` only for a read from a video channel (with `src`, the recording at the
moment, when the channel records) and gives `linkedChannel` as an empty list; `parkingLot` is there
when the source is mapped to parking lots; `image` is the read's plate crop (else whole image) at
`/api/image/{id}/plate|full` when one was kept; everything else the read knows is filled in."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from platehub.core.read import Read, image_path, normalize_plate
from platehub.core.store.channels import Channel
from platehub.protocols.tsapi import hls
from platehub.video.recorder import RecordingState

LPR = "LPR"
CHANNEL_STATUS = "channelStatus"
EMERGENCY_CALL = "emergencyCall"
SYSTEM_EVENT = "systemEvent"
MOTION_CHANGES = "motionChanges"
PARKING_COUNT = "parkingCount"
PACKING = "packing"
RECORDING_STATUS = "recordingStatus"
OBJECT = "object"
BODY_TEMPERATURE = "bodyTemperature"  # named by the guide's "Body Temperature Event @0.9.14" (topics=bodyTemperature)
# Every topic the guide names; those without a source in platehub are accepted and stay silent.
TOPICS = (CHANNEL_STATUS, LPR, EMERGENCY_CALL, SYSTEM_EVENT, MOTION_CHANGES, PARKING_COUNT, PACKING,
          RECORDING_STATUS, OBJECT, BODY_TEMPERATURE)
_BY_LOWER = {t.lower(): t for t in TOPICS}
MAX_UNSUPPORTED = 20  # unknown topic names echoed in the first message (each cut to 40 characters)

_DIRECTIONS = {"entry": "entry", "in": "entry", "exit": "exit", "out": "exit"}


class UnknownTopic(ValueError):
    pass


def _names(raw: str | None) -> list[str]:
    names = [t.strip() for t in (raw or "").split(",") if t.strip()]
    if not names:
        raise UnknownTopic("The topics parameter is required, e.g. topics=LPR.")
    return names


def parse_topics(raw: str | None) -> list[str]:
    """`topics=LPR,emergencyCall` → the guide's topic names, in order, without repeats (matched
    case-insensitively). Names it does not know are left out (`unsupported_topics` lists them):
    the guide disconnects for one, but one topic a server has no source for must not cost a
    client the topics it does serve. Raises UnknownTopic when no topic is given."""
    return list(dict.fromkeys(_BY_LOWER[n.lower()] for n in _names(raw) if n.lower() in _BY_LOWER))


def unsupported_topics(raw: str | None) -> list[str]:
    """The names in `topics=` that are no topic of the guide (as given, cut to 40 characters)."""
    unknown = dict.fromkeys(n[:40] for n in _names(raw) if n.lower() not in _BY_LOWER)
    return list(unknown)[:MAX_UNSUPPORTED]


def parse_channels(raw: str | None) -> frozenset[int] | None:
    """`ch=1,2` → {1, 2}; None when not given (all channels). Raises ValueError on a non-number."""
    if raw is None or not raw.strip():
        return None
    try:
        return frozenset(int(c) for c in raw.split(",") if c.strip())
    except ValueError:
        raise ValueError("ch must be channel numbers separated by commas, e.g. ch=1,2.") from None


def parse_flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("true", "1", "yes", "on")


def timestamp(when: datetime) -> str:
    """ISO 8601 with milliseconds in the server's local offset, as the guide's examples."""
    return when.astimezone().isoformat(timespec="milliseconds")


def subscriber(topics: Iterable[str], subscriber_id: str | None = None,
               unsupported: Iterable[str] = ()) -> dict[str, Any]:
    """The first message of every accepted socket. Topics that are not the guide's are named in
    `unsupportedTopics` with a `message` (platehub's addition; the socket stays open for the others)."""
    out: dict[str, Any] = {"subscriberId": subscriber_id or str(uuid.uuid4()), "topics": list(topics)}
    unknown = list(unsupported)
    if unknown:
        out["unsupportedTopics"] = unknown
        out["message"] = (f"Unsupported topic{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                          "Nothing is sent for them; the other topics are served.")
    return out


def ping(now: datetime) -> dict[str, Any]:
    """The keep-alive message sent when nothing else was sent for a while (the guide says only
    "a ping message every 30 seconds"; browsers cannot see protocol pings, so it is a message)."""
    return {"timestamp": timestamp(now), "topic": "ping"}


def direction(value: str | None) -> str | None:
    """The read's direction as the guide's "entry" / "exit"; None when unknown."""
    return _DIRECTIONS.get((value or "").strip().lower())


def image_url(read: Read, base_url: str) -> str | None:
    """Where the read's kept image is served (protocols/tsapi/images.py); None when none was kept."""
    path = image_path(read)
    return base_url.rstrip("/") + path if path else None


def channel_ref(channel: Channel, read: Read, base_url: str | None) -> dict[str, Any]:
    """The `chid` of an LPR event read from a video channel; `src` (a recording channel's only) is its
    video at the moment the vehicle was first seen (platehub's reading: the guide's example uses the
    recognition time, when the vehicle may have left the view)."""
    out: dict[str, Any] = {"chid": channel.id, "title": channel.name, "displayName": f"CH{channel.id}. {channel.name}"}
    if channel.recording != "off" and base_url:
        out["src"] = hls.watch_url(base_url, channel.id, when=timestamp(read.first_seen))
    return out


def lpr(read: Read, device_name: str | None = None, base_url: str | None = None,
        parking_lot: dict[str, int] | None = None, lot_direction: str | None = None,
        channel: Channel | None = None) -> dict[str, Any]:
    """A stored (or updated) read as a "Car number recognition event"; `parking_lot` ({entrance, exit})
    and `lot_direction` (entry / exit) when its source is mapped to parking lots (core/parking.py);
    `channel`: the video channel it was read from (`chid`, with the link to its recording)."""
    when = read.last_seen or read.first_seen
    msg: dict[str, Any] = {"timestamp": timestamp(when)}
    if channel is not None:
        msg["chid"] = channel_ref(channel, read, base_url)
    msg |= {
        "deviceCode": read.source or "",
        "deviceName": device_name or read.source or "",
        "linkedChannel": [],
    }
    image = image_url(read, base_url) if base_url else None
    if image:
        msg["image"] = image
    msg["plateNo"] = normalize_plate(read.plate or read.plate_raw)
    if read.score is not None:
        msg["score"] = max(0, min(100, round(read.score * 100)))
    box = read.box
    if box is not None and box.xmax > box.xmin and box.ymax > box.ymin:
        msg["roi"] = {"offset": [box.xmin, box.ymin], "size": [box.xmax - box.xmin, box.ymax - box.ymin]}
    msg["timeBegin"] = timestamp(min(read.first_seen, when))
    msg["topic"] = LPR
    if parking_lot:
        msg["parkingLot"] = parking_lot
    moving = direction(read.direction) or lot_direction
    if moving:
        msg["direction"] = moving
    return msg


def parking_count(lots: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A "Parking Count Event": `lots` as /api/enum?what=parkingLot gives them (core.parking.lot_json)."""
    return {"timestamp": timestamp(now), "topic": PARKING_COUNT, "updated": lots}


def recording_channel(state: RecordingState) -> dict[str, Any]:
    """One channel of a "Recording Status Event" (`timestampRecordingFailure` only while it fails)."""
    out: dict[str, Any] = {"chid": state.channel_id, "streaming": state.streaming, "recording": state.recording}
    if state.failed_at is not None and not state.recording:
        out["timestampRecordingFailure"] = timestamp(state.failed_at)
    return out


def recording_status(states: Iterable[RecordingState], now: datetime, current: bool) -> dict[str, Any]:
    """A "Recording Status Event": every channel first (`currentStatus`), then each change (`statusChanged`)."""
    return {"timestamp": timestamp(now), "topic": RECORDING_STATUS,
            "event": "currentStatus" if current else "statusChanged",
            "channel": [recording_channel(s) for s in states]}


def system_event(item: dict[str, Any]) -> dict[str, Any]:
    """An event log entry, as the event log search gives it (`id`, `type`, `typeName`, `code`,
    `codeName`, `timeRange`, `param`, `comment`), as a "System event"."""
    return {"topic": SYSTEM_EVENT, **{k: v for k, v in item.items() if k != "topic"}}


def _reformat(when: Any) -> str:
    """A time given as ISO 8601 text in the guide's form (milliseconds, local offset); text that
    is not ISO 8601 is passed on as it is."""
    if isinstance(when, datetime):
        return timestamp(when)
    try:
        parsed = datetime.fromisoformat(str(when))
    except ValueError:
        return str(when or "")
    return timestamp(parsed) if parsed.tzinfo else parsed.isoformat(timespec="milliseconds")


def emergency_call(payload: dict[str, Any], verbose: bool = False) -> dict[str, Any]:
    """An `emergency.call` bus payload (a TS-API push event) as an "Emergency call event".

    platehub links no video channels, so `linkedChannel` is empty (and `verbose` adds nothing)."""
    return {
        "timestamp": _reformat(payload.get("when")),
        "caller": str(payload.get("src") or ""),
        "device": payload.get("device") or "",
        "event": payload.get("event"),
        "linkedChannel": [],
        "name": str(payload.get("name") or payload.get("src") or ""),
        "topic": EMERGENCY_CALL,
    }
