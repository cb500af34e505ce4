"""TS-API sign-in (spec 004, "Session authentication"): HTTP Basic or the `auth=` parameter
(base64 of "user:password", URL-encoded), and a per-client slow-down of failed sign-ins
(`signins.FailedSignIns`).

Sessions (`/api/auth?login=`, cookies) come with issue 4 and live here too."""

from __future__ import annotations

import base64
import binascii
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from platehub.core.store.accounts import User
from platehub.protocols.deps import services
from platehub.protocols.tsapi.signins import FailedSignIns

log = logging.getLogger("platehub.tsapi")


class BadCredentials(ValueError):
    """Credentials were sent but cannot be read (not base64, no colon, not UTF-8)."""


def decode_pair(encoded: str) -> tuple[str, str]:
    """`base64("user:password")` → (user, password).

    The query string is already URL-decoded; a `+` that was not encoded as %2B arrives as a space,
    and some clients leave out the `=` padding: both are forgiven."""
    text = encoded.strip().replace(" ", "+")
    text += "=" * (-len(text) % 4)
    try:
        pair = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise BadCredentials("the credentials are not base64 of UTF-8 'user:password'") from None
    user, sep, password = pair.partition(":")
    if not sep or not user:
        raise BadCredentials("the credentials are not 'user:password'")
    return user, password


def credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password) the request signs in with: the `Authorization: Basic` header, else the
    `auth=` query parameter; None when it sends neither. Raises BadCredentials when unreadable."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "basic":
            return decode_pair(value)
    auth = request.query_params.get("auth")
    if auth is not None:
        return decode_pair(auth)
    if header:
        raise BadCredentials("only Basic authorization or the auth= parameter is accepted")
    return None


def challenge(realm: str = "platehub") -> dict[str, str]:
    return {"WWW-Authenticate": f'Basic realm="{realm}", charset="UTF-8"'}


class SignInRefused(Exception):
    """401 (no or wrong credentials) or 429 (too many failures); rendered by the protocol's routes."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


async def sign_in(request: Request) -> User:
    """The user the request signs in as; raises SignInRefused."""
    client = request.client.host if request.client else "?"
    throttle: FailedSignIns = services(request).sign_ins  # the app's one, shared by every TS-API route
    wait = throttle.wait(client)
    if wait > 0:
        after = throttle.retry_after(wait)
        raise SignInRefused(429, f"Too many failed sign-ins; try again in {after} s.", {"Retry-After": after})
    try:
        creds = credentials(request)
    except BadCredentials as e:
        creds, problem = None, str(e)
    else:
        if creds is None:
            raise SignInRefused(401, "Sign-in required: HTTP Basic or the auth= parameter.", challenge())
        problem = ""
    user = await run_in_threadpool(services(request).store.users.verify, *creds) if creds else None
    if user is None:
        delay = throttle.failed(client)
        log.warning("TS-API sign-in refused for %r from %s: %s%s", creds[0] if creds else None, client,
                    problem or "wrong user or password",
                    f"; client blocked for {delay:g} s" if delay else "")
        raise SignInRefused(401, "Wrong user or password." if creds else f"Unreadable credentials: {problem}.",
                            challenge())
    throttle.succeeded(client)
    return user
