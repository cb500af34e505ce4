"""Signed-in sessions (the TS-API `/api/auth` cookie, which the web console uses too), in the database.

Every request with a session cookie is checked here against the users table, so whatever another
process changed shows at once: a removed user's sessions are gone (the foreign key cascades), a
password change or a change of rights ends them (`core/accounts.py`), and the user a session returns
carries the rights stored now. Only a SHA-256 hash of the token is stored. A session ends after
`idle` seconds without requests; `last_used_at` is written at most every `touch` seconds."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Engine, delete, func, insert, select, update

from platehub.core.read import utcnow
from platehub.core.store.accounts import User
from platehub.core.store.database import as_utc
from platehub.core.store.schema import sessions, users

IDLE = 8 * 3600.0  # seconds without requests before a session ends
TOUCH = 60.0  # seconds between writes of a session's last use
MAX_SESSIONS = 10_000  # beyond this, the least recently used sessions end first


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row) -> User:
    return User(row.id, row.login, bool(row.is_admin), tuple(row.rights or ()))


class SessionRepo:
    def __init__(self, engine: Engine, idle: float = IDLE, touch: float = TOUCH,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self.engine = engine
        self.idle, self.touch, self.max_sessions = idle, touch, max_sessions

    def open(self, user: User) -> str:
        """A new session of `user`; returns the token for the cookie (only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.last_used_at < now - timedelta(seconds=self.idle)))
            conn.execute(insert(sessions).values(token_hash=_digest(token), user_id=user.id, created_at=now,
                                                 last_used_at=now))
            extra = conn.execute(select(func.count()).select_from(sessions)).scalar_one() - self.max_sessions
            if extra > 0:
                oldest = select(sessions.c.token_hash).order_by(sessions.c.last_used_at).limit(extra)
                conn.execute(delete(sessions).where(sessions.c.token_hash.in_(oldest)))
        return token

    def user(self, token: str | None) -> User | None:
        """The user signed in by `token` as stored now; None when the session has ended."""
        if not token:
            return None
        digest, now = _digest(token), utcnow()
        query = (select(users.c.id, users.c.login, users.c.is_admin, users.c.rights, sessions.c.last_used_at)
                 .join(users, users.c.id == sessions.c.user_id).where(sessions.c.token_hash == digest))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        idle = (now - as_utc(row.last_used_at)).total_seconds()
        if idle > self.idle:
            self._end(digest)
            return None
        if idle > self.touch:
            with self.engine.begin() as conn:
                conn.execute(update(sessions).where(sessions.c.token_hash == digest).values(last_used_at=now))
        return _user(row)

    def close(self, token: str | None) -> User | None:
        """End the session; returns whose it was (None: there was none)."""
        user = self.user(token)
        if user is not None:
            self._end(_digest(token or ""))
        return user

    def close_user(self, login: str) -> int:
        """End every session of `login` (removed, or its rights or password changed); how many ended."""
        uid = select(users.c.id).where(users.c.login == login).scalar_subquery()
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.user_id == uid)).rowcount

    def _end(self, digest: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == digest))
