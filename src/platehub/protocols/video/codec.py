"""The JSON of video reads (the upload endpoint, `platehub video`) and of channels (`/v1/channels`)."""

from __future__ import annotations

from typing import Any

from platehub.core.store.channels import Channel
from platehub.protocols.manage.common import iso_utc
from platehub.video.channel import FileResult
from platehub.video.sources import redact
from platehub.video.status import ChannelStatus
from platehub.video.tracker import Pass


def pass_json(p: Pass) -> dict[str, Any]:
    """One vehicle pass. Times are seconds from the start of the video."""
    x1, y1, x2, y2 = (int(round(v)) for v in p.best.box)
    return {
        "plate": p.plate,
        "score": round(p.score, 3),
        "dscore": round(p.best.dscore, 3),
        "candidates": [{"plate": text, "score": share} for text, share in p.candidates],
        "box": {"xmin": x1, "ymin": y1, "xmax": x2, "ymax": y2},
        "frame_time": round(p.best.t, 3),
        "first_seen": round(p.first_seen, 3),
        "last_seen": round(p.last_seen, 3),
        "direction": p.direction,
        "frames": p.sightings,
    }


def file_json(result: FileResult, filename: str, sample_rate: float, mode: str) -> dict[str, Any]:
    return {
        "filename": filename,
        "duration": round(result.duration, 3),
        "width": result.width,
        "height": result.height,
        "sample_rate": sample_rate,
        "mode": mode,
        "frames": {"decoded": result.frames_decoded, "processed": result.frames_processed},
        "processing_time": round(result.processing_time, 3),
        "passes": [pass_json(p) for p in result.passes],
    }


def channel_json(c: Channel, status: ChannelStatus | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id, "name": c.name, "url": redact(c.url), "enabled": c.enabled, "sample_rate": c.sample_rate,
        "mode": c.mode, "zones": [[list(p) for p in poly] for poly in c.zones],
        "masks": [[list(p) for p in poly] for poly in c.masks], "min_plate_width": c.min_plate_width,
        "text_formats": list(c.text_formats), "direction": c.direction, "recording": c.recording,
        "created_at": iso_utc(c.created_at), "updated_at": iso_utc(c.updated_at),
    }
    if status is not None:
        out["status"] = status.as_dict()
    return out
