"""Publish/subscribe: consumers subscribe, adapters and services publish.

Events are published only after they are stored (store, then publish). A slow subscriber
never blocks a publisher: each subscriber has a bounded queue, and when it is full the
oldest event is dropped for that subscriber and counted.

Two kinds of subscriber. A plain one gets the events of its own process: the consumers that act once
per event (the event log, webhooks, MQTT, metrics) run where the event happened. One subscribed
`everywhere=True` (a TS-API WebSocket, a comet wake-up) gets the events of every platehub process
sharing the bus's `Link` (core/relay.py: a Redis stream, PLATEHUB_REDIS_URL), each once and in the
stream's order; without a link, or while it is down, everywhere means this process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("platehub.bus")

READ_STORED = "read.stored"  # payload: core.read.Read
READ_UPDATED = "read.updated"  # payload: core.read.Read (a later event of the same vehicle pass)
SNAPSHOT_DONE = "snapshot.done"  # payload: core.recognition.Recognition (one per API call)
DEVICE_STATUS = "device.status"  # payload: core.store.devices.Device (came online / went offline)
DEVICE_ADDRESS = "device.address"  # payload: core.devices.AddressAlert (a device moved, or a message refused)
EMERGENCY_CALL = "emergency.call"  # payload: dict (TS-API push emergencyCall event)
PARKING_COUNT = "parking.count"  # payload: core.parking.CountChange (changed counters + their groups)
RECORDING_STATUS = "recording.status"  # payload: video.recorder.RecordingState (a channel's recording changed)
PARKING_FULL = "parking.full"  # payload: dict (an entry into a full lot: lot, name, count, maxCount, read, plateNo)
CHANNEL_STATUS = "channel.status"  # payload: video.status.ChannelEvent (added/removed/renamed/source/state)
COMMAND_QUEUED = "command.queued"  # payload: str, the device code (core/commands.py: wakes its held comet poll)


@dataclass(frozen=True)
class Event:
    topic: str
    payload: Any


class Link(Protocol):
    """The bus between processes (core/relay.py `Relay`)."""

    topics: frozenset[str]  # the topics it carries

    def send(self, event: Event) -> bool:
        """Hand the event to every process (this one included, through `receive`); False when it cannot
        now (the link is down), and the bus delivers it here alone."""

    def start(self, receive: Callable[[Event], None]) -> None:
        """Deliver what the processes send with `receive` (on the event loop), and this process's events
        that `send` accepted but an outage then kept from the other processes."""

    async def stop(self) -> None: ...


class Subscription:
    def __init__(self, bus: Bus, topics: frozenset[str], maxsize: int, everywhere: bool) -> None:
        self._bus = bus
        self.topics = topics
        self.everywhere = everywhere
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            self._bus.dropped += 1
        self.queue.put_nowait(event)

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self._bus._subs.discard(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()


class Bus:
    def __init__(self, link: Link | None = None) -> None:
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.link = link
        self.dropped = 0  # events dropped for full subscriber queues since start (all subscribers)

    def stats(self) -> tuple[int, int, int]:
        """(subscribers, events queued for them, events dropped since start), for core.metrics."""
        subs = list(self._subs)
        return len(subs), sum(s.queue.qsize() for s in subs), self.dropped

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def start(self) -> None:
        """Start the link (on the event loop): from now on, everywhere-subscribers hear every process."""
        if self.link is not None:
            self.link.start(self._from_link)

    async def stop(self) -> None:
        if self.link is not None:
            await self.link.stop()

    def subscribe(self, *topics: str, maxsize: int = 1000, everywhere: bool = False) -> Subscription:
        """Events of `topics` (none: all) published by this process; with `everywhere`, by every process
        on the link (for the topics it carries)."""
        sub = Subscription(self, frozenset(topics), maxsize, everywhere)
        self._subs.add(sub)
        return sub

    def publish(self, topic: str, payload: Any) -> None:
        """Publish from the event loop, or from any thread once the bus is bound to its loop."""
        event = Event(topic, payload)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and running is not self._loop:
            self._loop.call_soon_threadsafe(self._deliver, event)
        else:
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        linked = self.link is not None and event.topic in self.link.topics and self.link.send(event)
        for sub in list(self._subs):
            if (not sub.topics or event.topic in sub.topics) and not (linked and sub.everywhere):
                sub.offer(event)

    def _from_link(self, event: Event) -> None:
        """An event of some process (this one's included) from the link: to the everywhere-subscribers."""
        for sub in list(self._subs):
            if sub.everywhere and (not sub.topics or event.topic in sub.topics):
                sub.offer(event)
