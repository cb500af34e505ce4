"""The domain's refusals (core/errors.py) as HTTP, in the `{"detail": ...}` convention that platehub's
own `/v1` API shares with the Snapshot API: NotFound → 404, Conflict → 409, any other DomainError → 400.
Registered once by the app (`app.create_app`); routes let these errors through. The TS-API and the
camera doors answer in their own conventions and catch what they expect themselves."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.requests import Request

from platehub.core.accounts import AccountError
from platehub.core.errors import Conflict, DomainError, NotFound
from platehub.core.webhooks import WebhookError


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def detail(exc: DomainError) -> str:
    """The answer's `detail`: the message (accounts' and webhooks' as a sentence, as they always were)."""
    if isinstance(exc, AccountError):
        return _sentence(str(exc))
    if isinstance(exc, WebhookError):
        return f"{exc}."
    return str(exc)


def status(exc: DomainError) -> int:
    return 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": detail(exc)}, status_code=status(exc))
