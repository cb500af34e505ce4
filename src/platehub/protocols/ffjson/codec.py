"""FF JSON protocol (spec 000): what FF Group / NumberOk ANPR cameras POST, parsed into an `FFEvent`
and translated into the domain's `Read`. Pure functions: no I/O, no database, no web framework.

What is accepted (real cameras and integrations differ from the document):

- The event JSON as the `event` part of a multipart/form-data request: a FILE part (curl's
  `-F "event=@1470311582.json"`, Content-Type application/json or none) or a plain text field;
  failing an `event` part, the first part typed application/json or named `*.json`. The image is
  the `image` part, failing that the first other part whose bytes are an image. A url-encoded form
  with an `event` field, or the event JSON as the whole body (any other content type) work too.
- Keys are matched case-insensitively, ignoring `_` and `-` (`plateText` = `plate_text` =
  `PLATETEXT`, `sensorProviderID` = `sensorProviderId`); the aliases per field are in `_FIELDS`.
  The spec's field table lost most field names; the names come from its JSON examples, the header
  dump and FF's protocol 1.6 table (`plateUTF8`/`plateUnicode` as fallbacks for the plate text,
  `roiID` for the zone). The "movement against frame" (up/down) field has no name left in the
  document: `carFrameDirection`, `frameDirection` and `carMoveFrameDirection` are accepted.
- Numbers may arrive as JSON numbers or strings ("packetCounter":"1"); the confidence may be 0..1,
  a percentage (1 < value <= 100, or a string ending in "%"), and is stored as 0..1.
- `datetime` is `YYYYMMDD HHMMSSFFF` with an optional `+HHMM`/`-HHMM` (UTC when absent); ISO 8601
  is accepted too. A missing datetime means "now" (the time the server received the event).
- Byte-swapped plate text: the spec's own header dump sends `"\\u4100\\u4100\\u3400..."`, i.e.
  UTF-16 code units with their two bytes swapped (U+4100 is 'A' = U+0041 swapped). The text is
  un-swapped only when it has at least two code units, EVERY code unit has a low byte of 0x00,
  and the swapped text is a plausible plate: printable ASCII letters/digits (with spaces, '-' or
  '.' between). Real text survives: a Chinese plate always mixes CJK with ASCII letters/digits
  (whose low bytes are not zero), a lone 一 (U+4E00) is a single code unit, Cyrillic (U+04xx) swaps
  to control characters. `plate_raw` keeps the un-swapped text; the read's `raw` keeps the JSON.

What is refused (`FFError`, answered 400, or 413 for an oversized event): a body that is not a
JSON object, a missing or empty plate text, a datetime that is not a date, numbers that are not
numbers or out of range, NaN/Infinity, text that is not valid Unicode (lone surrogates), identity
fields too long to store. Unknown words in enumerated fields (carState, imageType, directions …)
do not lose the read: the value is ignored and a warning is returned for the log.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from platehub.core.read import Box, Read, normalize_plate
from platehub.engine.image import sniff
from platehub.protocols import jsondepth

PROTOCOL = "ffjson"
DEFAULT_SOURCE = "ff"  # the source (and device code) of events without a sensorProviderID
MAX_EVENT_BYTES = 256 * 1024  # a real event is ~350 bytes; larger is refused before parsing
MAX_PLATE_RAW = 64  # reads.plate_raw
MAX_PLATE = 32  # reads.plate
MAX_SENSOR = 128  # devices.code, reads.source
MAX_CAR_ID = 64  # keeps source_key within its 255 characters
MAX_NAME = 255  # devices.name


class FFError(ValueError):
    """The request is not an FF event; the message says why (for the 4xx `detail` and the log)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# --------------------------------------------------------------------------------------------------
