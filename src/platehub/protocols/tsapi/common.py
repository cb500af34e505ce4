"""What every TS-API route shares: JSON with `indent=0..8`, errors, who is signed in.

A request is signed in by the session cookie, or by `auth=` / HTTP Basic on the request itself
(spec 004, "Session authentication"). Routes use `await require_user(request, right)` and
`respond(request, data)`; a raised `TsApiError` becomes the status and a JSON `{"code","message"}`."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from platehub.core.store.accounts import User
from platehub.core.store.sessions import SessionRepo
from platehub.protocols.deps import services
from platehub.protocols.tsapi import messages
from platehub.protocols.tsapi.auth import SignInRefused, credentials, sign_in
from platehub.protocols.tsapi.session import COOKIE


class TsApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, code: int = -1) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.code = status, message, headers or {}, code


def indent_of(request: Request) -> int | None:
    """The `indent` parameter, 0..8 (spec: "The value of indent ranges from 0 to 8")."""
    raw = request.query_params.get("indent")
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= 8 else None


def dumps(data: Any, indent: int | None) -> bytes:
    if indent:
        return json.dumps(data, ensure_ascii=False, indent=indent).encode()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def respond(request: Request, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data, indent_of(request)), status_code=status, headers=headers,
                    media_type="application/json; charset=utf-8")


def error(request: Request, exc: TsApiError) -> Response:
    return respond(request, {"code": exc.code, "message": exc.message}, exc.status, exc.headers)


def sessions(conn: HTTPConnection) -> SessionRepo:
    """The sessions, in the database (blocking: call off the event loop, or use `session_user`)."""
    return services(conn).store.sessions


async def session_user(conn: HTTPConnection, token: str | None = None) -> User | None:
    """The user of the session `token` (default: the request's cookie) as stored now; None without one.

    Checked against the database on every request: a user removed, or whose password or rights
    changed, from any process (the CLI too), is signed out at once."""
    token = token if token is not None else conn.cookies.get(COOKIE)
    if not token:
        return None
    return await run_in_threadpool(sessions(conn).user, token)


async def current_user(request: Request) -> User | None:
    """The signed-in user: the session cookie first, else `auth=` / Basic on this request.

    Wrong credentials raise TsApiError (401, or 429 while a client is slowed down); none give None."""
    user = await session_user(request)
    if user is not None:
        return user
    try:
        if credentials(request) is None:
            return None
    except ValueError:
        pass  # unreadable credentials: sign_in reports them
    try:
        return await sign_in(request)
    except SignInRefused as e:
        raise TsApiError(e.status, e.message, e.headers) from None


async def require_user(request: Request, right: str | None = None, admin: bool = False) -> User:
    """401 when nobody is signed in; 403 without the access right (`accessRights2` name) or admin."""
    user = await current_user(request)
    if user is None:
        raise TsApiError(401, "Authentication required.")
    if admin and not user.is_admin:
        raise TsApiError(403, "Administrator rights required.")
    if right and not (user.is_admin or right in user.rights):
        raise TsApiError(403, f"The {right} right is required.")
    return user


async def user_in(request: Request, lang: str, right: str | None = None, admin: bool = False) -> User:
    """`require_user` with its message in the request's language (`lang`)."""
    try:
        return await require_user(request, right=right, admin=admin)
    except TsApiError as e:
        raise TsApiError(e.status, messages.translate(e.message, lang), e.headers, e.code) from None
