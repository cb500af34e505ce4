"""MQTT and Home Assistant discovery against a real broker (Debian's mosquitto): reads pushed through a
real door (the all-in-one camera's plate result) arrive on the documented topics (core/mqtt.py's
docstring, README "MQTT and Home Assistant"), state is retained, the gate button queues `open_gate`
only when MQTT commands are on, and a broker outage costs ingest nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import httpx
import paho.mqtt.client as paho
import pytest
from helpers import InProcess

from platehub.config import Settings
from platehub.core.mqtt import parse_url
from platehub.simulator.allinone import Camera
from platehub.simulator.daemons import Mosquitto
from platehub.simulator.harness import free_port


class Listener:
    """A plain MQTT client that keeps every message it gets (topic → list of (payload, retain))."""

    def __init__(self, port: int, *topics: str) -> None:
        self.messages: dict[str, list[tuple[bytes, bool]]] = {}
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: [c.subscribe(t) for t in topics]
        self.client.on_message = self._got
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _got(self, client, userdata, msg) -> None:
        with self.lock:
            self.messages.setdefault(msg.topic, []).append((msg.payload, bool(msg.retain)))

    def wait(self, topic: str, check=lambda payload, retain: True, timeout: float = 15) -> tuple[bytes, bool]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for payload, retain in self.messages.get(topic, []):
                    if check(payload, retain):
                        return payload, retain
            time.sleep(0.05)
        raise AssertionError(f"nothing on {topic}; got {sorted(self.messages)}")

    def json(self, topic: str, check=lambda body: True, timeout: float = 15) -> dict[str, Any]:
        payload, _ = self.wait(topic, lambda p, r: p.startswith(b"{") and check(json.loads(p)), timeout)
        return json.loads(payload)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture(scope="module")
def broker():
    b = Mosquitto(free_port()).start()
    yield b
    b.close()


def _serve(tmp_path_factory, broker, name: str, **overrides) -> InProcess:
    url = f"mqtt://127.0.0.1:{broker.port}/{name}"
    return InProcess(tmp_path_factory.mktemp(name) / "data", engine=object(), mqtt_url=url, comet_hold=0.3,
                     **overrides).start()


def _push(server: InProcess, serial: str, *plates: str) -> list[dict[str, Any]]:
    async def run():
        async with httpx.AsyncClient(timeout=10) as client:
            cam = Camera(client, server.url, serial)
            await cam.register()
            return [(await cam.push(cam.record(plate)))["Response_AlarmInfoPlate"] for plate in plates]

    return asyncio.run(run())


def test_url_gives_host_port_credentials_and_prefix():
    b = parse_url("mqtt://user:p%40ss@broker.lan:1884/site/a")
    assert (b.host, b.port, b.username, b.password, b.prefix, b.tls) == ("broker.lan", 1884, "user", "p@ss",
                                                                         "site/a", False)
    assert parse_url("mqtts://broker").port == 8883 and parse_url("mqtt://broker").prefix == "platehub"
    with pytest.raises(ValueError):
        parse_url("http://broker")


def test_a_bad_broker_url_is_refused_at_start_naming_the_variable(monkeypatch):
    monkeypatch.setenv("PLATEHUB_MQTT_URL", "tcp://broker:1883")
    with pytest.raises(ValueError, match="PLATEHUB_MQTT_URL"):
        Settings.from_env()


def test_a_device_gone_silent_is_retained_offline(tmp_path_factory, broker):
    server = _serve(tmp_path_factory, broker, "ph6", offline_after=1.0)
    listener = Listener(broker.port, "ph6/#")
    try:
        _push(server, "cam-quiet", "QQ111QQ")
        assert listener.json("ph6/device/cam-quiet")["state"] == "online"
        listener.json("ph6/device/cam-quiet", lambda b: b["state"] == "offline")
    finally:
        listener.close()
    late = Listener(broker.port, "ph6/device/#")
    try:
        payload, retained = late.wait("ph6/device/cam-quiet")
        assert retained and json.loads(payload)["online"] is False
    finally:
        late.close()
        server.stop()


def test_read_decision_alert_and_device_status_arrive_as_documented(tmp_path_factory, broker):
    server = _serve(tmp_path_factory, broker, "ph1", alert_unknown=True)
    listener = Listener(broker.port, "ph1/#")
    try:
        listener.wait("ph1/status", lambda p, r: p == b"online")
        _push(server, "cam-a", "AB123CD")
        read = listener.json("ph1/read/cam-a")
        stored = server.hub.store.reads.get(read["id"])
        assert stored is not None and stored.plate == "AB123CD"
        assert {k: read[k] for k in ("plate", "source", "protocol")} == {"plate": "AB123CD", "source": "cam-a",
                                                                         "protocol": "allinone"}
        assert set(read) >= {"id", "plate_raw", "score", "direction", "first_seen", "received_at", "image_full"}
        decision = listener.json("ph1/gate/cam-a/decision")
        assert (decision["read"], decision["action"], decision["reason"]) == (read["id"], "closed", "unknown")
        alert = listener.json("ph1/alert/cam-a")
        assert (alert["alert"], alert["read"]["plate"]) == ("unknown", "AB123CD")
        device = listener.json("ph1/device/cam-a")
        assert (device["code"], device["state"], device["protocol"]) == ("cam-a", "online", "allinone")
    finally:
        listener.close()
        server.stop()


def test_discovery_and_state_are_retained_for_home_assistant(tmp_path_factory, broker):
    server = _serve(tmp_path_factory, broker, "ph2")
    service = server.app.state.platehub.parking
    lot = server.call(lambda: asyncio.to_thread(service.add_lot, "Front", max_count=10))
    server.call(lambda: asyncio.to_thread(service.set_count, lot.id, 3))
    first = Listener(broker.port, "ph2/#")
    try:
        first.wait("ph2/status", lambda p, r: p == b"online")
        _push(server, "cam-b", "XY987ZZ")
        first.json("ph2/read/cam-b")
        first.json(f"ph2/lot/{lot.id}", lambda b: b["count"] == 3)
    finally:
        first.close()
    late = Listener(broker.port, "homeassistant/#", "ph2/#")  # connects after the fact: retained messages only
    try:
        occupancy, retained = late.wait(f"ph2/lot/{lot.id}")
        assert retained and json.loads(occupancy) | {} == {"id": lot.id, "name": "Front", "type": "counter",
                                                            "count": 3, "maxCount": 10, "full": False}
        assert late.wait("ph2/device/cam-b")[1] and json.loads(late.wait("ph2/device/cam-b")[0])["state"] == "online"
        assert late.wait("ph2/status") == (b"online", True)
        configs = {}
        for component, obj in [("sensor", "last_plate_cam-b"), ("binary_sensor", "device_cam-b"),
                               ("sensor", f"lot_{lot.id}")]:
            payload, retained = late.wait(f"homeassistant/{component}/ph2/{obj}/config")
            assert retained
            configs[obj] = json.loads(payload)
        assert configs["last_plate_cam-b"]["state_topic"] == "ph2/read/cam-b"
        assert configs["last_plate_cam-b"]["value_template"] == "{{ value_json.plate }}"
        assert configs["device_cam-b"]["device_class"] == "connectivity"
        assert configs["device_cam-b"]["state_topic"] == "ph2/device/cam-b"
        assert configs[f"lot_{lot.id}"]["state_topic"] == f"ph2/lot/{lot.id}"
        assert all(c["availability_topic"] == "ph2/status" and c["unique_id"] for c in configs.values())
        time.sleep(0.5)
        assert not any(t.startswith("homeassistant/button/") for t in late.messages)  # commands are off
        assert not any(t.startswith("ph2/read/") for t in late.messages)  # reads are events, not state
    finally:
        late.close()
        server.stop()


def test_gate_button_queues_open_gate_by_mqtt_only_when_commands_are_on(tmp_path_factory, broker, caplog):
    off = _serve(tmp_path_factory, broker, "ph3")
    on = _serve(tmp_path_factory, broker, "ph4", mqtt_commands=True)
    listener = Listener(broker.port, "homeassistant/#", "ph3/#", "ph4/#")
    try:
        _push(off, "gate-off", "AA111AA")
        _push(on, "gate-on", "BB222BB")
        listener.json("ph3/device/gate-off")
        button = listener.json("homeassistant/button/ph4/open_gate_gate-on/config")
        assert button["command_topic"] == "ph4/gate/gate-on/open"
        with caplog.at_level(logging.INFO, logger="platehub.commands"):
            listener.client.publish("ph3/gate/gate-off/open", button["payload_press"], qos=1).wait_for_publish(5)
            listener.client.publish(button["command_topic"], button["payload_press"], qos=1).wait_for_publish(5)
            deadline = time.time() + 10
            while not on.hub.store.commands.list("gate-on") and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the other server had as long to act on its press
        assert [(c.kind, c.status) for c in on.hub.store.commands.list("gate-on")] == [("open_gate", "pending")]
        assert off.hub.store.commands.list("gate-off") == []
        assert any("open_gate queued for gate-on by mqtt" in r.getMessage() for r in caplog.records)
    finally:
        listener.close()
        off.stop()
        on.stop()


def test_broker_outage_loses_no_read_and_the_bridge_reconnects(tmp_path_factory):
    broker = Mosquitto(free_port()).start()
    server = _serve(tmp_path_factory, broker, "ph5")
    listener = Listener(broker.port, "ph5/#")
    try:
        listener.wait("ph5/status", lambda p, r: p == b"online")
        listener.close()
        broker.stop()
        time.sleep(0.5)
        replies = _push(server, "cam-down", "CD111EF", "CD222EF")
        assert len(replies) == 2  # the camera got its answers
        assert {r.plate for r in server.hub.store.reads.find() if r.source == "cam-down"} == {"CD111EF", "CD222EF"}
        broker.start()
        back = Listener(broker.port, "ph5/#")
        try:
            back.wait("ph5/status", lambda p, r: p == b"online", timeout=90)  # after the reconnect backoff
            assert back.json("ph5/read/cam-down", lambda b: b["plate"] == "CD222EF")["source"] == "cam-down"
        finally:
            back.close()
    finally:
        server.stop()
        broker.close()
