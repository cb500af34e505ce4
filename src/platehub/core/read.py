"""The one domain record for a plate read, whatever door it came in by."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from platehub.engine.types import Box

_SEPARATORS = re.compile(r"[\s\-_.·•:/|\x00-\x1f\x7f-\x9f\u200b-\u200f\ufeff]+")


def normalize_plate(text: str) -> str:
    """Upper-case, separators (and control or zero-width characters) removed: the form reads are
    searched and compared by."""
    return _SEPARATORS.sub("", text or "").upper()


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Read:
    """A plate read. `plate` is normalised; `plate_raw` is the text as the source gave it."""

    plate: str
    plate_raw: str
    protocol: str  # the door: snapshot, ffjson, allinone, push ...
    id: str = field(default_factory=new_id)
    event_id: str | None = None  # reads made from one image / one call share it
    source: str | None = None  # camera / device code
    source_key: str | None = None  # the sender's own identity of this read, for idempotent ingest
    score: float | None = None  # OCR confidence 0..1
    dscore: float | None = None  # detection confidence 0..1
    box: Box | None = None
    region: str | None = None
    region_score: float | None = None
    vehicle_type: str | None = None
    vehicle_score: float | None = None
    vehicle_box: Box | None = None
    candidates: tuple[tuple[str, float], ...] = ()
    direction: str | None = None
    first_seen: datetime = field(default_factory=utcnow)
    last_seen: datetime | None = None
    received_at: datetime = field(default_factory=utcnow)
    image_full: str | None = None  # path relative to the image store
    image_plate: str | None = None
    raw: dict[str, Any] | None = None  # the payload as received, for audit and replay


IMAGE_KINDS = ("full", "plate")  # a read's images: the whole image, the plate crop


def image_path(read: Read, kind: str | None = None) -> str | None:
    """Where a kept image of the read is served (`/api/image/{id}/full|plate`, protocols/tsapi/images.py):
    the `kind` asked for, else the plate crop, else the whole image; None when that image was not kept."""
    if kind is None:
        kind = "plate" if read.image_plate else "full"
    kept = read.image_full if kind == "full" else read.image_plate
    return f"/api/image/{read.id}/{kind}" if kept else None