# The event
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FFEvent:
    plate_text: str  # as the camera meant it (un-swapped when it was byte-swapped)
    when: datetime | None  # aware, UTC; None: the event had no datetime
    packet_counter: int | None = None
    country: str | None = None  # ISO 3166 alpha-3 as sent, upper-case
    confidence: float | None = None  # 0..1
    car_state: str | None = None  # new | updated | lost
    geotag: tuple[float, float] | None = None  # (lat, lon)
    image_type: str | None = None  # plate | mmrcrop | vehicle | frame
    plate_image_type: str | None = None  # png | jpeg | bmp
    plate_image_size: int | None = None
    move_direction: str | None = None  # in | out
    frame_direction: str | None = None  # up | down
    time_processing: int | None = None  # ms
    plate_coordinates: tuple[int, int, int, int] | None = None  # x, y, w, h
    car_id: str | None = None
    geo_target: str | None = None  # the channel description
    sensor: str | None = None  # sensorProviderID
    channel: int | None = None
    zone: int | None = None
    byte_swapped: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False)  # the JSON object as received
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Part:
    """One part of a multipart (or url-encoded) form: text fields have `data` as str."""

    name: str
    data: bytes | str
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class FFRequest:
    event: FFEvent
    image: bytes | None = None
    warnings: tuple[str, ...] = ()  # the event's warnings and the image's


# Canonical field → accepted keys, normalised (lower-case, no "_" / "-"), first present wins.
_FIELDS: dict[str, tuple[str, ...]] = {
    "packet_counter": ("packetcounter",),
    "datetime": ("datetime",),
    "plate_text": ("platetext", "plateunicode", "plateutf8", "plate"),
    "country": ("platecountry", "country"),
    "confidence": ("plateconfidence", "confidence"),
    "car_state": ("carstate",),
    "geotag": ("geotag",),
    "image_type": ("imagetype",),
    "plate_image_type": ("plateimagetype",),
    "plate_image_size": ("plateimagesize",),
    "move_direction": ("carmovedirection", "movedirection"),
    "frame_direction": ("carframedirection", "framedirection", "carmoveframedirection"),
    "time_processing": ("timeprocessing",),
    "plate_coordinates": ("platecoordinates",),
    "car_id": ("carid",),
    "geo_target": ("geotarget",),
    "sensor": ("sensorproviderid", "sensorid"),
    "channel": ("channel",),
    "zone": ("zone", "roiid"),
}

_CAR_STATES = {"new": "new", "update": "updated", "updated": "updated", "lost": "lost"}
_IMAGE_TYPES = {"plate", "mmrcrop", "vehicle", "frame"}
_PLATE_IMAGE_TYPES = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "bmp": "bmp"}
_NO_VALUE = {"", "null", "none", "unknown", "unk", "undefined", "n/a"}
_MOVE = {"in": "in", "out": "out"}
_FRAME = {"up": "up", "down": "down"}

# ISO 3166 alpha-3 → the Snapshot API's region code (ISO alpha-2, lower case): Europe and the
# countries ANPR cameras commonly report. Every value is a code of engine/regions.py.
ALPHA3_TO_REGION: dict[str, str] = {
    # Europe
    "ALB": "al", "AND": "ad", "ARM": "am", "AUT": "at", "AZE": "az", "BLR": "by", "BEL": "be",
    "BIH": "ba", "BGR": "bg", "HRV": "hr", "CYP": "cy", "CZE": "cz", "DNK": "dk", "EST": "ee",
    "FIN": "fi", "FRA": "fr", "GEO": "ge", "DEU": "de", "GIB": "gi", "GRC": "gr", "HUN": "hu",
    "ISL": "is", "IRL": "ie", "ITA": "it", "KAZ": "kz", "LVA": "lv", "LIE": "li", "LTU": "lt",
    "LUX": "lu", "MLT": "mt", "MDA": "md", "MCO": "mc", "MNE": "me", "NLD": "nl", "MKD": "mk",
    "NOR": "no", "POL": "pl", "PRT": "pt", "ROU": "ro", "RUS": "ru", "SMR": "sm", "SRB": "rs",
    "SVK": "sk", "SVN": "si", "ESP": "es", "SWE": "se", "CHE": "ch", "TUR": "tr", "UKR": "ua",
    "GBR": "gb", "VAT": "va",
    # elsewhere
    "USA": "us", "CAN": "ca", "MEX": "mx", "BRA": "br", "ARG": "ar", "CHL": "cl", "COL": "co",
    "PER": "pe", "ECU": "ec", "URY": "uy", "VEN": "ve", "AUS": "au", "NZL": "nz", "CHN": "cn",
    "JPN": "jp", "KOR": "kr", "IND": "in", "IDN": "id", "MYS": "my", "SGP": "sg", "THA": "th",
    "VNM": "vn", "PHL": "ph", "ISR": "il", "ARE": "ae", "QAT": "qa", "JOR": "jo", "LBN": "lb",
    "ZAF": "za", "NGA": "ng", "KEN": "ke", "UZB": "uz", "TZA": "tz", "ZMB": "zm",
}  # fmt: skip
_REGIONS = frozenset(ALPHA3_TO_REGION.values())


