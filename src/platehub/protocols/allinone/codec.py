"""Wire format of the all-in-one cameras' HTTP push (spec 001): bytes → frozen dataclasses, and the
server's `Response_AlarmInfoPlate` replies built from domain objects. No I/O, no business rules.

Readings of the spec chosen here (the manual is machine-translated and its examples are sloppy):

- Bodies are JSON in UTF-8 whatever the Content-Type says; a body that is not UTF-8 is read as GB18030
  (a superset of the GB2312 the cameras use for plates). Trailing NUL bytes are ignored.
- `serialno` and `serialNo` are both accepted; `plateid`, `isoffline`, `gioouts` and `timeStamp` are
  looked for in `PlateResult` first, then in `result` and `AlarmInfoPlate` (the examples disagree).
- `Timeval.usec` is microseconds (the example's 672241), although the table says milliseconds. When
  `sec` is missing the `dec*` fields are read as the server's local time (the camera's clock zone is
  not sent); with no `timeStamp` at all ("briefly" detail) the read is dated when it was received.
- `license` "_无_" (also "无", "无牌", "无车牌", empty) means "no plate found": it still becomes a read,
  with plate "" and the text as sent in `plate_raw`, so nothing the camera sent is lost.
- base64 fields are decoded leniently (missing padding, as in the spec's own "Y2guY29tFw").
- `imagePath` is kept exactly as sent (URL-encoded, possibly GB2312 bytes); `decode_image_path` reads it.
"""

from __future__ import annotations

import binascii
import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
import pybase64

from platehub.core.read import Box, Read, normalize_plate
from platehub.core.store.camera_lists import CameraEntry
from platehub.core.store.devices import Command
from platehub.protocols import jsondepth

PROTOCOL = "allinone"
NO_PLATE = frozenset({"", "_无_", "无", "_无牌_", "无牌", "无车牌", "_无车牌_"})
DIRECTIONS = {1: "left", 2: "right", 3: "up", 4: "down"}  # 0: unknown
IMAGE_FIELDS = ("imageFile", "imageFragmentFile")
PASSWORD_FIELDS = frozenset({"pass_wd", "password", "passwd", "pwd", "pass"})
MAX_WHITELIST = 5  # spec 7.5: "Single reply message, up to 5 whitelist data"
MAX_SERIAL = 8  # serial messages per reply (the spec sets no limit; the camera's buffer is unknown)
# column sizes of the reads table
_PLATE_LEN, _RAW_LEN, _SOURCE_LEN = 32, 64, 128


class BadMessage(ValueError):
    """The body is not a message of this protocol; the reply must not open the gate."""


# ---------------------------------------------------------------------------------------------- parsing helpers


