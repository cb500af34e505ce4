"""HTTP routes of the Snapshot API. Thin: parse, call the domain, render."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from platehub import __version__
from platehub.core import webhooks
from platehub.core.read import utcnow
from platehub.core.recognition import QuotaExceeded
from platehub.engine.image import ImageError
from platehub.protocols import forms
from platehub.protocols.deps import BusDep, RateLimiterDep, RecognizerDep, SettingsDep, StoreDep
from platehub.protocols.manage.auth import IsAdmin, require_api_token
from platehub.protocols.snapshot import codec
from platehub.protocols.snapshot.request import (
    BadRequest,
    decode_base64,
    engine_options,
    parse_json_body,
    parse_timestamp,
)
from platehub.protocols.snapshot.upload_url import TooLarge, fetch

log = logging.getLogger("platehub.snapshot")
router = APIRouter(tags=["Snapshot API (Plate Recognizer compatible)"])
MAX_FIELDS = 100  # form fields, and files, per request


def _detail(status: int, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


async def check_token(request: Request, settings: SettingsDep, store: StoreDep) -> None:
    """`Authorization: Token <key>`; required only when the server is set to require it."""
    if not settings.require_token:
        return
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "token" or not key.strip():
        raise HTTPException(403, "Authentication credentials were not provided.")
    if await run_in_threadpool(store.tokens.verify, key.strip()) is None:
        raise HTTPException(403, "Invalid token.")


class _Fields:
    """The request's parameters from multipart, urlencoded or JSON bodies (query string as fallback)."""

    def __init__(self, values: dict[str, list[Any]]) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        v = self.values.get(name)
        return v[0] if v else None

    def all(self, name: str) -> list[Any]:
        return self.values.get(name, [])

    def text(self, name: str) -> Any:
        """A parameter that is text (or a JSON body's scalar); a file sent in its place is a 400."""
        v = self.get(name)
        if isinstance(v, UploadFile | bytes):
            raise BadRequest(f"{name} must be a text field, not a file.")
        return v


async def _read_fields(request: Request, limit: int) -> _Fields:
    values: dict[str, list[Any]] = {}
    for k, v in request.query_params.multi_items():
        values.setdefault(k, []).append(v)
    ctype = forms.media_type(request.headers.get("content-type"))
    if ctype in forms.FORM_TYPES:  # bodies are parsed in worker threads, off the event loop
        form = await forms.read(request, max_fields=MAX_FIELDS, max_files=MAX_FIELDS, max_part_size=limit)
        body: dict[str, list[Any]] = {}
        for k, v in form.multi_items():
            body.setdefault(k, []).append(v)
        values.update(body)
    elif ctype == "application/json":
        for k, v in (await run_in_threadpool(parse_json_body, await request.body())).items():
            values[k] = v if isinstance(v, list) else [v]
    elif ctype.startswith("image/") or ctype == "application/octet-stream":
        values["upload"] = [await request.body()]
    return _Fields(values)


async def _image(fields: _Fields, settings) -> tuple[bytes, str]:
    upload = fields.get("upload")
    if isinstance(upload, UploadFile):
        data = await upload.read()
        await upload.close()
        return data, upload.filename or "upload.jpg"
    if isinstance(upload, bytes):
        return upload, "upload.jpg"
    if isinstance(upload, str) and upload.strip():
        return await run_in_threadpool(decode_base64, upload), "upload.jpg"
    url = fields.text("upload_url")
    if isinstance(url, str) and url.strip():
        data = await fetch(url.strip(), settings.upload_url_hosts, settings.upload_limit,
                           settings.upload_url_deadline)
        return data, url.rstrip("/").rsplit("/", 1)[-1] or "upload.jpg"
    raise BadRequest("Send the image as `upload` (file or base64) or give an `upload_url`.")


@router.post("/v1/plate-reader/", dependencies=[Depends(check_token)],
             summary="Read all licence plates in an image")