def region_of(country: str | None) -> str | None:
    """`UKR` → `ua`; an alpha-2 code already known passes; anything else → None."""
    if not country:
        return None
    code = country.strip().upper()
    if code in ALPHA3_TO_REGION:
        return ALPHA3_TO_REGION[code]
    return code.lower() if code.lower() in _REGIONS else None


# --------------------------------------------------------------------------------------------------
# Byte-swapped text
# --------------------------------------------------------------------------------------------------

_PLAUSIBLE_SWAPPED = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .\-]*[A-Za-z0-9])?")


def swap_bytes(text: str) -> str:
    """Swap the two bytes of every UTF-16 code unit (its own inverse): 'A' (U+0041) ↔ U+4100."""
    return "".join(chr(((ord(c) & 0xFF) << 8) | (ord(c) >> 8)) if ord(c) <= 0xFFFF else c for c in text)


def unswap_plate_text(text: str) -> tuple[str, bool]:
    """The text as meant, and whether it was byte-swapped (the rule is in the module docstring)."""
    if len(text) < 2 or not all(ord(c) <= 0xFFFF and ord(c) & 0xFF == 0 and 0x20 <= ord(c) >> 8 <= 0x7E
                                for c in text):
        return text, False
    swapped = swap_bytes(text)
    if _PLAUSIBLE_SWAPPED.fullmatch(swapped):
        return swapped, True
    return text, False


# --------------------------------------------------------------------------------------------------
# Value parsers
# --------------------------------------------------------------------------------------------------

_DATETIME = re.compile(
    r"(\d{4})(\d{2})(\d{2})[ T_]?(\d{2})(\d{2})(\d{2})(?:[.,]?(\d{6}|\d{3}))?\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))?"
)