class _Fields:
    """Lenient field access that notes what was wrong instead of failing."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def num(self, obj: Mapping[str, Any] | None, key: str) -> int | None:
        if not isinstance(obj, Mapping) or key not in obj or obj[key] is None or obj[key] == "":
            return None
        value = obj[key]
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(float(str(value).strip()))
        except (TypeError, ValueError, OverflowError):
            self.problems.append(f"{key}: not a number ({str(value)[:40]!r})")
            return None

    def text(self, obj: Mapping[str, Any] | None, *keys: str) -> str | None:
        if not isinstance(obj, Mapping):
            return None
        for key in keys:
            value = obj.get(key)
            if value is None:
                continue
            if isinstance(value, (dict, list)):
                self.problems.append(f"{key}: not a string")
                continue
            return str(value)
        return None

    def obj(self, obj: Mapping[str, Any] | None, key: str) -> dict[str, Any] | None:
        if not isinstance(obj, Mapping) or obj.get(key) is None:
            return None
        value = obj[key]
        if not isinstance(value, dict):
            self.problems.append(f"{key}: not an object")
            return None
        return value

    def b64(self, obj: Mapping[str, Any] | None, key: str) -> bytes | None:
        text = self.text(obj, key)
        if not text:
            return None
        data = decode_base64(text)
        if data is None:
            self.problems.append(f"{key}: not base64")
        return data


def decode_base64(text: str) -> bytes | None:
    """Standard or URL-safe base64, whitespace and missing padding tolerated; None when it is not base64."""
    try:  # the usual case, clean standard base64 (pybase64: SIMD, about 40x the standard library's speed)
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    s = re.sub(r"\s+", "", text)
    if "-" in s or "_" in s:
        s = s.replace("-", "+").replace("_", "/")
    s += "=" * (-len(s) % 4)
    try:
        return pybase64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_text(body: bytes) -> str:
    body = body.rstrip(b"\x00")
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


def looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"["))


def decode_image_path(path: str) -> str:
    """`imagePath` as text: percent-decoded, its bytes read as UTF-8 or else GB18030 (GB2312)."""
    raw = unquote_to_bytes(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def strip_images(obj: Any) -> Any:
    """A copy without the base64 image fields (their `*Len` fields stay), for `Read.raw` and logs."""
    if isinstance(obj, dict):
        return {k: strip_images(v) for k, v in obj.items() if k not in IMAGE_FIELDS}
    if isinstance(obj, list):
        return [strip_images(v) for v in obj]
    return copy.copy(obj)


# ---------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Rect:
    left: int
    top: int
    right: int
    bottom: int

    def box(self) -> Box | None:
        """The domain's box; an all-zero RECT (the camera's "none") is no box."""
        if not any((self.left, self.top, self.right, self.bottom)):
            return None
        return Box(min(self.left, self.right), min(self.top, self.bottom),
                   max(self.left, self.right), max(self.top, self.bottom))


@dataclass(frozen=True)
class GioOut:
    ionum: int | None
    ctrltype: int | None


@dataclass(frozen=True)
class CarBrand:
    brand: int | None
    year: int | None
    type: int | None


@dataclass(frozen=True)
class PlateResult:
    license: str  # as sent ("" when absent)
    color_type: int | None = None  # 0 unknown, 1 blue, 2 yellow, 3 white, 4 black, 5 green
    color_value: int | None = None
    type: int | None = None  # plate type 0..19
    confidence: int | None = None  # 0..100
    bright: int | None = None
    car_bright: int | None = None
    car_color: int | None = None
    direction: int | None = None  # 0 unknown, 1 left, 2 right, 3 up, 4 down
    location: Rect | None = None
    time_used: int | None = None
    timestamp: datetime | None = None  # UTC
    trigger_type: int | None = None  # 1 auto, 2 IO input, 4 software (SDK), 8 virtual coil
    image_path: str | None = None  # raw, URL-encoded
    image_file: bytes | None = None  # full image
    image_file_len: int | None = None
    image_fragment: bytes | None = None  # plate image
    image_fragment_len: int | None = None
    plateid: int | None = None
    isoffline: bool = False
    gioouts: tuple[GioOut, ...] = ()
    # extension information ("All" with extensions, series cameras)
    plate_true_width: int | None = None
    plate_distance: int | None = None
    is_fake_plate: int | None = None
    car_location: Rect | None = None
    car_brand: CarBrand | None = None
    feature_code: str | None = None

    @property
    def no_plate(self) -> bool:
        return self.license.strip() in NO_PLATE


@dataclass(frozen=True)
class AlarmInfoPlate:
    serialno: str | None
    channel: int | None
    device_name: str | None
    ipaddr: str | None
    result: PlateResult
    raw: dict[str, Any]  # the message as received, without the base64 images
    problems: tuple[str, ...] = ()  # malformed fields (read as missing): the message is bad input
    notes: tuple[str, ...] = ()  # oddities worth a log line (image lengths that differ from *Len)

    @property
    def offline(self) -> bool:
        return self.result.isoffline


@dataclass(frozen=True)
class AlarmIoIn:
    serialno: str | None
    device_name: str | None
    ipaddr: str | None
    source: int | None  # 0..2 IO input 1..3, 3 TCP trigger, 4 IO input 4
    value: int | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class SerialData:
    serialno: str | None
    channel: int | None
    serial_channel: int | None  # 0: the 485 port
    device_name: str | None
    ipaddr: str | None
    data: bytes
    data_len: int | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class TriggerImage:
    serialno: str | None
    ipaddr: str | None
    image: bytes
    image_len: int | None
    raw: dict[str, Any]  # without the image


@dataclass(frozen=True)
class Registration:
    """A heartbeat or comet poll (the same form either way). The password is never kept: it is checked
    against the device's shared secret (core.devices), when it has one, and dropped."""

    serialno: str
    device_name: str | None = None
    ipaddr: str | None = None
    port: int | None = None
    channel_num: int | None = None
    user_name: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False, compare=False)  # `pass_wd` / `password`


Message = AlarmInfoPlate | AlarmIoIn | SerialData | TriggerImage


