"""What every router of platehub's own API shares: times, JSON bodies, paging limit, file types, and
who made a change (for the event log)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, Request

from platehub.core.store.accounts import User
from platehub.protocols import jsondepth

MAX_LIMIT = 1000  # rows a page at most
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with `Z`, as every /v1 answer gives times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, else a 400 saying so."""
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise HTTPException(400, "The body must be JSON.") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "The body must be a JSON object.")
    if jsondepth.too_deep(body):
        raise HTTPException(400, f"The body is {jsondepth.message()}.")
    return body


def int_param(value: str | None, name: str, default: int | None, low: int = 0,
              high: int = 2**31 - 1) -> int | None:
    """A whole-number query parameter within [low, high]; `default` when absent; else a 400."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(400, f"`{name}` must be a whole number.") from None
    if not low <= number <= high:
        raise HTTPException(400, f"`{name}` must be from {low} to {high}.")
    return number


def who(user: User | None) -> str:
    """The event log's name for whoever changed something: the signed-in user, else the API token."""
    return user.login if user is not None else "api"
