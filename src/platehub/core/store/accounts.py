"""Users (Argon2id password hashes) and Snapshot API tokens (stored as SHA-256 hashes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, insert, select, update

from platehub.core.read import utcnow
from platehub.core.store.database import as_utc, insert_ignore
from platehub.core.store.schema import api_tokens, users

_hasher = PasswordHasher()


# TS-API's accessRights2 names (spec 004, "User information")
RIGHTS = ("DataExport", "Control", "Settings", "Playback", "LPR", "Remote")


@dataclass(frozen=True)
class User:
    id: int
    login: str
    is_admin: bool
    rights: tuple[str, ...]


@dataclass(frozen=True)
class ApiToken:
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class UserRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, login: str, password: str, is_admin: bool = False, rights: tuple[str, ...] = ()) -> User:
        with self.engine.begin() as conn:
            uid = conn.execute(
                insert(users).values(
                    login=login,
                    password_hash=_hasher.hash(password),
                    is_admin=is_admin,
                    rights=list(rights),
                    created_at=utcnow(),
                )
            ).inserted_primary_key[0]
        return User(int(uid), login, is_admin, rights)

    def create_if_missing(self, login: str, password: str, is_admin: bool = False) -> bool:
        """Create the user unless one of that login exists (also when another process creates it at the
        same moment: the unique login decides, nothing is raised); True when this call created it."""
        with self.engine.begin() as conn:
            made = conn.execute(insert_ignore(self.engine, users).values(
                login=login, password_hash=_hasher.hash(password), is_admin=is_admin, rights=[],
                created_at=utcnow()).returning(users.c.id)).first()
        return made is not None

    def get(self, login: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.login == login)).first()
        return User(row.id, row.login, bool(row.is_admin), tuple(row.rights or ())) if row else None

    def verify(self, login: str, password: str) -> User | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.login == login)).first()
        if row is None:
            _hasher.hash(password)  # same cost whether or not the user exists
            return None
        try:
            _hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(row.id, row.login, bool(row.is_admin), tuple(row.rights or ()))

    def list(self) -> list[User]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.login)).all()
        return [User(r.id, r.login, bool(r.is_admin), tuple(r.rights or ())) for r in rows]

    def remove(self, login: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(users).where(users.c.login == login)).rowcount > 0

    def set_password(self, login: str, password: str) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(update(users).where(users.c.login == login)
                             .values(password_hash=_hasher.hash(password))).rowcount
        return n > 0

    def set_rights(self, login: str, rights: tuple[str, ...], is_admin: bool) -> bool:
        with self.engine.begin() as conn:
            n = conn.execute(update(users).where(users.c.login == login)
                             .values(rights=list(rights), is_admin=is_admin)).rowcount
        return n > 0

    def exists(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(users.c.id).limit(1)).first() is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_from_row(row) -> ApiToken:
    return ApiToken(
        row.id, row.name, row.prefix, as_utc(row.created_at), as_utc(row.revoked_at), as_utc(row.last_used_at)
    )


class TokenRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str) -> tuple[ApiToken, str]:
        """A new token; the secret is returned once and only its hash is kept."""
        secret = secrets.token_hex(20)  # 40 hex characters, like Plate Recognizer's keys
        now = utcnow()
        with self.engine.begin() as conn:
            tid = conn.execute(
                insert(api_tokens).values(
                    name=name, token_hash=_digest(secret), prefix=secret[:8], created_at=now
                )
            ).inserted_primary_key[0]
        return ApiToken(int(tid), name, secret[:8], now, None, None), secret

    def list(self) -> list[ApiToken]:
        with self.engine.connect() as conn:
            return [_token_from_row(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.id))]

    def revoke(self, ident: str) -> bool:
        """Revoke by id, name or prefix; True when one was revoked."""
        cond = (api_tokens.c.name == ident) | (api_tokens.c.prefix == ident)
        if ident.isdigit():
            cond = cond | (api_tokens.c.id == int(ident))
        with self.engine.begin() as conn:
            n = conn.execute(
                update(api_tokens).where(cond & api_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow())
            ).rowcount
        return n > 0

    def verify(self, secret: str) -> ApiToken | None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(api_tokens).where(
                    (api_tokens.c.token_hash == _digest(secret)) & api_tokens.c.revoked_at.is_(None)
                )
            ).first()
            if row is None:
                return None
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.id).values(last_used_at=utcnow()))
        return _token_from_row(row)