def _rect(f: _Fields, obj: Mapping[str, Any] | None) -> Rect | None:
    if obj is None:
        return None
    r = f.obj(obj, "RECT") if "RECT" in obj else obj
    if r is None:
        return None
    values = [f.num(r, k) for k in ("left", "top", "right", "bottom")]
    if all(v is None for v in values):
        return None
    return Rect(*(v or 0 for v in values))


def _timestamp(f: _Fields, ts: Mapping[str, Any] | None) -> datetime | None:
    if ts is None:
        return None
    tv = f.obj(ts, "Timeval") if "Timeval" in ts else ts
    if tv is None:
        return None
    sec, usec = f.num(tv, "sec"), f.num(tv, "usec") or 0
    if sec is not None and 0 < sec < 2**32:
        return datetime.fromtimestamp(sec, UTC).replace(microsecond=min(max(usec, 0), 999_999))
    parts = [f.num(tv, k) for k in ("decyear", "decmon", "decday", "dechour", "decmin", "decsec")]
    if parts[0] is None:
        return None
    try:
        local = datetime(*(p or 0 for p in parts[:3]), *(p or 0 for p in parts[3:]))  # type: ignore[misc]
    except (ValueError, OverflowError):
        f.problems.append("timeStamp: not a date")
        return None
    return local.astimezone().astimezone(UTC)


def _first(*objs: Mapping[str, Any] | None, key: str) -> tuple[Mapping[str, Any] | None, bool]:
    for obj in objs:
        if isinstance(obj, Mapping) and key in obj:
            return obj, True
    return None, False


def parse_plate(msg: Mapping[str, Any]) -> AlarmInfoPlate:
    """`{"AlarmInfoPlate": {...}}` at any content-detail level (fields may be missing)."""
    f = _Fields()
    alarm = f.obj(msg, "AlarmInfoPlate")
    if alarm is None:
        raise BadMessage("no AlarmInfoPlate object")
    result = f.obj(alarm, "result")
    pr = f.obj(result, "PlateResult") if result is not None else None
    if pr is None:
        raise BadMessage("AlarmInfoPlate without result.PlateResult")
    where = (pr, result, alarm)

    def find_int(key: str) -> int | None:
        obj, _ = _first(*where, key=key)
        return f.num(obj, key)

    plateid = find_int("plateid")
    if plateid is not None and not 0 <= plateid < 2**32:  # an unsigned int on the camera
        f.problems.append(f"plateid: out of range ({plateid})")
        plateid = None

    ts_obj, _ = _first(*where, key="timeStamp")
    gio_obj, _ = _first(*where, key="gioouts")
    gioouts: list[GioOut] = []
    raw_gio = gio_obj.get("gioouts") if gio_obj else None
    if isinstance(raw_gio, list):
        gioouts = [GioOut(f.num(g, "ionum"), f.num(g, "ctrltype")) for g in raw_gio if isinstance(g, dict)]
    brand = f.obj(pr, "car_brand")
    license_text = f.text(pr, "license") or ""
    result_ = PlateResult(
        license=license_text,
        color_type=f.num(pr, "colorType"),
        color_value=f.num(pr, "colorValue"),
        type=f.num(pr, "type"),
        confidence=f.num(pr, "confidence"),
        bright=f.num(pr, "bright"),
        car_bright=f.num(pr, "carBright"),
        car_color=f.num(pr, "carColor"),
        direction=f.num(pr, "direction"),
        location=_rect(f, f.obj(pr, "location")),
        time_used=f.num(pr, "timeUsed"),
        timestamp=_timestamp(f, f.obj(ts_obj, "timeStamp") if ts_obj else None),
        trigger_type=f.num(pr, "triggerType"),
        image_path=f.text(pr, "imagePath"),
        image_file=f.b64(pr, "imageFile"),
        image_file_len=f.num(pr, "imageFileLen"),
        image_fragment=f.b64(pr, "imageFragmentFile"),
        image_fragment_len=f.num(pr, "imageFragmentFileLen"),
        plateid=plateid,
        isoffline=bool(find_int("isoffline")),
        gioouts=tuple(gioouts),
        plate_true_width=f.num(pr, "plate_true_width"),
        plate_distance=f.num(pr, "plate_distance"),
        is_fake_plate=f.num(pr, "is_fake_plate"),
        car_location=_rect(f, f.obj(pr, "car_location")),
        car_brand=CarBrand(f.num(brand, "brand"), f.num(brand, "year"), f.num(brand, "type")) if brand else None,
        feature_code=f.text(pr, "feature_Code", "feature_code"),
    )
    notes = [f"{name}: {len(data)} bytes, {name}Len says {declared}"
             for data, declared, name in ((result_.image_file, result_.image_file_len, "imageFile"),
                                          (result_.image_fragment, result_.image_fragment_len, "imageFragmentFile"))
             if data is not None and declared is not None and declared != len(data)]
    serial = f.text(alarm, "serialno", "serialNo", "serial_no")
    return AlarmInfoPlate(
        serialno=(serial.strip()[:_SOURCE_LEN] or None) if serial else None,
        channel=f.num(alarm, "channel"),
        device_name=f.text(alarm, "deviceName"),
        ipaddr=f.text(alarm, "ipaddr"),
        result=result_,
        raw=strip_images(dict(msg)),
        problems=tuple(f.problems),
        notes=tuple(notes),
    )


