"""Rendering recognitions in the Snapshot API's JSON shapes (spec 002, "JSON Response")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from platehub.core.recognition import Recognition
from platehub.engine import PlateResult

API_VERSION = 1


def iso(ts: datetime) -> str:
    """2020-10-12T16:17:27.574008Z, as the spec's examples."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _mmc_not_available() -> dict[str, Any]:
    # platehub has no make/model, colour or orientation model: the spec's own "unknown" values,
    # with score 0, instead of invented predictions.
    return {
        "model_make": [{"make": "Unknown", "model": "Unknown", "score": 0.0}],
        "color": [{"color": "unknown", "score": 0.0}],
        "orientation": [{"orientation": "Unknown", "score": 0.0}],
    }


def plate_result(p: PlateResult, mmc: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "box": p.box.as_dict(),
        "plate": p.plate.lower(),
        "region": {"code": p.region, "score": p.region_score},
        "vehicle": {"score": p.vehicle.score, "type": p.vehicle.type, "box": p.vehicle.box.as_dict()},
        "score": p.score,
        "candidates": [{"score": c.score, "plate": c.plate.lower()} for c in p.candidates],
        "dscore": p.dscore,
    }
    if mmc:
        out.update(_mmc_not_available())
    return out


def vehicle_mode_result(p: PlateResult, mmc: bool) -> dict[str, Any]:
    """The "Vehicle Only Response" element (detection_mode=vehicle)."""
    props: dict[str, Any] = {}
    if mmc:
        m = _mmc_not_available()
        props = {
            "make_model": m["model_make"],
            "orientation": [{"value": "Unknown", "score": 0.0}],
            "color": [{"value": "unknown", "score": 0.0}],
        }
    return {
        "plate": {
            "type": "Plate",
            "score": p.dscore,
            "box": p.box.as_dict(),
            "props": {
                "plate": [{"value": c.plate.lower(), "score": c.score} for c in p.candidates],
                "region": [{"value": p.region, "score": p.region_score}],
            },
        },
        "vehicle": {"type": p.vehicle.type, "score": p.vehicle.score, "box": p.vehicle.box.as_dict(),
                    "props": props},
    }


def recognition_data(rec: Recognition) -> dict[str, Any]:
    """The recognition payload shared by the API response and the webhook `data`."""
    render = vehicle_mode_result if rec.options.detection_mode == "vehicle" else plate_result
    return {
        "processing_time": rec.processing_ms,
        "results": [render(p, rec.options.mmc) for p in rec.plates],
        "filename": rec.filename,
        "version": API_VERSION,
        "camera_id": rec.camera_id,
        "timestamp": iso(rec.timestamp),
    }


# What `max_calls` / `total_calls` say when the server has no monthly limit (PLATEHUB_MAX_CALLS=0):
# the spec's SDK example answers integers, and clients compute `max_calls - calls` as the calls
# remaining (the Home Assistant integration does, outside any try), so not null but the largest
# 32-bit integer — a limit no month reaches.
UNLIMITED_CALLS = 2**31 - 1


def call_limit(max_calls: int) -> int:
    """The monthly call limit as the API reports it (`max_calls`, `total_calls`)."""
    return max_calls if max_calls > 0 else UNLIMITED_CALLS


def usage(calls: int, max_calls: int) -> dict[str, Any]:
    return {"calls": calls, "max_calls": call_limit(max_calls)}


def plate_reader_response(rec: Recognition, max_calls: int) -> dict[str, Any]:
    return {**recognition_data(rec), "usage": usage(rec.calls, max_calls)}


def webhook_payload(rec: Recognition, hook_id: int, target: str) -> dict[str, Any]:
    return {"hook": {"target": target, "id": hook_id, "event": "image.done"}, "data": recognition_data(rec)}
