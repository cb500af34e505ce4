"""One leader among the platehub processes: the jobs that must run once per site run in it.

Those jobs (app.py says which: the device online/offline monitor, video channels and their recording,
retention, the MQTT bridge) would repeat each other's work, or their reads, if every process ran them.
With PLATEHUB_REDIS_URL the processes elect a leader through a lease in Redis: `SET platehub:leader <id> NX
PX <ttl>`, renewed by its holder every `every` seconds (a script that extends the lease only if it still
holds it); when the leader dies its lease runs out and the next process to try takes it, within `ttl` +
`every` seconds. A process that finds its lease taken by another (Redis lost it, restarted, and someone
else was quicker) stops its jobs. While Redis cannot be reached nothing changes: the leader keeps leading
(no other process can be elected then either), so an outage of Redis stops no camera's monitor or channel.

Without Redis the one process leads from its start to its end.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

from platehub.core.tasks import cancel

log = logging.getLogger("platehub.leader")

KEY = "platehub:leader"
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

Job = Callable[[], Awaitable[None]]


class Leader:
    def __init__(self, url: str = "", ttl: float = 15.0, every: float = 5.0, key: str = KEY) -> None:
        self.url = url
        self.ttl, self.every, self.key = ttl, every, key
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.leading = False
        self._elected: Job | None = None
        self._deposed: Job | None = None
        self._task: asyncio.Task | None = None
        self._client = None

    async def start(self, elected: Job, deposed: Job) -> None:
        """Run `elected` when this process becomes the leader and `deposed` when it stops being it (on the
        event loop). Without Redis: now."""
        self._elected, self._deposed = elected, deposed
        if not self.url:
            await self._take()
            return
        from platehub.core.relay import client

        self._client = client(self.url, socket_timeout=2)
        self._task = asyncio.create_task(self._run(), name="leader")

    async def stop(self) -> None:
        """Stop the jobs (when leading) and hand the lease back, so another process takes over at once."""
        await cancel(self._task)
        if self.leading:
            await self._give_up("this process is stopping")
            if self._client is not None:
                try:
                    await self._client.eval(RELEASE, 1, self.key, self.id)
                except Exception as e:  # Redis away: the lease runs out by itself
                    log.warning("leader: could not hand the lease back (%s); it runs out in %.0f s", e, self.ttl)
        if self._client is not None:
            await self._client.aclose()

    async def _take(self) -> None:
        assert self._elected is not None
        self.leading = True
        log.info("leader: %s leads: it runs the once-per-site jobs", self.id)
        await self._elected()

    async def _give_up(self, why: str) -> None:
        assert self._deposed is not None
        self.leading = False
        log.warning("leader: %s no longer leads (%s): its once-per-site jobs stop", self.id, why)
        await self._deposed()

    async def _run(self) -> None:
        from redis.exceptions import RedisError

        assert self._client is not None
        ttl_ms = int(self.ttl * 1000)
        away = False
        while True:
            try:
                if self.leading:
                    if not await self._client.eval(RENEW, 1, self.key, self.id, ttl_ms):
                        if await self._client.set(self.key, self.id, nx=True, px=ttl_ms):
                            log.info("leader: the lease was gone (Redis restarted?); %s took it again", self.id)
                        else:
                            await self._give_up("another process holds the lease")
                elif await self._client.set(self.key, self.id, nx=True, px=ttl_ms):
                    await self._take()
                if away:
                    log.info("leader: Redis is back")
                    away = False
            except (RedisError, OSError) as e:
                if not away:
                    log.warning("leader: Redis unreachable (%s); %s", e,
                                "this process keeps leading" if self.leading else "no election until it is back")
                    away = True
            await asyncio.sleep(self.every)