def parse_io_in(msg: Mapping[str, Any]) -> AlarmIoIn:
    f = _Fields()
    io = f.obj(msg, "AlarmIoIn")
    if io is None:
        raise BadMessage("no AlarmIoIn object")
    result = f.obj(io, "result")
    trig = f.obj(result, "TriggerResult") if result else None
    return AlarmIoIn(f.text(io, "serialNo", "serialno"), f.text(io, "deviceName"), f.text(io, "ipaddr"),
                     f.num(trig, "source"), f.num(trig, "value"), dict(msg))


def parse_serial(msg: Mapping[str, Any]) -> SerialData:
    f = _Fields()
    sd = f.obj(msg, "SerialData")
    if sd is None:
        raise BadMessage("no SerialData object")
    data = f.b64(sd, "data")
    if data is None and f.text(sd, "data"):
        raise BadMessage("SerialData.data is not base64")
    return SerialData(f.text(sd, "serialNo", "serialno"), f.num(sd, "channel"), f.num(sd, "serialChannel"),
                      f.text(sd, "deviceName"), f.text(sd, "ipaddr"), data or b"", f.num(sd, "dataLen"), dict(msg))


def parse_trigger_image(msg: Mapping[str, Any]) -> TriggerImage:
    f = _Fields()
    ti = f.obj(msg, "TriggerImage")
    if ti is None:
        raise BadMessage("no TriggerImage object")
    image = f.b64(ti, "imageFile")
    if not image:
        raise BadMessage("TriggerImage without a base64 imageFile")
    serial = f.text(msg, "serialno", "serialNo") or f.text(ti, "serialno", "serialNo")
    return TriggerImage(serial, f.text(msg, "ipaddr") or f.text(ti, "ipaddr"), image, f.num(ti, "imageFileLen"),
                        strip_images(dict(msg)))


_PARSERS = {"AlarmInfoPlate": parse_plate, "AlarmIoIn": parse_io_in, "SerialData": parse_serial,
            "TriggerImage": parse_trigger_image}


def parse_json(body: bytes) -> Message:
    """Any JSON message the cameras push, by its top-level key (whatever path it came to)."""
    try:
        msg = orjson.loads(body)  # the usual body: UTF-8 JSON; anything else as below, with json's rules
    except orjson.JSONDecodeError:
        try:
            msg = json.loads(decode_text(body))
        except (ValueError, RecursionError) as e:
            raise BadMessage(f"not JSON: {e}") from None
    if not isinstance(msg, dict):
        raise BadMessage("the JSON body is not an object")
    if jsondepth.too_deep(msg):  # the read keeps the message: copying it must not overflow the stack
        raise BadMessage(f"the JSON body is {jsondepth.message()}")
    for key, parse in _PARSERS.items():
        if key in msg:
            return parse(msg)
    raise BadMessage(f"unknown message {', '.join(list(msg)[:5]) or '{}'}")


def parse_registration(fields: Mapping[str, str]) -> Registration:
    """The heartbeat / comet-poll form (`user_name`/`pass_wd` or `username`/`password`)."""
    fields = {str(k).strip(): str(v).strip() for k, v in fields.items()}
    serial = fields.get("serialno") or fields.get("serialNo") or fields.get("serial_no")
    if not serial:
        raise BadMessage("registration without serialno")
    f = _Fields()
    known = {"serialno", "serialNo", "serial_no", "device_name", "ipaddr", "port", "channel_num", "user_name",
             "username"}
    extra = {k: v[:200] for k, v in fields.items() if k not in known and k.lower() not in PASSWORD_FIELDS}
    return Registration(
        serialno=serial[:_SOURCE_LEN],
        device_name=fields.get("device_name") or None,
        ipaddr=fields.get("ipaddr") or None,
        port=f.num(fields, "port"),
        channel_num=f.num(fields, "channel_num"),
        user_name=fields.get("user_name") or fields.get("username") or None,
        extra=dict(list(extra.items())[:20]),
        password=next((v for k, v in fields.items() if k.lower() in PASSWORD_FIELDS), None),
    )


