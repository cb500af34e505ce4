"""The per-client slow-down of failed TS-API sign-ins (one per app, shared by every route).

`FailedSignIns` counts in the process; `SharedSignIns` (PLATEHUB_REDIS_URL) counts in Redis, so failures
in one process slow the client down in every other, and falls back to its process's own count while
Redis is unavailable (core/redisguard.py)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from platehub.core.redisguard import KEY_PREFIX, RedisGuard


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


# FailedSignIns' rule, atomically in Redis. KEYS[1]: the client's hash {failures, last, blocked_until} (ms).
# ARGV: 'wait' or 'failed', free, base, cap, forget (s), now in ms ('' = the Redis server's clock, which
# every process shares). Returns seconds as text: the wait, or the block the failure earned. The key
# expires when the record would be forgotten.
SIGNINS_LUA = """
local free, base, cap, forget = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = tonumber(ARGV[6])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local got = redis.call('HMGET', KEYS[1], 'failures', 'last', 'blocked_until')
local failures, last, blocked = tonumber(got[1]), tonumber(got[2]), tonumber(got[3])
if not (failures and last and blocked) or (now - last > forget * 1000 and now >= blocked) then
  failures, blocked = nil, now
end
if ARGV[1] == 'wait' then
  return string.format('%.3f', math.max(0, blocked - now) / 1000)
end
failures = (failures or 0) + 1
local delay = 0
if failures > free then delay = math.min(cap, base * 2 ^ (failures - free - 1)) end
blocked = now + math.ceil(delay * 1000)
redis.call('HSET', KEYS[1], 'failures', failures, 'last', string.format('%d', now),
           'blocked_until', string.format('%d', blocked))
redis.call('PEXPIRE', KEYS[1], math.max(math.ceil(forget * 1000), blocked - now) + 1000)
return string.format('%.3f', delay)
"""


class SharedSignIns(FailedSignIns):
    """FailedSignIns' counts in Redis (one script call per check); its own while Redis is away."""

    PREFIX = KEY_PREFIX + "signins:"

    def __init__(self, redis: RedisGuard, free: int = 5, base: float = 1.0, cap: float = 300.0,
                 forget: float = 900.0, max_clients: int = 10_000) -> None:
        super().__init__(free, base, cap, forget, max_clients)
        self.redis = redis
        self._script = redis.script(SIGNINS_LUA)

    def _call(self, op: str, client: str, now: float | None) -> float:
        stamp = "" if now is None else str(round(now * 1000))  # given: tests; else Redis's clock
        args = [op, str(self.free), repr(self.base), repr(self.cap), repr(self.forget), stamp]
        return float(self._script(keys=[self.PREFIX + client], args=args))

    def wait(self, client: str, now: float | None = None) -> float:
        mine = super().wait
        return self.redis.run(lambda: self._call("wait", client, now), lambda: mine(client, now))

    def failed(self, client: str, now: float | None = None) -> float:
        mine = super().failed
        return self.redis.run(lambda: self._call("failed", client, now), lambda: mine(client, now))

    def succeeded(self, client: str) -> None:
        super().succeeded(client)
        self.redis.run(lambda: self.redis.client.delete(self.PREFIX + client), lambda: None)

    def clear(self) -> None:
        """Forget every client, in Redis too."""
        super().clear()

        def drop() -> None:
            for key in self.redis.client.scan_iter(match=self.PREFIX + "*", count=500):
                self.redis.client.unlink(key)

        self.redis.run(drop, lambda: None)
