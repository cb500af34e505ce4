"""TS-API sessions: a cookie after /api/auth?login=…, ended by /api/auth?logout.

Kept in memory (one platehub process); a session ends after `IDLE` seconds without requests."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from platehub.core.store.accounts import User

COOKIE = "platehub_session"
IDLE = 8 * 3600.0


@dataclass
class _Session:
    user: User
    last_used: float


class SessionStore:
    def __init__(self, idle: float = IDLE, max_sessions: int = 10_000) -> None:
        self.idle = idle
        self.max_sessions = max_sessions
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def open(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                self._expire(now)
                if len(self._sessions) >= self.max_sessions:  # still full: drop the least recently used
                    oldest = min(self._sessions, key=lambda k: self._sessions[k].last_used)
                    del self._sessions[oldest]
            self._sessions[token] = _Session(user, now)
        return token

    def user(self, token: str | None) -> User | None:
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(token)
            if session is None or now - session.last_used > self.idle:
                self._sessions.pop(token, None)
                return None
            session.last_used = now
            return session.user

    def close(self, token: str | None) -> User | None:
        with self._lock:
            session = self._sessions.pop(token or "", None)
        return session.user if session else None

    def close_user(self, login: str) -> int:
        """End every session of `login` (removed, or its rights or password changed); how many ended."""
        with self._lock:
            ended = [k for k, s in self._sessions.items() if s.user.login == login]
            for token in ended:
                del self._sessions[token]
        return len(ended)

    def _expire(self, now: float) -> None:
        for token in [k for k, s in self._sessions.items() if now - s.last_used > self.idle]:
            del self._sessions[token]
