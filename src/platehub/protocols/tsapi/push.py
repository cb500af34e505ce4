"""Placeholder: this door is being written (issue 3)."""

from fastapi import APIRouter

from platehub.config import Settings


def router(settings: Settings) -> APIRouter:
    return APIRouter()
