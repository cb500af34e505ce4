"""Video channels as stored (video/channels.py checks the fields before they get here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from platehub.core.read import utcnow
from platehub.core.store.database import as_utc
from platehub.core.store.schema import channels

Polygons = tuple[tuple[tuple[float, float], ...], ...]


@dataclass(frozen=True)
class Channel:
    id: int
    name: str  # unique; the source (device code) of its reads
    url: str  # rtsp://…, http(s)://… (MJPEG or H.264 over HTTP), or a video file's path
    enabled: bool = True
    sample_rate: float = 5.0  # frames read a second
    mode: str = "fast"  # engine mode
    zones: Polygons = ()  # 8K logical coordinates (video/zones.py); none: the whole view
    masks: Polygons = ()
    min_plate_width: int = 0  # pixels; narrower plates are ignored
    text_formats: tuple[str, ...] = ()  # regular expressions; a read must match one (none: any)
    direction: str = "any"  # any | in | out
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    recording: str = "off"  # off | continuous | event (video/recorder.py)


FIELDS = ("name", "url", "enabled", "sample_rate", "mode", "zones", "masks", "min_plate_width", "text_formats",
          "direction", "recording")


def _polygons(value: Any) -> Polygons:
    return tuple(tuple((float(x), float(y)) for x, y in poly) for poly in value or ())


def _from_row(r) -> Channel:
    return Channel(r.id, r.name, r.url, bool(r.enabled), float(r.sample_rate), r.mode, _polygons(r.zones),
                   _polygons(r.masks), int(r.min_plate_width), tuple(r.text_formats or ()), r.direction,
                   as_utc(r.created_at), as_utc(r.updated_at), r.recording or "off")


def _values(c: Channel) -> dict[str, Any]:
    return {"name": c.name, "url": c.url, "enabled": c.enabled, "sample_rate": c.sample_rate, "mode": c.mode,
            "zones": [[list(p) for p in poly] for poly in c.zones] or None,
            "masks": [[list(p) for p in poly] for poly in c.masks] or None,
            "min_plate_width": c.min_plate_width, "text_formats": list(c.text_formats) or None,
            "direction": c.direction, "recording": c.recording}


class ChannelExists(Exception):
    pass


class ChannelRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self) -> list[Channel]:
        with self.engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(select(channels).order_by(channels.c.id))]

    def get(self, key: int | str) -> Channel | None:
        """By id (an int, or digits) or by name."""
        c = channels.c
        where = c.id == int(key) if isinstance(key, int) or (key.isdigit() and len(key) < 10) else c.name == key
        with self.engine.connect() as conn:
            row = conn.execute(select(channels).where(where)).first()
            if row is None and isinstance(key, str) and key.isdigit():
                row = conn.execute(select(channels).where(c.name == key)).first()
        return _from_row(row) if row is not None else None

    def add(self, channel: Channel) -> Channel:
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                cid = conn.execute(insert(channels).values(**_values(channel), created_at=now,
                                                           updated_at=now)).inserted_primary_key[0]
        except IntegrityError:
            raise ChannelExists(f"A channel named {channel.name!r} exists already.") from None
        return self.get(int(cid))  # type: ignore[return-value]

    def replace(self, channel: Channel) -> Channel:
        try:
            with self.engine.begin() as conn:
                conn.execute(update(channels).where(channels.c.id == channel.id)
                             .values(**_values(channel), updated_at=utcnow()))
        except IntegrityError:
            raise ChannelExists(f"A channel named {channel.name!r} exists already.") from None
        return self.get(channel.id)  # type: ignore[return-value]

    def remove(self, channel_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(channels).where(channels.c.id == channel_id)).rowcount > 0
