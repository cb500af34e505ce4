"""The domain services against a real SQLite store: device registry, command queue, ingest (with
vehicle-pass merging) and the gate decision."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from platehub.config import Settings
from platehub.core.bus import DEVICE_STATUS, READ_STORED, READ_UPDATED, Bus
from platehub.core.commands import CommandError, CommandQueue, validate
from platehub.core.devices import DeviceRegistry
from platehub.core.ingest import Ingestor
from platehub.core.read import Read
from platehub.core.store import Store

T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/db", tmp_path / "images")
    yield s
    s.close()


def drain(sub) -> list:
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


# ── devices ────────────────────────────────────────────────────────────────────────────────────


def test_devices_come_online_go_offline_and_come_back(tmp_path, store):
    bus = Bus()
    sub = bus.subscribe(DEVICE_STATUS)
    reg = DeviceRegistry(Settings(data_dir=tmp_path, offline_after=0.05), store.devices, bus)
    cam = reg.seen("CAM1", "allinone", heartbeat=True, address="10.0.0.5", name="gate", meta={"a": 1})
    reg.seen("PUSH1", "push", address="10.0.0.9")  # no heartbeats: never declared offline
    events = drain(sub)
    assert [(e.payload.code, e.payload.online) for e in events] == [("CAM1", True), ("PUSH1", True)]
    assert (cam.online, cam.heartbeat, cam.address, cam.protocol) == (True, True, "10.0.0.5", "allinone")

    again = reg.seen("CAM1", "allinone", meta={"b": 2})  # None fields keep their value; meta is merged
    assert drain(sub) == []  # already online: no event
    assert (again.address, again.name, again.heartbeat, again.meta) == ("10.0.0.5", "gate", True, {"a": 1, "b": 2})
    assert again.last_seen >= cam.last_seen and again.first_seen == cam.first_seen

    time.sleep(0.1)
    gone = reg.check_offline()
    assert [(d.code, d.online) for d in gone] == [("CAM1", False)]
    assert [(e.payload.code, e.payload.online) for e in drain(sub)] == [("CAM1", False)]
    assert store.devices.get("CAM1").online is False and store.devices.get("PUSH1").online is True
    assert reg.check_offline() == [] and drain(sub) == []  # said once

    back = reg.seen("CAM1", "allinone", heartbeat=True)
    assert back.online and [(e.payload.code, e.payload.online) for e in drain(sub)] == [("CAM1", True)]


async def test_the_monitor_declares_silent_devices_offline(tmp_path, store):
    bus = Bus()
    bus.bind(asyncio.get_running_loop())
    sub = bus.subscribe(DEVICE_STATUS)
    reg = DeviceRegistry(Settings(data_dir=tmp_path, offline_after=0.1), store.devices, bus)
    reg.seen("CAM2", "ffjson", heartbeat=True)
    assert (await asyncio.wait_for(sub.get(), 1)).payload.online is True
    reg.start()
    try:
        event = await asyncio.wait_for(sub.get(), 3)  # the monitor checks every 0.5 s at the fastest
    finally:
        await reg.stop()
    assert (event.topic, event.payload.code, event.payload.online) == (DEVICE_STATUS, "CAM2", False)


# ── commands ───────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("kind", "payload", "expected"), [
    ("open_gate", None, {"channel": 0}),
    ("open_gate", {"channel": "2"}, {"channel": 2}),
    ("serial_data", {"text": "hi"}, {"channel": 0, "data": "aGk=", "length": 2}),
    ("serial_data", {"data": "AAEC", "channel": 1}, {"channel": 1, "data": "AAEC", "length": 3}),
    ("whitelist_add", {"plate": " AB123 "}, {"plate": "AB123", "enable": 1, "need_alarm": 0}),
    ("whitelist_add", {"plate": "AB123", "need_alarm": 1, "enable_time": "2026-01-01 00:00:00", "x": 1},
     {"plate": "AB123", "enable": 1, "need_alarm": 1, "enable_time": "2026-01-01 00:00:00"}),
    ("whitelist_delete", {"plate": "AB123", "enable": 0}, {"plate": "AB123"}),
    ("whitelist_clear", {"plate": "AB123"}, {}),
    ("trigger", None, {}),
    ("screenshot", {}, {}),
])
def test_validate_completes_payloads(kind, payload, expected):
    assert validate(kind, payload) == expected


@pytest.mark.parametrize(("kind", "payload", "words"), [
    ("reboot", {}, "unknown command"),
    ("serial_data", {}, "needs `data`"),
    ("serial_data", {"text": ""}, "needs `data`"),
    ("serial_data", {"data": "not base64!"}, "needs `data`"),
    ("whitelist_add", {"plate": "  "}, "needs a `plate`"),
    ("whitelist_delete", {}, "needs a `plate`"),
])
def test_validate_refuses(kind, payload, words):
    with pytest.raises(CommandError, match=words):
        validate(kind, payload)


def test_validate_non_numeric_channel_is_a_value_error():
    # a plain ValueError today, not CommandError (reported): callers must catch ValueError
    with pytest.raises(ValueError):
        validate("open_gate", {"channel": "left"})


def test_pending_delivered_cancelled(store):
    q = CommandQueue(store.commands, Bus())
    first = q.enqueue("CAM1", "open_gate", {"channel": 1})
    second = q.enqueue("CAM1", "trigger")
    q.enqueue("CAM2", "trigger")
    assert [c.id for c in q.pending("CAM1")] == [first.id, second.id]  # oldest first
    assert q.delivered([first], "reply") == [first]
    assert [c.id for c in q.pending("CAM1")] == [second.id]
    got = store.commands.get(first.id)
    assert (got.status, got.via, got.payload) == ("delivered", "reply", {"channel": 1})
    assert got.delivered_at is not None and got.delivered_at >= got.created_at
    assert store.commands.cancel(second.id) and not store.commands.cancel(second.id)
    assert not store.commands.cancel(first.id)  # delivered: too late
    assert q.delivered([second], "comet") == []  # a cancelled command is not delivered afterwards
    assert store.commands.get(second.id).status == "cancelled"
    assert q.pending("CAM1") == []
    with pytest.raises(CommandError):
        q.enqueue("CAM1", "serial_data", {})
    assert len(store.commands.list("CAM1")) == 2


def test_two_processes_replying_at_once_deliver_a_command_once(store, tmp_path):
    """Two processes (two stores on one database) read the same pending command for replies made at the same
    moment: only the one that marks it delivered may carry it (protocols/allinone/service.py `Door.take`)."""
    other = Store(f"sqlite:///{tmp_path}/db", tmp_path / "images")
    try:
        mine, theirs = CommandQueue(store.commands, Bus()), CommandQueue(other.commands, Bus())
        command = mine.enqueue("CAM9", "open_gate", {"channel": 1})
        seen_here, seen_there = mine.pending("CAM9"), theirs.pending("CAM9")
        assert [c.id for c in seen_here] == [c.id for c in seen_there] == [command.id]
        taken = mine.delivered(seen_here, "reply", "10.0.0.9"), theirs.delivered(seen_there, "comet", "10.0.0.9")
        assert sorted(len(t) for t in taken) == [0, 1]
        assert store.commands.get(command.id).via == "reply"
    finally:
        other.close()


async def test_enqueue_wakes_a_waiting_poll(store):
    loop = asyncio.get_running_loop()
    bus = Bus()
    bus.bind(loop)
    q = CommandQueue(store.commands, bus)
    q.start()
    t0 = time.monotonic()
    await q.wait("CAM1", 0.2)  # nothing queued: returns after the timeout
    assert 0.15 < time.monotonic() - t0 < 1

    waiting = asyncio.create_task(q.wait("CAM1", 10))
    other = asyncio.create_task(q.wait("CAM2", 10))
    await asyncio.sleep(0.05)
    t0 = time.monotonic()
    await loop.run_in_executor(None, q.enqueue, "CAM1", "trigger", None)  # from a worker thread
    await asyncio.wait_for(waiting, 2)
    assert time.monotonic() - t0 < 1
    assert not other.done()  # another device's poll keeps waiting
    other.cancel()
    assert [c.kind for c in q.pending("CAM1")] == ["trigger"]
    await q.stop()


# ── ingest ─────────────────────────────────────────────────────────────────────────────────────


def _read(plate: str, key: str | None, at: datetime = T0, score: float | None = None, **kw) -> Read:
    return Read(plate=plate, plate_raw=plate, protocol="test", source="CAM1", source_key=key, score=score,
                first_seen=at, last_seen=at, **kw)


def _jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((16, 16, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


def test_ingest_is_idempotent_on_the_senders_key(tmp_path, store):
    bus = Bus()
    sub = bus.subscribe(READ_STORED, READ_UPDATED)
    ing = Ingestor(Settings(data_dir=tmp_path), store, bus)
    first = ing.ingest(_read("AB123", "CAM1:1", raw={"n": 1}))
    again = ing.ingest(_read("AB123", "CAM1:1", raw={"n": 2}))  # a retransmission: another id, same key
    assert first.new and not again.new and not again.updated
    stored = store.reads.get_by_key("test", "CAM1:1")
    assert stored.id == first.read.id and stored.raw == {"n": 1}
    assert [(e.topic, e.payload.id) for e in drain(sub)] == [(READ_STORED, first.read.id)]
    # without a key every read is new
    assert ing.ingest(_read("CD456", None)).new and ing.ingest(_read("CD456", None)).new
    assert len(store.reads.find(plate="CD456")) == 2


@pytest.mark.parametrize(("retention", "full", "plate"), [("full", True, True), ("plate", False, True),
                                                          ("none", False, False)])
def test_ingest_keeps_images_as_the_retention_says(tmp_path, store, retention, full, plate):
    ing = Ingestor(Settings(data_dir=tmp_path, image_retention=retention), store, Bus())
    read = ing.ingest(_read("EF789", "CAM1:img"), full=_jpeg(), plate=_jpeg()).read
    stored = store.reads.get(read.id)
    assert (stored.image_full is not None, stored.image_plate is not None) == (full, plate)
    for path in filter(None, (stored.image_full, stored.image_plate)):
        assert path.endswith(".jpg") and (tmp_path / "images" / path).read_bytes() == _jpeg()


def test_a_vehicle_pass_is_one_read(tmp_path, store):
    bus = Bus()
    sub = bus.subscribe(READ_STORED, READ_UPDATED)
    ing = Ingestor(Settings(data_dir=tmp_path, pass_timeout=60), store, bus)
    key = "sensor1:car7"
    first = ing.ingest_pass(_read("AB12", key, T0, 0.6, raw={"e": 1}))
    assert first.new
    best = ing.ingest_pass(_read("AB123", key, T0 + timedelta(seconds=5), 0.9, raw={"e": 2}, direction="in"))
    assert best.updated and not best.new and best.read.id == first.read.id
    worse = ing.ingest_pass(_read("A8123", key, T0 - timedelta(seconds=2), 0.7, raw={"e": 3}))  # late, earlier
    merged = store.reads.get(first.read.id)
    assert worse.read.id == first.read.id
    assert (merged.plate, merged.score, merged.direction) == ("AB123", 0.9, "in")  # the best text wins
    assert merged.first_seen == T0 - timedelta(seconds=2) and merged.last_seen == T0 + timedelta(seconds=5)
    assert merged.raw == {"events": [{"e": 1}, {"e": 2}, {"e": 3}]}
    assert [e.topic for e in drain(sub)] == [READ_STORED, READ_UPDATED, READ_UPDATED]

    # the same pass id after the pass timeout: a new pass; the old one is kept under its own key
    later = ing.ingest_pass(_read("XY99", key, T0 + timedelta(seconds=5 + 61), 0.8, raw={"e": 4}))
    assert later.new and later.read.id != first.read.id
    assert store.reads.get_by_key("test", key).id == later.read.id
    old = store.reads.get(first.read.id)
    assert old.source_key == f"{key}@{old.first_seen.isoformat()}" and old.plate == "AB123"
    assert [e.topic for e in drain(sub)] == [READ_STORED]


def test_a_pass_keeps_the_image_of_its_best_read(tmp_path, store):
    ing = Ingestor(Settings(data_dir=tmp_path, pass_timeout=60), store, Bus())
    key = "sensor1:car8"
    first = ing.ingest_pass(_read("AB12", key, T0, 0.5))  # no image yet
    ing.ingest_pass(_read("AB12", key, T0 + timedelta(seconds=1), 0.4), full=_jpeg())  # worse, but the first image
    with_image = store.reads.get(first.read.id)
    assert with_image.image_full and with_image.plate == "AB12"
    ing.ingest_pass(_read("AB123", key, T0 + timedelta(seconds=2), 0.9), full=_jpeg())  # better: its image
    best = store.reads.get(first.read.id)
    assert best.plate == "AB123" and best.image_full and best.image_full != with_image.image_full
    ing.ingest_pass(_read("AB1", key, T0 + timedelta(seconds=3), 0.3), full=_jpeg())  # worse: image kept
    assert store.reads.get(first.read.id).image_full == best.image_full


def test_resent_pass_event_is_not_merged_twice(tmp_path):
    from datetime import UTC, datetime

    from platehub.config import Settings
    from platehub.core.bus import Bus
    from platehub.core.ingest import Ingestor
    from platehub.core.read import Read
    from platehub.core.store import Store

    store = Store(f"sqlite:///{tmp_path / 'db'}", tmp_path / "images")
    ingestor = Ingestor(Settings(data_dir=tmp_path), store, Bus())
    t = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    event = Read(plate="AB1234CO", plate_raw="AB1234CO", protocol="ffjson", source="s", source_key="s:1",
                 score=0.8, first_seen=t, last_seen=t, raw={"carState": "new", "packetCounter": 1})
    assert ingestor.ingest_pass(event).new
    again = ingestor.ingest_pass(event)
    assert not again.new and not again.updated
    assert store.reads.get(again.read.id).raw == {"events": [event.raw]}


# ── the app's wiring ───────────────────────────────────────────────────────────────────────────

def test_build_fixes_each_services_reactions(tmp_path, store):
    """The reactions to a read and to an open by hand are given in the constructors, as tuples: nothing can be
    appended to a service after `app.build`."""
    from platehub.app import build

    services, _ = build(Settings(data_dir=tmp_path, metrics="open"), store, engine=object())
    try:
        for reactions in (services.ingestor.observers, services.recognizer.observers, services.commands.hand_opens):
            assert isinstance(reactions, tuple) and not hasattr(reactions, "append")
        assert services.ingestor.observers == (services.metrics.on_read, services.parking.on_read)
        assert services.recognizer.observers == services.ingestor.observers
        assert services.commands.hand_opens == (services.parking.opened_by_hand,)
    finally:
        services.recognizer.close()
