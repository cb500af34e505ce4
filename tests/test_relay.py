"""The bus between processes (core/relay.py) on a real Redis: two buses stand for two processes. An
everywhere-subscriber hears both, each event once and in one order; a plain subscriber hears its own
process only; payloads come back as the records they were (core/wire.py); a Redis restart loses no
event published after it, and nothing is lost while Redis is away (each process keeps its own)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from helpers import free_port, until

from platehub.core import wire
from platehub.core.bus import PARKING_COUNT, READ_STORED, SNAPSHOT_DONE, Bus
from platehub.core.parking import CountChange
from platehub.core.read import Read
from platehub.core.relay import Relay
from platehub.core.store.parking import Lot
from platehub.engine.types import Box
from platehub.simulator.daemons import RedisServer

TOPICS = (READ_STORED, PARKING_COUNT)


def _read(plate: str) -> Read:
    return Read(plate=plate, plate_raw=plate.lower(), protocol="push", source="CAM1", score=0.9,
                box=Box(1, 2, 30, 40), candidates=(("ABC123", 0.9), ("A8C123", 0.1)),
                first_seen=datetime(2026, 12, 2, 12, 0, tzinfo=UTC), raw={"when": "now", "n": [1, 2]})


def test_records_cross_as_the_records_they_were():
    read = _read("ABC123")
    assert wire.loads(wire.dumps(read)) == read
    change = CountChange((Lot(1, "north", "counter", 3, 10),), "read", read.id)
    assert wire.loads(wire.dumps(change)) == change
    with pytest.raises(TypeError):
        wire.dumps(object())
    for forged in ('{"$c": "os:system", "f": {}}', '{"$c": "platehub.core.read:utcnow", "f": {}}', "[", '{"$x": 1}'):
        with pytest.raises(ValueError):
            wire.loads(forged)


async def _collect(sub, n: int, timeout: float = 5.0) -> list:
    return [(await asyncio.wait_for(sub.get(), timeout)).payload for _ in range(n)]


async def test_two_processes_hear_each_other_once_in_one_order():
    redis = RedisServer(free_port()).start()
    a, b = Bus(Relay(redis.url, TOPICS)), Bus(Relay(redis.url, TOPICS))
    try:
        for bus in (a, b):
            bus.bind(asyncio.get_running_loop())
            bus.start()
        await until(lambda: a.link.up and b.link.up)
        everywhere_b = b.subscribe(READ_STORED, everywhere=True)
        everywhere_a = a.subscribe(READ_STORED, everywhere=True)
        local_b = b.subscribe(READ_STORED)
        reads = [_read(f"ABC{i:03d}") for i in range(20)]
        for i, read in enumerate(reads):
            (a if i % 2 else b).publish(READ_STORED, read)
        got_b, got_a = await _collect(everywhere_b, 20), await _collect(everywhere_a, 20)
        assert got_a == got_b  # one order for everybody
        assert sorted(r.id for r in got_b) == sorted(r.id for r in reads)  # each once
        assert [r.id for r in got_b if r.id in {x.id for x in reads[0::2]}] == [r.id for r in reads[0::2]]
        assert (await _collect(local_b, 10)) == reads[0::2] and local_b.queue.empty()  # b's own only
        a.publish(SNAPSHOT_DONE, "not carried")  # a topic the link does not carry stays in its process
        assert b.subscribe(SNAPSHOT_DONE, everywhere=True).queue.empty()

        # Redis restarts (and forgets the stream): events published after it is back reach everybody
        redis.stop()
        await until(lambda: not a.link.up and not b.link.up)
        down = _read("DOWN1")
        a.publish(READ_STORED, down)  # while it is away: a's own subscribers still hear a's events
        assert await _collect(everywhere_a, 1) == [down]
        redis.start()
        await until(lambda: a.link.up and b.link.up)
        after = _read("BACK1")
        a.publish(READ_STORED, after)
        assert await _collect(everywhere_b, 1) == [after]
        assert await _collect(everywhere_a, 1) == [after]
    finally:
        for bus in (a, b):
            await bus.stop()
        redis.close()


def test_the_server_imports_without_the_redis_client():
    """redis-py is the `cluster` extra: a plain install (no PLATEHUB_REDIS_URL) must start without it."""
    import subprocess
    import sys

    code = ("import builtins, sys\n"
            "real = builtins.__import__\n"
            "def no_redis(name, *a, **k):\n"
            "    if name == 'redis' or name.startswith('redis.'):\n"
            "        raise ImportError('no redis here')\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = no_redis\n"
            "from platehub.app import create_app\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
