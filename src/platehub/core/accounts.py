"""User accounts and API tokens as settings: the rules shared by `platehub user` / `platehub token`
(cli/users.py, cli/tokens.py) and the HTTP API (protocols/manage/accounts.py). Every change is recorded
in the event log (never a password or a key). Removing a user, or changing a password or rights,
ends that user's sessions (in the database: in every process at once, whichever process made the
change). Blocking (database): call off the event loop."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from platehub.config import ADMIN_PASSWORD, read_env
from platehub.core.bus import Bus
from platehub.core.errors import DomainError, NotFound
from platehub.core.eventlog import record_setting
from platehub.core.store.accounts import RIGHTS, ApiToken, User

MAX_LOGIN = 64
MIN_PASSWORD = 8


class AccountError(DomainError):
    """The change is refused; the message says why."""


class NoSuchAccount(AccountError, NotFound):
    pass


def ensure_admin(store) -> str | None:
    """Create the `admin` user on first start (PLATEHUB_ADMIN_PASSWORD, else a generated password, returned
    to be printed once). Safe when several processes start at once on one database: exactly one creates
    it (insert if missing), and only that one returns a generated password."""
    if store.users.get("admin") is not None:  # the usual start: no password hashed, no variable read
        return None
    password = read_env(ADMIN_PASSWORD)
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    return generated if store.users.create_if_missing("admin", password, is_admin=True) else None


def parse_rights(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """"LPR,dataexport" or ["LPR", "dataexport"] → ("LPR", "DataExport"): TS-API's accessRights2 names, any case."""
    if not value:
        return ()
    names = value.split(",") if isinstance(value, str) else list(value)
    known = {r.lower(): r for r in RIGHTS}
    out: list[str] = []
    for name in (str(x).strip() for x in names):
        if not name:
            continue
        if name.lower() not in known:
            raise AccountError(f"unknown right {name!r}; the rights are {', '.join(RIGHTS)}")
        if known[name.lower()] not in out:
            out.append(known[name.lower()])
    return tuple(out)


def check_login(login: str) -> str:
    if not login or len(login) > MAX_LOGIN or any(c.isspace() or c == ":" for c in login):
        raise AccountError(f"a login is 1 to {MAX_LOGIN} characters without spaces or ':' (HTTP Basic splits there)")
    return login


def check_password(password: str, strict: bool = False) -> str:
    """Empty passwords are refused; with `strict` (the web console) also short ones."""
    if not password:
        raise AccountError("the password is empty")
    if strict and len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    return password


def _describe(user: User) -> dict:
    return {"login": user.login, "admin": user.is_admin, "rights": list(user.rights)}


def add_user(store, login: str, password: str, *, admin: bool = False, rights: Iterable[str] | str | None = None,
             by: str | None = None, bus: Bus | None = None, strict: bool = False) -> User:
    login = check_login(login)
    granted = parse_rights(rights)
    check_password(password, strict)
    if store.users.get(login) is not None:
        raise AccountError(f"user {login!r} exists already")
    user = store.users.create(login, password, is_admin=admin, rights=granted)
    record_setting(store, "user", user=by, after=_describe(user), bus=bus)
    return user


def _existing(store, login: str) -> User:
    user = store.users.get(login)
    if user is None:
        raise NoSuchAccount(f"no user {login!r}")
    return user


def _other_admin(store, login: str) -> bool:
    return any(u.is_admin and u.login != login for u in store.users.list())


def remove_user(store, login: str, *, by: str | None = None, bus: Bus | None = None) -> User:
    user = _existing(store, login)
    if user.is_admin and not _other_admin(store, user.login):
        raise AccountError(f"{user.login!r} is the last admin; add another admin first")
    store.sessions.close_user(user.login)
    store.users.remove(user.login)  # sessions opened meanwhile go with the user (foreign key, cascade)
    record_setting(store, "user", user=by, before={"login": user.login}, bus=bus)
    return user


def set_password(store, login: str, password: str, *, by: str | None = None, bus: Bus | None = None,
                 strict: bool = False) -> User:
    user = _existing(store, login)
    store.users.set_password(user.login, check_password(password, strict))
    store.sessions.close_user(user.login)
    record_setting(store, "user password", user=by, after={"login": user.login}, bus=bus)  # never the password
    return user


def set_rights(store, login: str, *, admin: bool, rights: Iterable[str] | str | None, by: str | None = None,
               bus: Bus | None = None) -> User:
    user = _existing(store, login)
    granted = parse_rights(rights)
    if user.is_admin and not admin and not _other_admin(store, user.login):
        raise AccountError(f"{user.login!r} is the last admin; make another user admin first")
    store.users.set_rights(user.login, granted, admin)
    store.sessions.close_user(user.login)
    after = _existing(store, login)
    record_setting(store, "user rights", user=by, before=_describe(user), after=_describe(after), bus=bus)
    return after


def create_token(store, name: str, *, by: str | None = None, bus: Bus | None = None) -> tuple[ApiToken, str]:
    """A new API token and its key (to show once)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1 to 100 characters")
    token, secret = store.tokens.create(name)
    record_setting(store, "apiToken", user=by, after={"name": token.name, "prefix": token.prefix}, bus=bus)
    return token, secret


def revoke_token(store, ident: str, *, by: str | None = None, bus: Bus | None = None) -> None:
    """Revoke by id, name or prefix."""
    if not store.tokens.revoke(ident):
        raise NoSuchAccount(f"no active token matches {ident!r}")
    record_setting(store, "apiToken", user=by, before={"revoked": ident}, bus=bus)
