"""Who may speak for a device (issue 11, defect 9: a forged comet poll took a camera's queued commands and
rewrote its address and name). The all-in-one protocol (spec 001) has no sign-in: a heartbeat / comet
poll is a form with the camera's `serialno`, `device_name`, `ipaddr` and its own `user_name` / `pass_wd`
(6.1, "Data content, in formpost format"), and the server "can carry business processing in reply
messages" (6.2) — an `open_gate` (7.1) goes to whoever polls with the serial number.

Real servers over real HTTP on loopback: the camera connects from 127.0.0.1, the forger from 127.0.0.2
(a second loopback address, so the server sees another peer)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest
from helpers import InProcess, Server

from platehub.core import devices as core_devices
from platehub.core.store.devices import Device
from platehub.core.store.eventlog import EventLogRepo
from platehub.simulator.allinone import Camera

FORGER = "127.0.0.2"


def new_serial() -> str:
    return f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:8]}"


def forger_client() -> httpx.AsyncClient:
    """From 127.0.0.2, claiming the camera's address in X-Forwarded-For (trusted only from proxies)."""
    return httpx.AsyncClient(timeout=30, transport=httpx.AsyncHTTPTransport(local_address=FORGER),
                             headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"})


def inner(reply: dict) -> dict:
    return reply["Response_AlarmInfoPlate"]


def device_events(hub, code: str, kind: str, timeout: float = 5.0) -> list:
    """Event log entries (type device) of `code` with code `kind` (recorded by the bus consumer)."""
    repo = EventLogRepo(hub.store.engine)
    deadline = time.monotonic() + timeout
    while True:
        _, entries = repo.find(kinds=[("device", kind)], source=code)
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def commands(hub, code: str) -> list[tuple[str, str, str | None, str | None]]:
    return [(c.kind, c.status, c.via, c.delivered_to) for c in reversed(hub.store.commands.list(code))]


async def forged_comet_poll(cam: Camera, name: str = "EVIL", ip: str = "10.6.6.6") -> list[dict]:
    """What the forger sends: the camera's serial number, its own name and address, twice in a row (the
    second post, right after the reply, is a comet poll: comet.COMET_GAP)."""
    async with forger_client() as client:
        fake = Camera(client, cam.base_url, cam.serial, name=name, ip=ip)
        return [await fake.register(timeout=5), await fake.register(timeout=5)]


@pytest.fixture(scope="module")
def open_srv(tmp_path_factory):
    """Default settings: devices are not pinned."""
    server = InProcess(tmp_path_factory.mktemp("unpinned") / "data", comet_hold=3.0).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pin_srv(tmp_path_factory):
    """PLATEHUB_PIN_DEVICES=1: each device is pinned to the address it is first heard from."""
    server = InProcess(tmp_path_factory.mktemp("pinned") / "data", comet_hold=3.0, pin_devices=True).start()
    yield server
    server.stop()


# ── the rule ────────────────────────────────────────────────────────────────────────────────────


def _dev(pinned=None, peer=None, secured=False) -> Device:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return Device("c", "allinone", None, None, None, True, True, {}, now, now, peer_address=peer,
                  pinned_address=pinned, secured=secured)


@pytest.mark.parametrize("device, peer, secret_ok, refused", [
    (None, "10.0.0.1", None, False),  # a new device
    (_dev(), "10.0.0.9", None, False),  # not pinned: accepted (and alerted as moved)
    (_dev(pinned="10.0.0.1"), "10.0.0.1", None, False),
    (_dev(pinned="10.0.0.1"), "10.0.0.9", None, True),
    (_dev(pinned="10.0.0.1"), None, None, True),
    (_dev(pinned="10.0.0.1", secured=True), "10.0.0.1", False, True),  # the right address, no secret
    (_dev(peer="10.0.0.1", secured=True), "10.0.0.9", True, False),  # the secret moves it
    (_dev(peer="10.0.0.1", secured=True), "10.0.0.9", False, True),
    (_dev(peer="10.0.0.1", secured=True), "10.0.0.9", None, True),  # a plate result: no field for it
    (_dev(peer="10.0.0.1", secured=True), "10.0.0.1", None, False),
])
def test_who_may_act_for_a_device(device, peer, secret_ok, refused):
    assert (core_devices.admits(device, peer, secret_ok) is not None) is refused


def test_secrets_are_stored_hashed_and_checked():
    stored = core_devices.hash_secret("s3cret")
    assert "s3cret" not in stored
    assert core_devices.secret_matches(stored, "s3cret")
    assert not core_devices.secret_matches(stored, "s3cret ") and not core_devices.secret_matches(stored, None)
    assert not core_devices.secret_matches(None, "s3cret") and not core_devices.secret_matches("junk", "x")


# ── unpinned: accepted, but said ───────────────────────────────────────────────────────────────


async def test_a_command_taken_from_another_address_says_where_it_went_and_alerts(open_srv):
    hub = open_srv.hub
    async with httpx.AsyncClient(timeout=30) as client:
        cam = Camera(client, open_srv.url, new_serial())
        assert await cam.register() == {"Response_AlarmInfoPlate": {}}
        await asyncio.to_thread(hub.commands.enqueue, cam.serial, "open_gate", {}, "operator")
        await asyncio.sleep(2.5)  # past COMET_GAP: the forger's first post is a heartbeat
        replies = await forged_comet_poll(cam)
    assert inner(replies[1]) == {"info": "ok", "channelNum": 0}  # not pinned: the forger got it …
    assert commands(hub, cam.serial) == [("open_gate", "delivered", "comet", FORGER)]  # … and it says where
    [moved] = device_events(hub, cam.serial, "moved")
    assert moved.details["address"] == FORGER and moved.details["known"] == "127.0.0.1"
    device = hub.store.devices.get(cam.serial)
    assert device.peer_address == FORGER


# ── pinned: the forger gets nothing and changes nothing ────────────────────────────────────────


async def test_a_pinned_camera_keeps_its_commands_name_and_address(pin_srv):
    hub = pin_srv.hub
    async with httpx.AsyncClient(timeout=30) as client:
        cam = Camera(client, pin_srv.url, new_serial(), name="Gate 1", ip="192.168.1.64")
        assert await cam.register() == {"Response_AlarmInfoPlate": {}}  # first sight: pinned to 127.0.0.1
        assert hub.store.devices.get(cam.serial).pinned_address == "127.0.0.1"
        await asyncio.to_thread(hub.commands.enqueue, cam.serial, "open_gate", {}, "operator")
        t0 = time.monotonic()
        replies = await forged_comet_poll(cam)
        assert time.monotonic() - t0 < 2.0  # answered at once, never held
        assert replies == [{"Response_AlarmInfoPlate": {}}] * 2
        assert commands(hub, cam.serial) == [("open_gate", "pending", None, None)]
        device = hub.store.devices.get(cam.serial)
        assert (device.name, device.address, device.peer_address) == ("Gate 1", "192.168.1.64", "127.0.0.1")
        # a forged plate result is refused too: not stored, no command, no gate
        async with forger_client() as other:
            fake = Camera(other, pin_srv.url, cam.serial, name="EVIL", ip="10.6.6.6")
            reply = inner(await fake.push(fake.record("京A12345")))
        assert reply["info"] == "no" and "error" in reply and not fake.gate_openings
        assert hub.store.reads.find(plate="京A12345") == []
        assert commands(hub, cam.serial) == [("open_gate", "pending", None, None)]
        # the real camera still gets it
        assert inner(await cam.register()) == {"info": "ok", "channelNum": 0}
    assert cam.gate_openings == [0]
    assert commands(hub, cam.serial) == [("open_gate", "delivered", "comet", "127.0.0.1")]
    [refused] = device_events(hub, cam.serial, "refused")  # once a minute per address, not per poll
    assert refused.details["address"] == FORGER and "pinned to 127.0.0.1" in refused.details["why"]
    assert device_events(hub, cam.serial, "moved", timeout=0.3) == []


async def test_a_held_poll_of_the_real_camera_is_not_superseded_by_a_forged_one(pin_srv):
    hub = pin_srv.hub
    async with httpx.AsyncClient(timeout=30) as client:
        cam = Camera(client, pin_srv.url, new_serial())
        await cam.register()
        held = asyncio.create_task(cam.register())  # a comet poll, held up to 3 s
        await asyncio.sleep(0.3)
        await forged_comet_poll(cam)
        await asyncio.to_thread(hub.commands.enqueue, cam.serial, "trigger", {}, "operator")
        assert inner(await asyncio.wait_for(held, 5)) == {"manualTrigger": "ok"}
    assert commands(hub, cam.serial) == [("trigger", "delivered", "comet", "127.0.0.1")]


# ── the shared secret: the registration's password ─────────────────────────────────────────────


async def test_a_secured_camera_needs_its_password(open_srv):
    hub = open_srv.hub
    async with httpx.AsyncClient(timeout=30) as client:
        cam = Camera(client, open_srv.url, new_serial(), name="Gate 2")
        cam.password = "pw-" + uuid.uuid4().hex
        await cam.register()
        await asyncio.to_thread(hub.devices.configure, cam.serial, {"secret": cam.password})
        await asyncio.to_thread(hub.commands.enqueue, cam.serial, "open_gate", {}, "operator")
        async with forger_client() as other:  # from another address, with the default password
            fake = Camera(other, open_srv.url, cam.serial, name="EVIL")
            assert await fake.register() == await fake.register() == {"Response_AlarmInfoPlate": {}}
            fake.password = cam.password + "x"
            assert await fake.register() == {"Response_AlarmInfoPlate": {}}
            # a plate result has no field for the password: only from the camera's address
            assert inner(await fake.push(fake.record("京B00001")))["info"] == "no"
        assert commands(hub, cam.serial) == [("open_gate", "pending", None, None)]
        assert hub.store.devices.get(cam.serial).name == "Gate 2"
        await asyncio.sleep(2.5)
        assert await cam.register() == {"Response_AlarmInfoPlate": {}}  # a heartbeat: accepted
        assert inner(await cam.register()) == {"info": "ok", "channelNum": 0}  # the comet poll gets it
    assert commands(hub, cam.serial) == [("open_gate", "delivered", "comet", "127.0.0.1")]
    assert any("secret" in e.details["why"] for e in device_events(hub, cam.serial, "refused"))
    for f in open_srv.settings.data_dir.glob("platehub.db*"):
        assert cam.password.encode() not in f.read_bytes()


# ── the operator's side: CLI and management API ────────────────────────────────────────────────


def test_pinning_from_the_cli_and_the_api(tmp_path):
    srv = Server(tmp_path / "data").start()
    try:
        serial = new_serial()
        r = httpx.post(srv.url + "/devicemanagement/php/receivedeviceinfo.php",
                       data={"serialno": serial, "device_name": "IVS", "ipaddr": "192.168.1.5", "pass_wd": "x"})
        assert r.json() == {"Response_AlarmInfoPlate": {}}
        r = srv.cli("devices", "set", serial, "--pin", "current")
        assert r.returncode == 0, r.stderr
        listed = srv.cli("devices", "list").stdout
        assert "pinned to 127.0.0.1" in listed and "from 127.0.0.1" in listed
        assert srv.cli("devices", "set", serial, "--pin", "not-an-ip").returncode == 2
        with httpx.Client(transport=httpx.HTTPTransport(local_address=FORGER), timeout=10) as forger:
            r = forger.post(srv.url + "/devicemanagement/php/receivedeviceinfo.php",
                            data={"serialno": serial, "device_name": "EVIL", "ipaddr": "10.6.6.6"})
        assert r.json() == {"Response_AlarmInfoPlate": {}}
        token = srv.cli("token", "create", "pin-test").stdout.strip()
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Token {token}"}, timeout=10) as api:
            device = api.get(f"/v1/devices/{serial}/").json()
            assert (device["name"], device["address"], device["pinned_address"]) == ("IVS", "192.168.1.5",
                                                                                      "127.0.0.1")
            assert "secret_hash" not in device and device["secured"] is False
            assert api.put(f"/v1/devices/{serial}/", json={"pinned_address": "nope"}).status_code == 400
            r = api.put(f"/v1/devices/{serial}/", json={"pinned_address": FORGER, "secret": "s3cret"})
            assert r.status_code == 200 and r.json()["pinned_address"] == FORGER and r.json()["secured"]
            events = httpx.get(srv.url + "/api/find", params={"what": "eventLog"}, auth=("admin", "admin-test"))
            assert "s3cret" not in events.text and "Device message refused" in events.text
            assert api.put(f"/v1/devices/{serial}/", json={"pinned_address": None}).json()["pinned_address"] is None
    finally:
        srv.stop()