# ---------------------------------------------------------------------------------------------- to the domain


def to_read(msg: AlarmInfoPlate, received_at: datetime, source: str | None = None) -> Read:
    """The domain read; `source` stands in for a missing serial number (the sender's address)."""
    pr = msg.result
    serial = msg.serialno
    plate = "" if pr.no_plate else normalize_plate(pr.license)[:_PLATE_LEN]
    score = None if pr.confidence is None else min(max(pr.confidence / 100.0, 0.0), 1.0)
    return Read(
        plate=plate,
        plate_raw=pr.license[:_RAW_LEN],
        protocol=PROTOCOL,
        source=serial or (source or "")[:_SOURCE_LEN] or None,
        source_key=f"{serial}:{pr.plateid}" if serial and pr.plateid is not None else None,
        score=score,
        box=pr.location.box() if pr.location else None,
        vehicle_box=pr.car_location.box() if pr.car_location else None,
        direction=DIRECTIONS.get(pr.direction or 0),
        first_seen=pr.timestamp or received_at,
        received_at=received_at,
        raw=msg.raw,
    )


# ---------------------------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class SnapshotTarget:
    """Where the camera uploads a screenshot (TriggerImage reply)."""

    port: int
    relative: str
    absolute: str

    def as_json(self) -> dict[str, Any]:
        return {"port": self.port, "snapImageRelativeUrl": self.relative, "snapImageAbsolutelyUrl": self.absolute}


def snapshot_target(scheme: str, host: str, path: str, serialno: str | None, param: str = "device") -> SnapshotTarget:
    """From the Host the camera reached us by; the serial number rides in the query (`param`), as the
    spec's screenshot upload carries only `ipaddr`."""
    scheme = scheme if scheme in ("http", "https") else "http"
    host = host.strip() or "127.0.0.1"
    port = 443 if scheme == "https" else 80
    m = re.match(r"^(\[[^\]]*\]|[^:]*)(?::(\d+))?$", host)
    if m and m.group(2):
        port = int(m.group(2))
    from urllib.parse import quote

    relative = path + (f"?{param}={quote(serialno, safe='')}" if serialno else "")
    return SnapshotTarget(port, relative, f"{scheme}://{host}{relative}")


@dataclass(frozen=True)
class Reply:
    body: dict[str, Any]
    carried: tuple[Command, ...] = ()

    @property
    def inner(self) -> dict[str, Any]:
        return self.body["Response_AlarmInfoPlate"]

    @property
    def acts(self) -> bool:
        """The reply makes the camera do something (a command, or the whitelist sync's operation)."""
        return bool(self.carried) or "white_list_operate" in self.inner


def _whitelist(commands: Sequence[Command]) -> tuple[dict[str, Any] | None, list[Command]]:
    """The oldest whitelist edits that fit one reply: one operate_type, at most 5 entries, in queue order;
    a clear (delete of plate "") goes alone."""
    wl = [c for c in commands if c.kind.startswith("whitelist_")]
    if not wl:
        return None, []
    first = wl[0]
    if first.kind == "whitelist_clear":
        return {"operate_type": 1, "white_list_data": [{"plate": ""}]}, [first]
    op = 0 if first.kind == "whitelist_add" else 1
    taken: list[Command] = []
    for c in wl:
        if c.kind != first.kind or len(taken) == MAX_WHITELIST:
            break
        taken.append(c)
    if op == 0:
        keys = ("plate", "enable", "need_alarm", "enable_time", "overdue_time")
        data = [{k: c.payload[k] for k in keys if k in c.payload} for c in taken]
    else:
        data = [{"plate": c.payload.get("plate", "")} for c in taken]
    return {"operate_type": op, "white_list_data": data}, taken