def parse_datetime(value: Any) -> datetime:
    """`YYYYMMDD HHMMSSFFF[+-HHMM]` (UTC unless an offset is given) or ISO 8601 → aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise FFError(f"datetime must be a string like '20170221 081331000', not {_show(value)}.")
    text = value.strip()
    m = _DATETIME.fullmatch(text)
    try:
        if m:
            year, month, day, hh, mm, ss, frac, _zulu, sign, oh, om = m.groups()
            tz = UTC
            if sign:
                if int(oh) > 23 or int(om) > 59:
                    raise ValueError("bad offset")
                delta = timedelta(hours=int(oh), minutes=int(om))
                tz = timezone(-delta if sign == "-" else delta)
            micro = int((frac or "0").ljust(6, "0"))
            when = datetime(int(year), int(month), int(day), int(hh), int(mm), int(ss), micro, tzinfo=tz)
        else:  # ISO 8601, with a time of day
            if ":" not in text:
                raise ValueError("no time of day")
            when = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC)
    except (ValueError, OverflowError):
        raise FFError(f"datetime {_show(value)} is not a valid YYYYMMDD HHMMSSFFF[+HHMM] time.") from None


def format_datetime(when: datetime, offset: bool = False) -> str:
    """The protocol's `YYYYMMDD HHMMSSFFF` (UTC), or with the datetime's own `+HHMM` offset."""
    if not offset:
        when = when.astimezone(UTC)
    text = f"{when:%Y%m%d %H%M%S}{when.microsecond // 1000:03d}"
    return text + f"{when:%z}" if offset else text


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _int(value: Any, name: str, lo: int = 0, hi: int = 2**63 - 1) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,20}(?:\.0*)?\s*", value):
        number = int(value.strip().split(".")[0])
    if number is None:
        raise FFError(f"{name} must be a whole number, not {_show(value)}.")
    if not lo <= number <= hi:
        raise FFError(f"{name} {number} is out of range ({lo}..{hi}).")
    return number


def _float(value: Any, name: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise FFError(f"{name} must be a number, not {_show(value)}.")
    return number


def _confidence(value: Any) -> float | None:
    percent = isinstance(value, str) and value.strip().endswith("%")
    number = _float(value.strip().rstrip("%") if percent else value, "plateConfidence")
    if number is None:
        return None
    if not 0 <= number <= 100:
        raise FFError(f"plateConfidence {number} is out of range (0..1, or a percentage).")
    if percent or number > 1:
        number /= 100
    return round(number, 6)


def _clean(text: str) -> str:
    """Without control/format characters (C strings' trailing NULs and the like), stripped."""
    return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf")).strip()


def _text(value: Any, name: str, limit: int, truncate: bool = False) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FFError(f"{name} must be a string, not {_show(value)}.")
    text = _clean(value if isinstance(value, str) else str(value))
    if len(text) > limit:
        if not truncate:
            raise FFError(f"{name} is too long ({len(text)} characters, at most {limit}).")
        text = text[:limit]
    return text or None


def _word(value: Any, name: str, allowed: Mapping[str, str] | set[str], warnings: list[str]) -> str | None:
    if value is None:
        return None
    word = str(value).strip().lower() if isinstance(value, str | int | float) else None
    if word in _NO_VALUE:
        return None
    if word is not None and word in allowed:
        return allowed[word] if isinstance(allowed, Mapping) else word
    warnings.append(f"{name} {_show(value)} is not one of {', '.join(sorted(set(allowed)))}: ignored")
    return None


def _geotag(value: Any) -> tuple[float, float] | None:
    if value is None or value == {} or value == "":
        return None
    lat = lon = None
    if isinstance(value, Mapping):
        keys = {_key(k): v for k, v in value.items()}
        lat, lon = keys.get("lat", keys.get("latitude")), keys.get("lon", keys.get("lng", keys.get("longitude")))
    elif isinstance(value, list | tuple) and len(value) == 2:
        lat, lon = value
    elif isinstance(value, str) and value.count(",") == 1:
        lat, lon = value.split(",")
    else:
        raise FFError(f"geotag must be an object {{\"lat\": …, \"lon\": …}}, not {_show(value)}.")
    flat, flon = _float(lat, "geotag.lat"), _float(lon, "geotag.lon")
    if flat is None or flon is None:
        return None
    if not (-90 <= flat <= 90 and -180 <= flon <= 180):
        raise FFError(f"geotag ({flat}, {flon}) is not a latitude/longitude.")
    return flat, flon


def _coordinates(value: Any) -> tuple[int, int, int, int] | None:
    if value is None or value == "" or value == []:
        return None
    items: Any = value
    if isinstance(value, str):
        items = [x for x in re.split(r"[\s,;]+", value.strip().strip("[]")) if x]
    if not isinstance(items, list | tuple) or len(items) != 4:
        raise FFError(f"plateCoordinates must be [x, y, width, height], not {_show(value)}.")
    numbers = []
    for item in items:
        number = _float(item, "plateCoordinates")
        if number is None or not 0 <= number <= 1_000_000:
            raise FFError(f"plateCoordinates must be four numbers 0..1000000, not {_show(value)}.")
        numbers.append(round(number))
    x, y, w, h = numbers
    return x, y, w, h


def _car_id(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise FFError(f"carID must not be negative ({value}).")
    return _text(value, "carID", MAX_CAR_ID)


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def _key(name: Any) -> str:
    return re.sub(r"[_\-\s]", "", str(name)).lower()


def _reject_constant(name: str) -> Any:
    raise FFError(f"The event JSON contains {name}, which is not a JSON number.")


def _check_unicode(value: Any) -> None:
    """Refuse lone surrogates anywhere (JSON allows "\\ud800"; no database stores it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in item):
                raise FFError("The event JSON contains text that is not valid Unicode (a lone surrogate).")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def load_json(data: bytes | str) -> dict[str, Any]:
    """The event object from JSON bytes (UTF-8/16/32, BOM allowed) or text."""
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_EVENT_BYTES:
        raise FFError(f"The event JSON is too large ({size} bytes, at most {MAX_EVENT_BYTES}).", 413)
    if not data.strip():
        raise FFError("The event is empty: send the event JSON object.")
    try:
        obj = json.loads(data, parse_constant=_reject_constant)
    except FFError:
        raise
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise FFError(f"The event is not valid JSON: {e}.") from None
    if not isinstance(obj, dict):
        raise FFError(f"The event JSON must be an object, not {type(obj).__name__ if obj is not None else 'null'}.")
    if jsondepth.too_deep(obj):  # the read keeps the JSON: copying it must not overflow the stack
        raise FFError(f"The event JSON is {jsondepth.message()}.")
    _check_unicode(obj)
    return obj


def parse_event(obj: Mapping[str, Any]) -> FFEvent:
    """An `FFEvent` from the event JSON object; FFError when it is not a usable event."""
    keyed: dict[str, Any] = {}
    for k, v in obj.items():
        keyed.setdefault(_key(k), v)

    def get(name: str) -> Any:
        present = [keyed[k] for k in _FIELDS[name] if k in keyed]
        usable = [v for v in present if v not in (None, "")]
        return usable[0] if usable else (present[0] if present else None)

    warnings: list[str] = []
    text = get("plate_text")
    if isinstance(text, str):
        text, swapped = unswap_plate_text(_clean(text))
    else:
        swapped = False
    plate_text = _text(text, "plateText", MAX_PLATE_RAW)
    if not plate_text:
        raise FFError("plateText is missing or empty: the event has no plate.")
    if not normalize_plate(plate_text):
        raise FFError(f"plateText {_show(plate_text)} has no letters or digits.")
    if len(normalize_plate(plate_text)) > MAX_PLATE:
        raise FFError(f"plateText is too long (at most {MAX_PLATE} characters without separators).")

    when_value = get("datetime")
    country = _text(get("country"), "plateCountry", 16)
    return FFEvent(
        plate_text=plate_text,
        when=None if when_value in (None, "") else parse_datetime(when_value),
        packet_counter=_int(get("packet_counter"), "packetCounter", 0, 2**64 - 1),
        country=country.upper() if country else None,
        confidence=_confidence(get("confidence")),
        car_state=_word(get("car_state"), "carState", _CAR_STATES, warnings),
        geotag=_geotag(get("geotag")),
        image_type=_word(get("image_type"), "imageType", _IMAGE_TYPES, warnings),
        plate_image_type=_word(get("plate_image_type"), "plateImageType", _PLATE_IMAGE_TYPES, warnings),
        plate_image_size=_int(get("plate_image_size"), "plateImageSize"),
        move_direction=_word(get("move_direction"), "carMoveDirection", _MOVE, warnings),
        frame_direction=_word(get("frame_direction"), "carFrameDirection", _FRAME, warnings),
        time_processing=_int(get("time_processing"), "timeProcessing", 0, 2**31 - 1),
        plate_coordinates=_coordinates(get("plate_coordinates")),
        car_id=_car_id(get("car_id")),
        geo_target=_text(get("geo_target"), "GEOtarget", MAX_NAME, truncate=True),
        sensor=_text(get("sensor"), "sensorProviderID", MAX_SENSOR),
        channel=_int(get("channel"), "channel", 0, 2**31 - 1),
        zone=_int(get("zone"), "zone", 0, 2**31 - 1),
        byte_swapped=swapped,
        raw=dict(obj),
        warnings=tuple(warnings),
    )


def _is_json_part(part: Part) -> bool:
    ctype = (part.content_type or "").split(";")[0].strip().lower()
    return ctype in ("application/json", "text/json") or (part.filename or "").lower().endswith(".json")


def _image_of(parts: Iterable[Part], event_part: Part) -> bytes | None:
    parts = [p for p in parts if p is not event_part]
    named = [p for p in parts if p.name.lower() == "image"]
    for part in named or parts:
        data = part.data.encode("latin-1", "replace") if isinstance(part.data, str) else part.data
        if named or sniff(data):
            return data
    return None


def decode_form(parts: list[Part]) -> FFRequest:
    """A multipart / url-encoded request: the `event` part (file or field) and the `image` part."""
    event_part = next((p for p in parts if p.name.lower() == "event"), None) or next(
        (p for p in parts if _is_json_part(p)), None)
    if event_part is None:
        names = ", ".join(sorted({p.name for p in parts})) or "none"
        raise FFError(f"No `event` part: send the event JSON as the form part `event` (parts sent: {names}).")
    event = parse_event(load_json(event_part.data))
    return attach_image(event, _image_of(parts, event_part))


def decode_body(body: bytes) -> FFRequest:
    """A request whose whole body is the event JSON (application/json, text/plain or no type)."""
    return attach_image(parse_event(load_json(body)), None)


def attach_image(event: FFEvent, image: bytes | None) -> FFRequest:
    """The event with its image, when the image is one (PNG, JPEG, BMP …); warnings otherwise."""
    warnings = list(event.warnings)
    if image is not None and len(image) == 0:
        image = None  # "the size in bytes of attached image, may be zero"
    if image is not None:
        kind = sniff(image)
        if kind is None:
            warnings.append(f"the image part ({len(image)} bytes) is not an image: not stored")
            image = None
        elif kind == "jpeg" and image.rfind(b"\xff\xd9") < 0:
            warnings.append("the JPEG image is truncated (no end-of-image marker): not stored")
            image = None
        elif event.plate_image_size and event.plate_image_size != len(image):
            warnings.append(f"plateImageSize says {event.plate_image_size} bytes, the image has {len(image)}")
    return FFRequest(event, image, tuple(warnings))


def multipart_complete(body: bytes, content_type: str) -> bool:
    """Whether a multipart body ends with its closing delimiter (the parser silently drops a
    truncated last part, which would lose the image without a word)."""
    m = re.search(r"boundary=(?:\"([^\"]+)\"|([^;\s]+))", content_type, re.IGNORECASE)
    if not m:
        return False
    boundary = (m.group(1) or m.group(2)).encode("latin-1", "replace")
    return b"--" + boundary + b"--" in body[-(len(boundary) + 4096):]


# --------------------------------------------------------------------------------------------------
# Translation to the domain
# --------------------------------------------------------------------------------------------------


def source_of(event: FFEvent) -> str:
    return event.sensor or DEFAULT_SOURCE


def source_key(event: FFEvent) -> str | None:
    """The sender's identity of the read: sensor + carID (one vehicle pass), else sensor + packet
    counter + time (one event; None without a datetime: counters restart, so no identity)."""
    sensor = source_of(event)
    if event.car_id:
        return f"{sensor}:{event.car_id}"
    if event.when is None:
        return None
    counter = "" if event.packet_counter is None else event.packet_counter
    return f"{sensor}:{counter}:{format_datetime(event.when)}"


def to_read(event: FFEvent, received_at: datetime) -> Read:
    """The domain read of one event (ingest merges the events of one pass into one read)."""
    box = None
    if event.plate_coordinates and event.plate_coordinates[2] > 0 and event.plate_coordinates[3] > 0:
        x, y, w, h = event.plate_coordinates
        box = Box(x, y, x + w, y + h)
    when = event.when or received_at
    return Read(
        plate=normalize_plate(event.plate_text),
        plate_raw=event.plate_text,
        protocol=PROTOCOL,
        source=source_of(event),
        source_key=source_key(event),
        score=event.confidence,
        box=box,
        region=region_of(event.country),
        direction=event.move_direction,
        first_seen=when,
        last_seen=when,
        received_at=received_at,
        raw=event.raw,
    )


def image_slots(event: FFEvent, image: bytes | None) -> tuple[bytes | None, bytes | None]:
    """(full, plate): plate and mmrcrop images are plate crops, vehicle and frame (the default)
    images are full frames."""
    if not image:
        return None, None
    if event.image_type in ("plate", "mmrcrop"):
        return None, image
    return image, None


def device_fields(event: FFEvent) -> dict[str, Any]:
    """`DeviceRegistry.seen` keywords (besides the address): the name and what else is known."""
    meta: dict[str, Any] = {}
    if event.channel is not None:
        meta["channel"] = event.channel
    if event.zone is not None:
        meta["zone"] = event.zone
    if event.geotag is not None:
        meta["geotag"] = {"lat": event.geotag[0], "lon": event.geotag[1]}
    if event.country:
        meta["country"] = event.country
    return {"name": event.geo_target, "meta": meta}
