"""All TS-API routes, one router per part of the guide."""

from __future__ import annotations

from fastapi import APIRouter

from platehub.config import Settings
from platehub.protocols.tsapi import find, images, push, server, ws


def router(settings: Settings) -> APIRouter:
    combined = APIRouter(tags=["TS-API"])
    for part in (server, find, images, ws, push):
        combined.include_router(part.router(settings))
    return combined
