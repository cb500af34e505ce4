"""All TS-API routes, one router per part of the guide."""

from __future__ import annotations

from fastapi import APIRouter

from platehub.protocols.tsapi import channels, dataexport, find, images, push, server, vod, ws

router = APIRouter(tags=["TS-API"])
for part in (server, channels, find, images, ws, push, vod, dataexport):
    router.include_router(part.router)