@router.post("/v1/plate-reader", include_in_schema=False, dependencies=[Depends(check_token)])
async def plate_reader(request: Request, settings: SettingsDep, limiter: RateLimiterDep,
                       recognizer: RecognizerDep) -> JSONResponse:
    wait = limiter.check(request.client.host if request.client else "?")
    if wait:
        return _detail(429, limiter.detail(wait), status_code=429)
    try:
        fields = await _read_fields(request, settings.upload_limit)
        data, filename = await _image(fields, settings)
        options = engine_options(
            [r for r in fields.all("regions") + fields.all("region") if isinstance(r, str)],
            fields.text("config"),
            fields.text("mmc"),
        )
        camera = fields.text("camera_id")
        rec = await recognizer.recognize(
            data, options, filename,
            camera_id=str(camera) if camera not in (None, "") else None,
            timestamp=parse_timestamp(fields.text("timestamp")),
        )
    except (BadRequest, ImageError) as e:
        log.info("plate-reader 400 from %s: %s", request.client.host if request.client else "?", e)
        return _detail(400, str(e))
    except forms.FormError as e:
        return _detail(e.status, f"The form data could not be parsed: {e}")
    except TooLarge:
        return _detail(413, f"The image at upload_url is larger than {settings.upload_limit} bytes.")
    except QuotaExceeded:
        return _detail(403, "You do not have enough credits to perform this request (monthly call limit reached).")
    return JSONResponse(codec.plate_reader_response(rec, settings.max_calls))


@router.get("/info/", summary="Server version, usage, webhook health; webhook targets (redacted) for admins")
@router.get("/info", include_in_schema=False)
def info(store: StoreDep, settings: SettingsDep, admin: IsAdmin) -> dict[str, Any]:
    """Anyone: the version, usage and how many webhook targets are enabled or failing. An admin (an
    API token or a signed-in admin) also gets the targets, their URLs redacted (core/webhooks.py)."""
    hooks = store.webhooks.list()
    now = utcnow()
    calls, total = store.usage.calls(now), store.usage.total()
    return {
        "version": __version__,
        "license_key": None,
        "total_calls": codec.call_limit(settings.max_calls),
        "usage": {**codec.usage(calls, settings.max_calls), "total_calls_ever": total},
        "webhooks": [webhooks.shown(h) for h in hooks] if admin else [],
        "webhook_health": webhooks.health(hooks),
        "capabilities": {
            "plate_detection": True,
            "plate_ocr": True,
            "region": "template-based guess (no region classifier model)",
            "vehicle_detection": False,
            "mmc": False,
        },
    }


@router.get("/v1/statistics/", dependencies=[Depends(check_token)], summary="Calls this month")
@router.get("/v1/statistics", include_in_schema=False, dependencies=[Depends(check_token)])
def statistics(store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    now = utcnow()
    calls = store.usage.calls(now)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return {
        "usage": {"month": now.month, "calls": calls, "year": now.year,
                  "resets_on": f"{year:04d}-{month:02d}-01T00:00:00Z"},
        "total_calls": codec.call_limit(settings.max_calls),
    }


@router.get("/v1/webhooks/", dependencies=[Depends(require_api_token)], summary="List webhook targets")
def list_webhooks(store: StoreDep) -> list[dict[str, Any]]:
    return [webhooks.shown(h) for h in store.webhooks.list()]  # targets redacted


@router.post("/v1/webhooks/", dependencies=[Depends(require_api_token)], status_code=201,
             summary="Add a webhook target")
async def add_webhook(request: Request, store: StoreDep, bus: BusDep) -> dict[str, Any]:
    try:
        body = await request.json()
        target = str(body["target"])
    except Exception:
        raise HTTPException(400, 'Send JSON {"target": "http://...", "with_image": false, '
                                 '"events": "recognition" | "alert"}.') from None
    hook = await run_in_threadpool(lambda: webhooks.add_webhook(  # WebhookError: 400 (protocols/errors.py)
        store, target, with_image=bool(body.get("with_image", False)),
        events=str(body.get("events") or "recognition"), by="api", bus=bus))
    shown = webhooks.shown(hook)
    return {k: shown[k] for k in ("id", "target", "with_image", "events", "enabled")}


@router.delete("/v1/webhooks/{hook_id}/", dependencies=[Depends(require_api_token)], status_code=204,
               summary="Remove a webhook target")
def remove_webhook(hook_id: int, store: StoreDep, bus: BusDep) -> None:
    if not webhooks.remove_webhook(store, hook_id, by="api", bus=bus):
        raise HTTPException(404, "No such webhook.")
