"""Parsing a /v1/plate-reader/ request: a JSON body's fields, and engine options (the `regions` and
`config` fields). Blocking where the input is big (`parse_json_body`, `decode_base64`): the routes
run those in a worker thread."""

from __future__ import annotations

import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

import pybase64

from platehub.engine import EngineOptions
from platehub.engine.regions import normalize_region
from platehub.protocols import jsondepth


class BadRequest(ValueError):
    """Malformed request; the message is the `detail` the client sees."""


_CONFIG_KEYS = {"region", "text_formats", "threshold_d", "threshold_o", "mode", "detection_rule", "detection_mode"}
_MODES = ("regular", "fast", "redaction")


def _threshold(config: dict, key: str, default: float) -> float:
    if key not in config:
        return default
    try:
        value = float(config[key])  # numbers may arrive as strings
    except (TypeError, ValueError):
        raise BadRequest(f"config.{key} must be a number between 0 and 1.") from None
    if not 0.0 <= value <= 1.0:
        raise BadRequest(f"config.{key} must be a number between 0 and 1.")
    return value


# what each field of a JSON body may be (a form carries text only); other fields are ignored
_FIELD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "upload": ((str,), "a base64 string"),
    "upload_url": ((str,), "a URL string"),
    "regions": ((str, list), "a region code or a list of them"),
    "region": ((str, list), "a region code or a list of them"),
    "config": ((str, dict), "a JSON object"),
    "mmc": ((str, bool), "true or false"),
    "camera_id": ((str, int), "a string"),
    "timestamp": ((str,), "an ISO 8601 string"),
}


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The fields of a JSON body; `config`, when an object, as the JSON text a form would carry."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest("The JSON body could not be parsed.") from None
    if not isinstance(data, dict):
        raise BadRequest("The JSON body must be an object.")
    if jsondepth.too_deep(data):
        raise BadRequest(f"The JSON body is {jsondepth.message()}.")
    for key, (types, what) in _FIELD_TYPES.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise BadRequest(f"{key} must be {what}.")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise BadRequest(f"{key} must be {what}.")
    return {k: json.dumps(v) if k == "config" and isinstance(v, dict) else v for k, v in data.items()}


def parse_config(raw: str | None) -> dict[str, Any]:
    if raw is None or raw.strip() == "":
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise BadRequest(f"config is not valid JSON: {e.msg} at position {e.pos}.") from None
    except RecursionError:
        raise BadRequest(f"config is {jsondepth.message()}.") from None
    if jsondepth.too_deep(config):
        raise BadRequest(f"config is {jsondepth.message()}.")
    if not isinstance(config, dict):
        raise BadRequest("config must be a JSON object, for example {\"region\":\"strict\"}.")
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise BadRequest(f"Unknown config key(s): {', '.join(unknown)}.")
    return config


def parse_regions(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for part in re.split(r"[,\s]+", value.strip().strip("`'\"")):
            if not part:
                continue
            code = normalize_region(part.strip("`'\""))
            if code is None:
                raise BadRequest(f"Unknown region code: {part}. See the regions table in the documentation.")
            if code not in out:
                out.append(code)
    return tuple(out)


def parse_bool(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def engine_options(regions: list[str], config_raw: str | None, mmc: str | bool | None) -> EngineOptions:
    config = parse_config(config_raw)
    region_codes = parse_regions(regions)
    region = config.get("region")
    if region not in (None, "strict"):
        raise BadRequest('config.region accepts only "strict".')
    formats = config.get("text_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise BadRequest("config.text_formats must be a list of regular expressions.")
    for f in formats:
        try:
            re.compile(f)
        except re.error as e:
            raise BadRequest(f"config.text_formats: invalid regular expression {f!r}: {e}.") from None
    mode = config.get("mode", "regular")
    if mode not in _MODES:
        raise BadRequest(f"config.mode must be one of {', '.join(_MODES)}.")
    rule = config.get("detection_rule", "normal")
    if rule not in ("normal", "strict"):
        raise BadRequest('config.detection_rule accepts "strict".')
    if rule == "strict":
        raise BadRequest(
            'config.detection_rule "strict" discards plates found outside a vehicle, and this server has '
            "no vehicle detection model: it would discard every plate. Leave detection_rule out."
        )
    detection_mode = config.get("detection_mode", "plate")
    if detection_mode not in ("plate", "vehicle"):
        raise BadRequest('config.detection_mode must be "plate" or "vehicle".')
    return EngineOptions(
        regions=region_codes,
        region_strict=region == "strict",
        text_formats=tuple(formats),
        threshold_d=_threshold(config, "threshold_d", EngineOptions.threshold_d),
        threshold_o=_threshold(config, "threshold_o", EngineOptions.threshold_o),
        mode=mode,
        detection_rule=rule,
        detection_mode=detection_mode,
        mmc=parse_bool(mmc),
    )


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO 8601; the spec says UTC, so a time without offset is taken as UTC."""
    if not value:
        return None
    try:
        ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except ValueError:
        raise BadRequest("timestamp must be ISO 8601, for example 2019-08-19T13:11:25.") from None
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first UTC time
        raise BadRequest("timestamp is out of range.") from None


def decode_base64(text: str) -> bytes:
    """A base64 `upload` field (a data: URL prefix and line breaks are tolerated)."""
    text = text.strip()
    if text.startswith("data:") and "," in text:
        text = text.split(",", 1)[1]
    text = re.sub(r"\s+", "", text)
    try:
        return pybase64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("upload is neither an image file nor base64-encoded image data.") from None
