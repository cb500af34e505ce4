"""A token bucket per client: `rate` calls per second, bursts of up to max(1, rate)."""

from __future__ import annotations

import math
import time


class RateLimiter:
    def __init__(self, rate: float, max_clients: int = 10_000) -> None:
        self.rate = rate
        self.burst = max(1.0, rate)
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, client: str, now: float | None = None) -> float:
        """0 when the call may go ahead (and is counted); else seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_clients:
                self._buckets.pop(next(iter(self._buckets)))
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    @staticmethod
    def detail(wait: float) -> str:
        seconds = max(1, math.ceil(wait))
        return f"Request was throttled. Expected available in {seconds} second{'s' if seconds != 1 else ''}."