def reply(
    commands: Iterable[Command] = (),
    *,
    info: bool | None = None,
    plateid: int | None = None,
    offline: bool = False,
    snapshot: SnapshotTarget | None = None,
    whitelist: dict[str, Any] | None = None,
) -> Reply:
    """`Response_AlarmInfoPlate` carrying the gate decision and what fits of the pending commands.

    `info`: the gate decision for a plate reply (True "ok", False "no"); None for a comet poll, whose
    reply has `info` only when an open_gate command is carried. `whitelist`: a `white_list_operate` of
    the whitelist sync (core.whitelist), sent when no queued whitelist command takes the slot. `offline`:
    the pushed record was an offline one; the reply asks for the next one (ContinuePushOffline,
    continue 1). Commands not carried (over the per-reply limits, or a screenshot without a target)
    stay pending for the next reply."""
    commands = list(commands)
    body: dict[str, Any] = {}
    carried: list[Command] = []
    gates = [c for c in commands if c.kind == "open_gate"]
    channel = 0
    if gates:
        channel = int(gates[0].payload.get("channel", 0))
        carried += [c for c in gates if int(c.payload.get("channel", 0)) == channel]
    if info is not None or gates:
        body["info"] = "ok" if (info or gates) else "no"
    if plateid is not None:
        body["plateid"] = plateid
    if "info" in body:
        body["channelNum"] = channel
    if offline and plateid is not None:
        body["ContinuePushOffline"] = {"plateid": plateid, "continue": 1}
    serial = [c for c in commands if c.kind == "serial_data"][:MAX_SERIAL]
    if serial:
        body["serialData"] = [{"serialChannel": int(c.payload.get("channel", 0)), "data": c.payload["data"],
                               "dataLen": int(c.payload.get("length", len(decode_base64(c.payload["data"]) or b"")))}
                              for c in serial]
        carried += serial
    triggers = [c for c in commands if c.kind == "trigger"]
    if triggers:
        body["manualTrigger"] = "ok"
        carried += triggers
    shots = [c for c in commands if c.kind == "screenshot"]
    if shots and snapshot is not None:
        body["TriggerImage"] = snapshot.as_json()
        carried += shots
    queued, taken = _whitelist(commands)
    if queued is not None:
        body["white_list_operate"] = queued
        carried += taken
    elif whitelist is not None:  # the whitelist sync's operation, when no queued edit takes the slot
        body["white_list_operate"] = whitelist
    order = {c.id: i for i, c in enumerate(commands)}
    return Reply({"Response_AlarmInfoPlate": body}, tuple(sorted(carried, key=lambda c: order[c.id])))


def whitelist_operate(op: str, entries: Sequence[CameraEntry]) -> dict[str, Any]:
    """A sync operation (core.whitelist.Batch: add | delete | clear of CameraEntry) as spec 7.5 writes it."""
    if op == "clear":
        return {"operate_type": 1, "white_list_data": [{"plate": ""}]}
    if op == "delete":
        return {"operate_type": 1, "white_list_data": [{"plate": e.plate} for e in entries]}
    data = []
    for e in entries:
        item: dict[str, Any] = {"plate": e.plate, "enable": 1, "need_alarm": e.need_alarm}
        if e.enable_time:
            item["enable_time"] = e.enable_time
        if e.overdue_time:
            item["overdue_time"] = e.overdue_time
        data.append(item)
    return {"operate_type": 0, "white_list_data": data}


def whitelist_edits(carried: Sequence[Command]) -> list[tuple[str, list[CameraEntry]]]:
    """The queued whitelist commands a reply carried, as what the camera now holds: (op, [CameraEntry])."""
    out: list[tuple[str, list[CameraEntry]]] = []
    for c in carried:
        if c.kind == "whitelist_clear":
            out.append(("clear", []))
        elif c.kind == "whitelist_delete":
            out.append(("delete", [CameraEntry(normalize_plate(c.payload.get("plate", "")))]))
        elif c.kind == "whitelist_add":
            p = c.payload
            out.append(("add", [CameraEntry(normalize_plate(p.get("plate", "")), int(p.get("need_alarm", 0)),
                                            p.get("enable_time"), p.get("overdue_time"))]))
    return out


def refusal(error: str | None = None) -> dict[str, Any]:
    """The reply to input that is not understood: it never opens the gate."""
    body: dict[str, Any] = {"info": "no"}
    if error:
        body["error"] = error[:300]
    return {"Response_AlarmInfoPlate": body}


def ack(message: str) -> dict[str, Any]:
    """Reply to AlarmIoIn, SerialData and TriggerImage ("any legitimate data"): no `info`, so no
    firmware can read it as a gate command."""
    return {f"Response_{message}": {"received": 1}}
