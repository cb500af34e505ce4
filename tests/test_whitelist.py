"""Whitelist sync: an all-in-one camera's own whitelist (spec 001 7.5, `white_list_operate`, at most 5
plates a reply) kept equal to the access-list entries it should hold — through the real server and the
simulated camera, including a reply lost to a disconnect."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import InProcess

from platehub.core.store.camera_lists import CameraEntry, ListEntry
from platehub.core.whitelist import intended, plan
from platehub.protocols.allinone import codec
from platehub.simulator.allinone import Camera


def test_plan_and_intended_list():
    utc = datetime(2026, 1, 1, tzinfo=UTC)
    entries = [ListEntry("allow", "A1", None, None, None), ListEntry("deny", "A1", None, None, None),
               ListEntry("allow", "B2", utc, utc + timedelta(days=1), None),
               ListEntry("allow", "C3", None, None, ("OTHER",)), ListEntry("allow", "D4", None, None, ("CAM",))]
    want = intended(entries, "CAM", UTC)
    assert want == {"A1": CameraEntry("A1", 1), "D4": CameraEntry("D4"),
                    "B2": CameraEntry("B2", 0, "2026-01-01 00:00:00", "2026-01-02 00:00:00")}
    assert [op for op, _ in plan(None, want)] == ["clear", "add", "add", "add"]
    held = {"A1": CameraEntry("A1", 0), "Z9": CameraEntry("Z9"), "D4": CameraEntry("D4")}
    assert [(op, e.plate) for op, e in plan(held, want)] == [("delete", "Z9"), ("add", "A1"), ("add", "B2")]
    assert plan(want, want) == []


def test_wire_form_is_the_spec_s():
    add = codec.whitelist_operate("add", [CameraEntry("京A12345", 0, "2018-01-01 11:11:11", "2019-01-01 11:11:11"),
                                          CameraEntry("京B12345", 1)])
    assert add == {"operate_type": 0, "white_list_data": [
        {"plate": "京A12345", "enable": 1, "need_alarm": 0, "enable_time": "2018-01-01 11:11:11",
         "overdue_time": "2019-01-01 11:11:11"},
        {"plate": "京B12345", "enable": 1, "need_alarm": 1}]}
    assert codec.whitelist_operate("delete", [CameraEntry("京A12345")]) == {
        "operate_type": 1, "white_list_data": [{"plate": "京A12345"}]}
    assert codec.whitelist_operate("clear", []) == {"operate_type": 1, "white_list_data": [{"plate": ""}]}


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    server = InProcess(tmp_path_factory.mktemp("whitelist") / "data", comet_hold=0.3, whitelist_sync=True,
                       timezone="UTC").start()
    yield server
    server.stop()


def _plates(n: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice("ABCEHKMPTX") for _ in range(2)) + f"{rng.randrange(10000):04d}"
                + "".join(rng.choice("ABCEHKMPTX") for _ in range(2)))
    return sorted(out)


def _camera_view(hub, serial: str) -> dict[str, dict]:
    want = intended(hub.store.camera_lists.holdable(datetime.now(UTC)), serial, UTC)
    return {p: {"enable": 1, "need_alarm": e.need_alarm,
                **({"enable_time": e.enable_time} if e.enable_time else {}),
                **({"overdue_time": e.overdue_time} if e.overdue_time else {})} for p, e in want.items()}


async def _until(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.05)
    return cond()


def test_camera_list_equals_the_lists_after_1000_adds_300_deletes_and_a_disconnect(inproc):
    hub = inproc.hub
    rng = random.Random(5)
    serial = f"wl-{time.time_ns() % 10**9}"
    plates = _plates(1000, rng)
    # entries the camera must not hold: another device's, a weekly schedule, an expired one
    hub.lists.add({"list": "allow", "plate": "OTHER001", "devices": "SOMEONE-ELSE"})
    hub.lists.add({"list": "allow", "plate": "SCHED001", "schedule": "mon-fri 07:00-19:00"})
    hub.lists.add({"list": "allow", "plate": "GONE0001", "valid_until": "2020-01-01 00:00:00"})

    async def run() -> Camera:
        async with httpx.AsyncClient(timeout=10) as client:
            cam = Camera(client, inproc.url, serial)
            cam.whitelist["STALE999"] = {"enable": 1, "need_alarm": 0}  # held before platehub: cleared
            stop = asyncio.Event()
            polling = asyncio.create_task(cam.comet(stop))
            for i, plate in enumerate(plates):
                fields = {"list": "deny" if i % 50 == 0 else "allow", "plate": plate}
                if i % 7 == 0:
                    fields |= {"valid_from": "2026-01-01 08:00:00", "valid_until": "2027-06-30 18:00:00"}
                await asyncio.to_thread(hub.lists.add, fields)
                if i == 400:  # midway: the network drops the reply to the next poll and stays down a while
                    cam.outage = hub.whitelist.confirm_within + 0.5
                    cam.lose_replies = 1
            removed = rng.sample(plates, 300)
            for plate in removed:
                entry = await asyncio.to_thread(hub.lists.find, None, plate)
                await asyncio.to_thread(hub.lists.remove, entry.id)
            synced = await _until(lambda: cam.whitelist == _camera_view(hub, serial), 120)
            stop.set()
            await polling
            assert synced, (len(cam.whitelist), len(_camera_view(hub, serial)), cam.errors[-3:])
            return cam

    cam = asyncio.run(run())
    assert cam.lost == 1 and not [e for e in cam.errors if "white_list" in e]
    assert len(cam.whitelist) == 700 and "STALE999" not in cam.whitelist
    assert not {"OTHER001", "SCHED001", "GONE0001"} & set(cam.whitelist)
    assert sum(1 for v in cam.whitelist.values() if v["need_alarm"]) == sum(
        1 for i, p in enumerate(plates) if i % 50 == 0 and p in cam.whitelist)
    # what platehub records the camera holds is what it holds
    held = hub.store.camera_lists.held(serial)
    assert set(held) == set(cam.whitelist)
    state = hub.store.camera_lists.state(serial)
    assert state.version == hub.store.camera_lists.lists_version()


def test_sync_is_per_device_and_a_manual_edit_is_recorded(inproc):
    hub = inproc.hub
    serial = f"wl-off-{time.time_ns() % 10**9}"
    hub.store.devices.add(serial, "allinone")
    hub.devices.configure(serial, {"whitelist_sync": "off"})

    async def run() -> Camera:
        async with httpx.AsyncClient(timeout=10) as client:
            cam = Camera(client, inproc.url, serial)
            cam.whitelist["KEEP0001"] = {"enable": 1, "need_alarm": 0}
            hub.commands.enqueue(serial, "whitelist_add", {"plate": "MAN00001"})
            await cam.register()
            await cam.register()  # comet poll: carries the manual command only
            await cam.register()
            return cam

    cam = asyncio.run(run())
    assert set(cam.whitelist) == {"KEEP0001", "MAN00001"}  # no sync: nothing cleared, nothing added
    assert set(hub.store.camera_lists.held(serial)) == {"MAN00001"}
