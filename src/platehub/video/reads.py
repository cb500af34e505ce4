"""Vehicle passes read from video, stored as reads: protocol "video", the channel's name (or the upload's
`camera_id`) as the source, the pass's best frame and its plate crop as the images, through the same
ingest as every other door (gate decision, lists, parking, webhooks, TS-API events). The source is
recorded as a device (`devices.seen`), so a channel gets a gate policy like any camera."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from platehub.core.devices import DeviceRegistry
from platehub.core.ingest import Ingested, Ingestor
from platehub.core.read import Box, Read, new_id
from platehub.engine.image import encode_jpeg
from platehub.video.tracker import Pass

log = logging.getLogger("platehub.video")
PROTOCOL = "video"


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_read(source: str, p: Pass, key: str, origin: float = 0.0) -> Read:
    """The read of a pass; pass times plus `origin` are epoch seconds (live sources: origin 0)."""
    x1, y1, x2, y2 = (int(round(v)) for v in p.best.box)
    return Read(
        plate=p.plate, plate_raw=p.plate, protocol=PROTOCOL, source=source, source_key=key, score=p.score,
        dscore=p.best.dscore, box=Box(x1, y1, x2, y2), candidates=p.candidates, direction=p.direction,
        first_seen=_when(origin + p.first_seen), last_seen=_when(origin + p.last_seen),
        raw={"track": p.track, "frames": p.sightings, "frame_time": origin + p.best.t, "candidates": p.candidates},
    )


def images(p: Pass) -> tuple[bytes | None, bytes | None]:
    """The best frame and its plate crop as JPEG (None when the sighting carries no frame)."""
    frame = getattr(p.best.ref, "image", None)
    if frame is None:
        return None, None
    x1, y1, x2, y2 = (int(round(v)) for v in p.best.box)
    h, w = frame.shape[:2]
    crop = frame[max(0, y1):min(h, y2), max(0, x1):min(w, x2)]
    return encode_jpeg(frame), encode_jpeg(crop) if crop.size else None


class VideoReads:
    """Blocking: call from a worker thread or off the event loop."""

    def __init__(self, ingestor: Ingestor, devices: DeviceRegistry) -> None:
        self.ingestor, self.devices = ingestor, devices
        self.run = new_id()[:8]  # keys of this process's passes: track numbers restart with each worker

    def store(self, source: str, p: Pass, origin: float = 0.0, key: str | None = None) -> Ingested:
        self.devices.seen(source, PROTOCOL)
        read = to_read(source, p, key or f"{self.run}:{new_id()}", origin)
        full, plate = images(p)
        return self.ingestor.ingest(read, full, plate)
