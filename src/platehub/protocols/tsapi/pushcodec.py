"""TS-API push (spec 004, "Pushing events to the server"): the body's events, checked one by one,
turned into domain records; and the protocol's error bodies.

The guide answers success with 200 and no content, and errors with an HTTP status only; where it
gives JSON results they are {"code": 0 | negative, "message": ...} (0 success, -1 no user rights,
-2 invalid parameters). platehub's push errors use that shape with those codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from platehub.core.read import Read, normalize_plate
from platehub.protocols import jsondepth

LPR = "LPR"
EMERGENCY_CALL = "emergencyCall"
TOPICS = {t.lower(): t for t in (LPR, EMERGENCY_CALL)}
CALL_EVENTS = ("callStart", "callEnd")
MAX_EVENTS = 1000  # per request
CODE_NO_RIGHTS = -1  # not signed in, wrong credentials, too many failures
CODE_INVALID = -2  # the body or one of its events is unusable

_SRC_MAX = 128  # devices.code
_PLATE_MAX = 64  # reads.plate_raw


class PushError(ValueError):
    """The body as a whole is unusable (nothing in it was accepted)."""


@dataclass(frozen=True)
class LprEvent:
    src: str
    plate_no: str
    when: datetime  # aware; the receive time when the sender gave none
    when_given: bool
    time_begin: datetime | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class EmergencyCall:
    src: str
    event: str  # callStart | callEnd
    device: str | None
    camera: str | None
    when: datetime
    raw: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    index: int  # position in the array (0 for a single object)
    message: str


def error(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def parse_body(body: bytes) -> list[Any]:
    """The body's events: one JSON object or an array of them, UTF-8 (a BOM is allowed)."""
    if not body.strip():
        raise PushError("The body is empty; send one event object or an array of them.")
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PushError("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as e:
        raise PushError(f"The body is not JSON: {e}.") from None
    except RecursionError:
        raise PushError("The body is not JSON: nested too deeply.") from None
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS:
        raise PushError(f"Too many events ({len(items)}); send at most {MAX_EVENTS} per request.")
    return items


def parse_time(value: Any, name: str) -> datetime | None:
    """ISO 8601 (`2018-02-01T14:30:15-05:00`); without an offset it is the server's local time, as
    TS-API's own times are. Missing, null or "" → None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.strip()) <= 10:
        raise ValueError(f"`{name}` must be an ISO 8601 date and time, e.g. 2018-02-01T14:30:15-05:00")
    try:
        ts = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"`{name}` is not an ISO 8601 date and time: {value!r}") from None
    try:  # 0001-01-01T00:00:00+14:00 is before the first representable UTC time
        ts = ts if ts.tzinfo is not None else ts.astimezone()
        ts.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"`{name}` is out of range: {value!r}") from None
    return ts


def _text(item: dict, name: str, limit: int, required: bool = True) -> str | None:
    value = item.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(f"`{name}` is missing")
        return None
    if not isinstance(value, str):
        raise ValueError(f"`{name}` must be a string")
    if len(value) > limit:
        raise ValueError(f"`{name}` is longer than {limit} characters")
    return value.strip()


def parse_event(item: Any, received_at: datetime) -> LprEvent | EmergencyCall:
    """One event; raises ValueError with what is wrong with it."""
    if not isinstance(item, dict):
        raise ValueError("an event must be a JSON object")
    if jsondepth.too_deep(item):  # stored as sent: copying it must not overflow the stack
        raise ValueError(f"the event is {jsondepth.message()}")
    topic = TOPICS.get(str(item.get("topic", "")).lower())
    if topic is None:
        raise ValueError(f"`topic` must be {LPR} or {EMERGENCY_CALL}, not {item.get('topic')!r}")
    src = _text(item, "src", _SRC_MAX)
    when = parse_time(item.get("when"), "when")
    if topic == LPR:
        plate_no = _text(item, "plateNo", _PLATE_MAX)
        if not normalize_plate(plate_no):
            raise ValueError("`plateNo` has no letters or digits")
        return LprEvent(src, plate_no, when or received_at, when is not None,
                        parse_time(item.get("timeBegin"), "timeBegin"), item)
    event = _text(item, "event", 16)
    if event not in CALL_EVENTS:
        raise ValueError(f"`event` must be callStart or callEnd, not {event!r}")
    camera = item.get("camera")
    if isinstance(camera, list):  # forgiving: [1, 2] for "1,2"
        camera = ",".join(str(c) for c in camera)
    if camera is not None and not isinstance(camera, str | int):
        raise ValueError("`camera` must be a list of cameras like \"1,2,3,4\"")
    return EmergencyCall(src, event, _text(item, "device", 255, required=False),
                         None if camera is None else str(camera), when or received_at, item)


def parse_events(items: list[Any], received_at: datetime) -> tuple[list[LprEvent | EmergencyCall], list[Rejected]]:
    events, rejected = [], []
    for i, item in enumerate(items):
        try:
            events.append(parse_event(item, received_at))
        except ValueError as e:
            rejected.append(Rejected(i, str(e)))
    return events, rejected


def source_key(event: LprEvent) -> str | None:
    """The sender's identity of the read: src + when + plateNo. Without a `when` of its own a
    resent event cannot be told from a new one, so it gets none (and is always stored)."""
    if not event.when_given:
        return None
    return f"{event.src}:{event.when.astimezone(UTC).isoformat()}:{event.plate_no}"


def to_read(event: LprEvent, received_at: datetime) -> Read:
    when = event.when.astimezone(UTC)
    first = min(event.time_begin.astimezone(UTC), when) if event.time_begin else when
    return Read(plate=normalize_plate(event.plate_no), plate_raw=event.plate_no, protocol="push",
                source=event.src, source_key=source_key(event), first_seen=first, last_seen=when,
                received_at=received_at, raw=event.raw)


def emergency_payload(event: EmergencyCall) -> dict[str, Any]:
    """The bus payload: the event as TS-API sends it, `when` filled in with the receive time (in the
    server's offset) when the sender left it out."""
    when = event.raw.get("when") or event.when.astimezone().isoformat(timespec="milliseconds")
    return {**event.raw, "topic": EMERGENCY_CALL, "src": event.src, "event": event.event,
            "device": event.device, "camera": event.camera, "when": when}


def rejected_body(rejected: list[Rejected], accepted: int) -> dict[str, Any]:
    n = len(rejected)
    message = f"{n} of {n + accepted} events rejected, {accepted} accepted."
    return error(CODE_INVALID, message, accepted=accepted,
                 rejected=[{"index": r.index, "message": r.message} for r in rejected])
