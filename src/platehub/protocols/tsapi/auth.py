"""TS-API sign-in (spec 004, "Session authentication"): HTTP Basic or the `auth=` parameter
(base64 of "user:password", URL-encoded), and a per-client slow-down of failed sign-ins.

Sessions (`/api/auth?login=`, cookies) come with issue 4 and live here too."""

from __future__ import annotations

import base64
import binascii
import logging
import math
import time
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from platehub.core.store.accounts import User

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


@dataclass
class _Record:
    failures: int
    last: float  # monotonic time of the last failure
    blocked_until: float


class FailedSignIns:
    """Counts failed sign-ins per client. The first `free` failures cost nothing; each further one
    blocks the client for `base` seconds, doubled per failure up to `cap`. While blocked the client
    is answered 429 without its password being checked (so guessing stops, right or wrong). A
    success clears the count; a client that stays quiet for `forget` seconds starts afresh."""

    def __init__(self, free: int = 5, base: float = 1.0, cap: float = 300.0, forget: float = 900.0,
                 max_clients: int = 10_000) -> None:
        self.free, self.base, self.cap, self.forget, self.max_clients = free, base, cap, forget, max_clients
        self._clients: dict[str, _Record] = {}

    def _record(self, client: str, now: float) -> _Record | None:
        rec = self._clients.get(client)
        if rec is not None and now - rec.last > self.forget and now >= rec.blocked_until:
            del self._clients[client]
            return None
        return rec

    def wait(self, client: str, now: float | None = None) -> float:
        """Seconds the client must wait before it may sign in again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        rec = self._record(client, now)
        return max(0.0, rec.blocked_until - now) if rec else 0.0

    def failed(self, client: str, now: float | None = None) -> float:
        """Count a failure; returns the seconds the client is now blocked for (0: not blocked)."""
        now = time.monotonic() if now is None else now
        rec = self._record(client, now) or _Record(0, now, now)
        rec.failures += 1
        rec.last = now
        over = rec.failures - self.free
        delay = min(self.cap, self.base * 2 ** (over - 1)) if over > 0 else 0.0
        rec.blocked_until = now + delay
        self._clients.pop(client, None)
        self._clients[client] = rec  # most recent last: the oldest are evicted first
        if len(self._clients) > self.max_clients:
            self._clients.pop(next(iter(self._clients)))
        return delay

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


class SignInRefused(Exception):
    """401 (no or wrong credentials) or 429 (too many failures); rendered by the protocol's routes."""

    def __init__(self, status: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def failed_sign_ins(request: Request) -> FailedSignIns:
    """The app's one failure counter, shared by every TS-API route."""
    state = request.app.state
    if getattr(state, "tsapi_failed_sign_ins", None) is None:
        state.tsapi_failed_sign_ins = FailedSignIns()
    return state.tsapi_failed_sign_ins


async def sign_in(request: Request) -> User:
    """The user the request signs in as; raises SignInRefused."""
    client = request.client.host if request.client else "?"
    throttle = failed_sign_ins(request)
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
    user = await run_in_threadpool(request.app.state.platehub.store.users.verify, *creds) if creds else None
    if user is None:
        delay = throttle.failed(client)
        log.warning("TS-API sign-in refused for %r from %s: %s%s", creds[0] if creds else None, client,
                    problem or "wrong user or password",
                    f"; client blocked for {delay:g} s" if delay else "")
        raise SignInRefused(401, "Wrong user or password." if creds else f"Unreadable credentials: {problem}.",
                            challenge())
    throttle.succeeded(client)
    return user
