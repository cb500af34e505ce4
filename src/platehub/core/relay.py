"""The bus between platehub processes: one Redis stream (PLATEHUB_REDIS_URL).

Each process appends the events of the topics it carries to the stream `platehub:bus` (XADD, trimmed to
about `maxlen` entries) and reads the stream from where it started (XREAD, blocking), so every process —
the one that published included — hands every event to its everywhere-subscribers (core/bus.py), in the
stream's one order, once. The payloads cross as JSON (core/wire.py).

The database stays the source of truth: a read is stored and acknowledged whether Redis is there or not.
While Redis is unreachable the relay is down: `send` refuses, so each process's events reach its own
subscribers only, and it tries again with backoff (0.2 s doubling to 5 s). Back, it resumes reading after
the last entry it had (none missed, if Redis kept the stream), or from the stream's start when Redis lost it
(a restart without persistence): the live streams resume with the events published since.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from platehub.core import wire
from platehub.core.bus import Event
from platehub.core.redact import redact_url
from platehub.core.tasks import cancel

log = logging.getLogger("platehub.relay")

STREAM = "platehub:bus"
BATCH = 500  # entries per XADD pipeline, and per XREAD


if TYPE_CHECKING:
    import redis.asyncio as redis


def client(url: str, socket_timeout: float) -> redis.Redis:
    """An asyncio Redis client that connects again once (at once) when a pooled connection turned out dead
    (Redis restarted since it was last used), before an operation is reported failed. (The `cluster` extra:
    redis-py is imported only with PLATEHUB_REDIS_URL.)"""
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError, TimeoutError

    return redis.Redis.from_url(url, socket_timeout=socket_timeout, socket_connect_timeout=2,
                                retry=Retry(NoBackoff(), 1), retry_on_error=[ConnectionError, TimeoutError])


def _failures() -> tuple[type[Exception], ...]:
    """What an unreachable Redis raises."""
    from redis.exceptions import RedisError

    return RedisError, OSError


def _entry_id(value: bytes | str) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class Relay:
    def __init__(self, url: str, topics: Iterable[str], stream: str = STREAM, maxlen: int = 100_000,
                 queue: int = 10_000) -> None:
        self.url = url
        self.topics = frozenset(topics)
        self.stream = stream
        self.maxlen = maxlen
        self.up = False  # the last XADD/XREAD worked
        self._queue = queue
        self._out: asyncio.Queue[tuple[Event, str]] | None = None
        self._receive: Callable[[Event], None] | None = None
        self._tasks: tuple[asyncio.Task, ...] = ()
        self._client: redis.Redis | None = None
        self.sent = self.received = self.kept_here = 0  # events appended, read back, delivered here alone

    def send(self, event: Event) -> bool:
        """Queue the event for the stream (on the event loop); False when the relay is down or behind."""
        if not self.up or self._out is None or self._out.full():
            return False
        try:
            data = wire.dumps(event.payload)
        except TypeError as e:
            log.error("bus relay: %s event not sent to the other processes: %s", event.topic, e)
            return False
        self._out.put_nowait((event, data))
        return True

    def start(self, receive: Callable[[Event], None]) -> None:
        self._receive = receive
        self._out = asyncio.Queue(self._queue)
        # socket timeout above XREAD's 1 s block; connecting gives up fast, so an outage is seen at once
        self._client = client(self.url, socket_timeout=5)
        self._tasks = (asyncio.create_task(self._reading(), name="relay-read"),
                       asyncio.create_task(self._sending(), name="relay-send"))

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel(task)
        if self._client is not None:
            await self._client.aclose()

    def _state(self, up: bool, error: Exception | None = None) -> None:
        if up and not self.up:
            log.info("bus relay: connected to %s; live events reach every process", redact_url(self.url))
        elif not up and self.up:
            log.warning("bus relay: %s unreachable (%s); live events stay in their own process until it is back",
                        redact_url(self.url), error)
        self.up = up

    async def _resume(self, last: tuple[int, int] | None) -> tuple[int, int]:
        """Where to read from: the stream's newest entry at the first start; after an outage the last entry
        read, unless the stream now ends before it (Redis lost it): then from the start."""
        assert self._client is not None
        newest = await self._client.xrevrange(self.stream, count=1)
        end = _entry_id(newest[0][0]) if newest else (0, 0)
        if last is None:
            return end
        return last if last <= end else (0, 0)

    async def _reading(self) -> None:
        assert self._client is not None and self._receive is not None
        last: tuple[int, int] | None = None
        delay = 0.2
        while True:
            try:
                if not self.up:
                    last = await self._resume(last)
                    self._state(True)
                    delay = 0.2
                got = await self._client.xread({self.stream: f"{last[0]}-{last[1]}"}, count=BATCH, block=1000)
                for _, entries in got or ():
                    for entry_id, fields in entries:
                        last = _entry_id(entry_id)
                        self._deliver(fields)
            except _failures() as e:
                self._state(False, e)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    def _deliver(self, fields: dict[bytes, bytes]) -> None:
        assert self._receive is not None
        try:
            topic = fields[b"t"].decode()
            payload = wire.loads(fields[b"p"])
        except (KeyError, UnicodeDecodeError, ValueError, TypeError) as e:
            log.warning("bus relay: an entry of %s that is no event skipped: %s", self.stream, e)
            return
        if topic in self.topics:
            self.received += 1
            self._receive(Event(topic, payload))

    async def _sending(self) -> None:
        assert self._client is not None and self._out is not None and self._receive is not None
        while True:
            batch = [await self._out.get()]
            while not self._out.empty() and len(batch) < BATCH:
                batch.append(self._out.get_nowait())
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for event, data in batch:
                        pipe.xadd(self.stream, {"t": event.topic, "p": data}, maxlen=self.maxlen, approximate=True)
                    await pipe.execute()
                self.sent += len(batch)
            except _failures() as e:
                self._state(False, e)
                while not self._out.empty():  # everything not yet sent stays here
                    batch.append(self._out.get_nowait())
                self.kept_here += len(batch)
                for event, _ in batch:
                    self._receive(event)
