"""The in-process bus: topics, publishing from worker threads, slow subscribers."""

from __future__ import annotations

import asyncio
import threading

from platehub.core.bus import READ_STORED, SNAPSHOT_DONE, Bus


async def test_subscribers_get_their_topics():
    bus = Bus()
    reads, everything = bus.subscribe(READ_STORED), bus.subscribe()
    bus.publish(READ_STORED, "r1")
    bus.publish(SNAPSHOT_DONE, "s1")
    assert (await reads.get()).payload == "r1"
    assert reads.queue.empty()
    assert [(await everything.get()).payload for _ in range(2)] == ["r1", "s1"]


async def test_publish_from_a_worker_thread():
    bus = Bus()
    bus.bind(asyncio.get_running_loop())
    sub = bus.subscribe(READ_STORED)
    t = threading.Thread(target=bus.publish, args=(READ_STORED, "from-thread"))
    t.start()
    t.join()
    assert (await asyncio.wait_for(sub.get(), 2)).payload == "from-thread"


async def test_a_slow_subscriber_loses_its_oldest_events_not_the_publisher():
    bus = Bus()
    slow = bus.subscribe(READ_STORED, maxsize=3)
    for i in range(5):
        bus.publish(READ_STORED, i)
    assert slow.dropped == 2
    assert [(await slow.get()).payload for _ in range(3)] == [2, 3, 4]
    slow.close()
    bus.publish(READ_STORED, 9)
    assert slow.queue.empty()
