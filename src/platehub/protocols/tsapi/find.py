"""Placeholder: being written (issue 4)."""

from fastapi import APIRouter

from platehub.config import Settings


def router(settings: Settings) -> APIRouter:
    return APIRouter()
