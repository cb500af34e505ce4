"""The per-client slow-down of failed TS-API sign-ins (one per app, shared by every route)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


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

    def clear(self) -> None:
        """Forget every client (as a restart would)."""
        self._clients.clear()
