"""Video channels: the rules for their settings, and their changes (the CLI and `/v1/channels` both
come here). Each change is one settings entry of the event log; a running server notices it within
seconds (video/channel.py `ChannelRunner` compares `updated_at`) and restarts that channel's worker.
A camera URL may carry a password: the event log gets the URL without it."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from platehub.core.bus import Bus
from platehub.core.eventlog import record_setting
from platehub.core.redact import redact_url as redact
from platehub.core.store import Store
from platehub.core.store.channels import FIELDS, Channel
from platehub.engine.pipeline import MODES
from platehub.video.zones import parse_polygons

DIRECTIONS = ("any", "in", "out")
RECORDING = ("off", "continuous", "event")  # video/recorder.py
MAX_SAMPLE_RATE = 30.0
SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "file://")


class ChannelError(ValueError):
    """A field of a channel is invalid (the message names it)."""


def _number(fields: dict[str, Any], name: str, low: float, high: float) -> float:
    v = fields[name]
    if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
        raise ChannelError(f"{name}: a number from {low:g} to {high:g}")
    return float(v)


def parse(fields: dict[str, Any], base: Channel | None = None) -> Channel:
    """A channel from `fields` (any of store.channels.FIELDS), over `base` when changing one."""
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ChannelError(f"unknown field(s): {', '.join(unknown)}; the fields are {', '.join(FIELDS)}")
    if base is None and not fields.get("name"):
        raise ChannelError("name: required")
    if base is None and not fields.get("url"):
        raise ChannelError("url: required")
    ch = base or Channel(0, "", "")
    out: dict[str, Any] = {}
    if "name" in fields:
        name = fields["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 128 or "/" in name:
            raise ChannelError("name: text of 1 to 128 characters, without '/'")
        out["name"] = name.strip()
    if "url" in fields:
        url = fields["url"]
        if not isinstance(url, str) or not url.strip() or len(url) > 2048:
            raise ChannelError("url: rtsp://…, http(s)://… or a video file's path")
        if "://" in url and not url.lower().startswith(SCHEMES):
            raise ChannelError(f"url: the scheme must be one of {', '.join(s[:-3] for s in SCHEMES)}")
        out["url"] = url.strip()
    if "enabled" in fields:
        if not isinstance(fields["enabled"], bool):
            raise ChannelError("enabled: true or false")
        out["enabled"] = fields["enabled"]
    if "sample_rate" in fields:
        out["sample_rate"] = _number(fields, "sample_rate", 0.1, MAX_SAMPLE_RATE)
    if "mode" in fields:
        if fields["mode"] not in MODES:
            raise ChannelError(f"mode: one of {', '.join(MODES)}")
        out["mode"] = fields["mode"]
    for name in ("zones", "masks"):
        if name in fields:
            try:
                out[name] = parse_polygons(fields[name], name)
            except ValueError as e:
                raise ChannelError(str(e)) from None
    if "min_plate_width" in fields:
        out["min_plate_width"] = int(_number(fields, "min_plate_width", 0, 7680))
    if "text_formats" in fields:
        out["text_formats"] = _formats(fields["text_formats"])
    if "direction" in fields:
        if fields["direction"] not in DIRECTIONS:
            raise ChannelError(f"direction: one of {', '.join(DIRECTIONS)}")
        out["direction"] = fields["direction"]
    if "recording" in fields:
        if fields["recording"] not in RECORDING:
            raise ChannelError(f"recording: one of {', '.join(RECORDING)}")
        out["recording"] = fields["recording"]
    return replace(ch, **out)


def _formats(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(f, str) for f in value) or len(value) > 50:
        raise ChannelError("text_formats: a list of regular expressions")
    for f in value:
        try:
            re.compile(f)
        except re.error as e:
            raise ChannelError(f"text_formats: invalid regular expression {f!r}: {e}") from None
    return tuple(value)


def described(c: Channel) -> dict[str, Any]:
    """What the event log records of a channel (no password)."""
    return {"name": c.name, "url": redact(c.url), "enabled": c.enabled, "sample_rate": c.sample_rate,
            "mode": c.mode, "direction": c.direction, "recording": c.recording}


class Channels:
    """Adding, changing and removing channels. Blocking: call off the event loop."""

    def __init__(self, store: Store, bus: Bus | None = None) -> None:
        self.store, self.bus = store, bus

    def add(self, fields: dict[str, Any], by: str) -> Channel:
        channel = self.store.channels.add(parse(fields))
        record_setting(self.store, f"channel {channel.name}", by, None, described(channel), self.bus)
        return channel

    def update(self, key: int | str, fields: dict[str, Any], by: str) -> Channel | None:
        before = self.store.channels.get(key)
        if before is None:
            return None
        channel = self.store.channels.replace(parse(fields, before))
        record_setting(self.store, f"channel {channel.name}", by, described(before), described(channel), self.bus)
        return channel

    def remove(self, key: int | str, by: str) -> Channel | None:
        channel = self.store.channels.get(key)
        if channel is None or not self.store.channels.remove(channel.id):
            return None
        record_setting(self.store, f"channel {channel.name}", by, described(channel), None, self.bus)
        return channel
