"""`GET /metrics`: the Prometheus text exposition of core.metrics, for whom PLATEHUB_METRICS allows.

A token is an API token (`platehub token create`), sent as `Authorization: Bearer <key>` (Prometheus'
`authorization` / `bearer_token` scrape settings) or `Authorization: Token <key>` (as the Snapshot API)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from platehub.core.metrics import CONTENT_TYPE, allowed
from platehub.protocols.deps import MetricsDep, SettingsDep, StoreDep

router = APIRouter(tags=["Monitoring"])


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text exposition format)")
def metrics(request: Request, settings: SettingsDep, store: StoreDep, registry: MetricsDep) -> Response:

    def token_ok() -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() in ("bearer", "token") and bool(key.strip()) and \
            store.tokens.verify(key.strip()) is not None

    proxied = "x-forwarded-for" in request.headers or "forwarded" in request.headers
    peer = request.client.host if request.client else None
    if not allowed(settings.metrics, peer, proxied, token_ok):
        raise HTTPException(401, "An API token is required (Authorization: Bearer <key>); see PLATEHUB_METRICS.",
                            headers={"WWW-Authenticate": "Bearer"})
    return Response(registry.render(), media_type=CONTENT_TYPE)
