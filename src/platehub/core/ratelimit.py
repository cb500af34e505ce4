"""A token bucket per client: `rate` calls per second, bursts of up to max(1, rate).

`RateLimiter` keeps the buckets in the process; `SharedRateLimiter` (PLATEHUB_REDIS_URL) keeps them in
Redis, so every process counts a client's calls together, and falls back to its own buckets while Redis
is unavailable (core/redisguard.py)."""

from __future__ import annotations

import math
import time

from platehub.core.redisguard import KEY_PREFIX, RedisGuard


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


# The same bucket, atomically in Redis. KEYS[1]: the client's hash {tokens, ts (ms)}. ARGV: rate (per s),
# burst, now in ms ('' = the Redis server's clock, which every process shares). Returns the wait in seconds
# as text (a Lua number would come back truncated to an integer). The key expires when the bucket would be
# full again: a missing key is a full bucket.
BUCKET_LUA = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local got = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(got[1]), tonumber(got[2])
if not tokens or not ts then tokens, ts = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.9f', tokens), 'ts', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return string.format('%.6f', wait)
"""


class SharedRateLimiter(RateLimiter):
    """RateLimiter's buckets in Redis (one script call per check); its own while Redis is away."""

    PREFIX = KEY_PREFIX + "ratelimit:"

    def __init__(self, rate: float, redis: RedisGuard, max_clients: int = 10_000) -> None:
        super().__init__(rate, max_clients)
        self.redis = redis
        self._script = redis.script(BUCKET_LUA)

    def check(self, client: str, now: float | None = None) -> float:
        if self.rate <= 0:
            return 0.0
        stamp = "" if now is None else str(round(now * 1000))  # given: tests; else Redis's clock
        mine = super().check  # while Redis is away
        return self.redis.run(
            lambda: float(self._script(keys=[self.PREFIX + client], args=[repr(self.rate), repr(self.burst), stamp])),
            lambda: mine(client, now))
