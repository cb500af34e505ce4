"""platehub's API for user accounts and API tokens (the web console's Settings page; scripts with a
token): `/v1/users/` list / add, `/v1/users/{login}/` rights, admin flag, password / remove;
`/v1/tokens/` list / create (the key is in the answer once), `/v1/tokens/{id}/` revoke.

Administrators only (or an API token). The rules and the event-log records are the CLI's
(`core/accounts.py`), which also end a changed or removed user's console / TS-API sessions, so
new rights apply at once; an admin changing their own account signs in again. Its refusals
(`AccountError`) are `{"detail": ...}` answers (protocols/errors.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from platehub.core import accounts
from platehub.core.store.accounts import RIGHTS, ApiToken, User
from platehub.protocols.deps import BusDep, StoreDep
from platehub.protocols.manage.auth import require
from platehub.protocols.manage.common import iso_utc, json_object, who

Admin = Annotated[User | None, Depends(require(admin=True))]  # None: an API token


def _user(u: User) -> dict[str, Any]:
    return {"login": u.login, "admin": u.is_admin, "rights": list(RIGHTS) if u.is_admin else list(u.rights)}


def _token(t: ApiToken) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": iso_utc(t.created_at),
            "revoked_at": iso_utc(t.revoked_at), "last_used_at": iso_utc(t.last_used_at)}


def _flag(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise HTTPException(400, f"`{name}` must be true or false.")
    return value


router = APIRouter(prefix="/v1", tags=["Accounts"])


@router.get("/users/", summary="List users and their rights (admin)")
def list_users(caller: Admin, store: StoreDep) -> list[dict[str, Any]]:
    return [_user(u) for u in store.users.list()]


@router.post("/users/", status_code=201,
             summary='Add a user: {"login", "password", "admin": false, "rights": ["LPR", ...]} (admin)')
async def add_user(request: Request, caller: Admin, store: StoreDep, bus: BusDep) -> dict[str, Any]:
    body = await json_object(request)
    user = await run_in_threadpool(accounts.add_user, store, str(body.get("login") or ""),
                                   str(body.get("password") or ""), admin=_flag(body, "admin"),
                                   rights=body.get("rights"), by=who(caller), bus=bus, strict=True)
    return _user(user)


@router.put("/users/{login}/", summary='Change a user: {"rights": [...], "admin": bool} and/or {"password"} (admin)')
async def change_user(request: Request, login: str, caller: Admin, store: StoreDep, bus: BusDep,
                      ) -> dict[str, Any]:
    body = await json_object(request)
    current = await run_in_threadpool(store.users.get, login)
    if current is None:
        raise HTTPException(404, f"No user {login!r}.")
    if not ({"rights", "admin", "password"} & body.keys()):
        raise HTTPException(400, "Send `rights` and/or `admin`, or `password`.")
    if "password" in body:
        await run_in_threadpool(accounts.set_password, store, login, str(body["password"] or ""),
                                by=who(caller), bus=bus, strict=True)
    user = current
    if "rights" in body or "admin" in body:
        rights = body.get("rights", list(current.rights))
        if not isinstance(rights, list | str):
            raise HTTPException(400, "`rights` must be a list of right names.")
        user = await run_in_threadpool(accounts.set_rights, store, login,
                                       admin=_flag(body, "admin", current.is_admin), rights=rights,
                                       by=who(caller), bus=bus)
    return _user(user)


@router.delete("/users/{login}/", status_code=204, summary="Remove a user (admin; not the last admin)")
def remove_user(login: str, caller: Admin, store: StoreDep, bus: BusDep) -> Response:
    accounts.remove_user(store, login, by=who(caller), bus=bus)
    return Response(status_code=204)


@router.get("/tokens/", summary="List API tokens (admin; never their keys)")
def list_tokens(caller: Admin, store: StoreDep) -> list[dict[str, Any]]:
    return [_token(t) for t in store.tokens.list()]


@router.post("/tokens/", status_code=201,
             summary='Create an API token: {"name"}; the answer\'s `key` is shown only now')
async def create_token(request: Request, caller: Admin, store: StoreDep, bus: BusDep) -> dict[str, Any]:
    body = await json_object(request)
    token, key = await run_in_threadpool(accounts.create_token, store, str(body.get("name") or ""),
                                         by=who(caller), bus=bus)
    return {**_token(token), "key": key}


@router.delete("/tokens/{token_id}/", status_code=204, summary="Revoke an API token (admin)")
def revoke_token(token_id: int, caller: Admin, store: StoreDep, bus: BusDep) -> Response:
    accounts.revoke_token(store, str(token_id), by=who(caller), bus=bus)
    return Response(status_code=204)
