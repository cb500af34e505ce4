"""Who may use platehub's own management endpoints (`/v1/devices/`, `/v1/lists/`, `/v1/lots/` …):

- a client with an API token (`Authorization: Token <key>`, created by `platehub token create NAME`),
  whatever the Snapshot API's token setting is: tokens are full access, for scripts;
- a signed-in platehub user (the TS-API session cookie, as the web console has) holding the access
  right the endpoint names (`accessRights2` names; admins hold every right). A state-changing request
  authenticated by the cookie must come from platehub's own pages: a cross-site one is refused
  (the cookie alone would otherwise let any web page act for the user; protocols/origin.py).

Errors are `{"detail": ...}`, as the Snapshot API's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from platehub.core.store import Store
from platehub.core.store.accounts import User
from platehub.protocols.deps import SettingsDep, StoreDep
from platehub.protocols.origin import cross_site
from platehub.protocols.tsapi.common import session_user

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


async def _token(request: Request, store: Store) -> bool:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "token":
        return False
    if await run_in_threadpool(store.tokens.verify, key.strip()) is None:
        raise HTTPException(403, "A valid API token is required.")
    return True


async def is_admin(request: Request, store: StoreDep) -> bool:
    """Whether the request may see what only admins see (an API token, or a signed-in admin); never
    refuses: a wrong token or no sign-in is simply not an admin (for pages anyone may read)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "token":
        return bool(key.strip()) and await run_in_threadpool(store.tokens.verify, key.strip()) is not None
    user = await session_user(request)
    return user is not None and user.is_admin


def require(right: str | None = None, admin: bool = False) -> Callable[[Request], Awaitable[User | None]]:
    """A dependency: an API token, or a signed-in user with `right` (or an admin when `admin`).
    Returns the user (None for a token)."""

    async def dependency(request: Request, store: StoreDep, settings: SettingsDep) -> User | None:
        if await _token(request, store):
            return None
        user = await session_user(request)  # as stored now: a removed user or a changed password ends it
        if user is None:
            raise HTTPException(403, "A valid API token or a signed-in user is required.")
        if request.method not in SAFE_METHODS and cross_site(request, settings.allowed_origins):
            raise HTTPException(403, "Cross-site requests are refused.")
        if admin and not user.is_admin:
            raise HTTPException(403, "Administrator rights required.")
        if right and not (user.is_admin or right in user.rights):
            raise HTTPException(403, f"The {right} right is required.")
        return user

    return dependency


require_api_token = require(admin=True)  # endpoints for settings: a token or an admin
IsAdmin = Annotated[bool, Depends(is_admin)]
Reader = Annotated[User | None, Depends(require("LPR"))]  # None: an API token
Writer = Annotated[User | None, Depends(require("Settings"))]
