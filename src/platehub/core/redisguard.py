"""The Redis that several processes share what they must agree on through (PLATEHUB_REDIS_URL), called
on request paths, so behind a small circuit breaker: never a stall, never an error out of it.

A sync client with short socket timeouts and no retries of its own. A call that fails (Redis down,
restarting, too slow) answers the caller's fallback instead (its process's own in-memory state), and so
does every call for the next `retry` seconds; the first call after that tries Redis again. One warning
per outage, one line when Redis is back. Scripts are loaded by SHA and loaded again after a Redis
restart (redis-py's `Script`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

T = TypeVar("T")
TIMEOUT = 0.5  # seconds: connect and read; a request waits at most this long once per outage
RETRY = 5.0  # seconds an outage is assumed to last before Redis is tried again

KEY_PREFIX = "platehub:"  # every key platehub writes; each also expires on its own


class RedisGuard:
    def __init__(self, url: str, timeout: float = TIMEOUT, retry: float = RETRY) -> None:
        import redis  # the `cluster` extra: only needed with PLATEHUB_REDIS_URL
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.url, self.retry = url, retry
        self.client: redis.Redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))
        self._errors = (redis.RedisError, OSError)
        self._lock = threading.Lock()
        self._down = False
        self._retry_at = 0.0

    def close(self) -> None:
        """Close the client's connections (at shutdown)."""
        self.client.close()

    def script(self, lua: str) -> redis.commands.core.Script:
        return self.client.register_script(lua)

    @property
    def down(self) -> bool:
        """Whether the last call found Redis unavailable (the fallback is in use)."""
        return self._down

    def run(self, call: Callable[[], T], fallback: Callable[[], T]) -> T:
        """call() on Redis; fallback() while Redis is unavailable."""
        if self._down and time.monotonic() < self._retry_at:
            return fallback()
        try:
            result = call()
        except self._errors as e:
            self._failed(e)
            return fallback()
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    log.warning("Redis at %s is back: sign-in slow-down and rate limits are shared again",
                                _safe(self.url))
        return result

    def _failed(self, error: Exception) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + self.retry
            if not self._down:
                self._down = True
                log.warning("Redis at %s unavailable (%s: %s): sign-in slow-down and rate limits are per process "
                            "until it is back (tried again every %g s)", _safe(self.url), type(error).__name__,
                            error, self.retry)


def _safe(url: str) -> str:
    """The URL without its password, for the log."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url
