"""All TS-API routes, one router per part of the guide."""

from __future__ import annotations

from fastapi import APIRouter

from platehub.protocols.tsapi import dataexport, find, images, push, server, vod, ws

router = APIRouter(tags=["TS-API"])
for part in (server, find, images, ws, push, vod, dataexport):
    router.include_router(part.router)
