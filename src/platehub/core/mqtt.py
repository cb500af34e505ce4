"""MQTT bridge: every read, gate decision, alert, parking count and device status goes to a broker
(PLATEHUB_MQTT_URL = mqtt[s]://user:password@host:port/prefix; off when unset), with Home Assistant
discovery. Topics (`<p>` = the URL's path, default `platehub`; `<code>` = a device/camera code with
`/ + #` replaced by `_`), JSON payloads unless said:

    <p>/status                     online | offline (plain text; retained; the broker sends offline if we vanish)
    <p>/read/<code>                a new read (`read_json`)
    <p>/read/<code>/updated        a later event of the same vehicle pass (`read_json`)
    <p>/gate/<code>/decision       a gate decision (`decision_json`)
    <p>/alert/<code>               a gate alert (the alert webhook's body, core.gate.Alert.as_json)
    <p>/lot/<id>                   a lot's occupancy (TS-API lot_json + `full`; retained)
    <p>/parking/full               an entry into a full lot (the parking.full payload)
    <p>/device/<code>              a device's status (`device_json`; retained)
    <p>/gate/<code>/open           subscribed, only with PLATEHUB_MQTT_COMMANDS=1: any payload (or
                                   {"channel": n}) queues `open_gate` for that device, by "mqtt"

Home Assistant discovery (retained, `homeassistant/<component>/<node>/<object>/config`, node = the prefix):
a `sensor` of the last plate per camera, a `sensor` of the occupancy per lot, a `binary_sensor`
(connectivity) per device, and — with commands on — a `button` per all-in-one camera (its gate).

The broker never slows ingest: events reach the bridge through its bus subscription (bounded, the
oldest dropped and counted), publishing is non-blocking, and while the broker is away messages wait
in a bounded queue (the oldest dropped, counted, warned). paho reconnects with backoff (1 s to 60 s);
on each (re)connect the retained state and discovery are published again from the database."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from platehub.config import Settings
from platehub.core.bus import DEVICE_STATUS, PARKING_COUNT, PARKING_FULL, READ_STORED, READ_UPDATED, Bus, Subscription
from platehub.core.commands import CommandError, CommandQueue
from platehub.core.gate import GATE_ALERT, GATE_DECISION, Alert
from platehub.core.parking import lot_json
from platehub.core.read import Read, image_path
from platehub.core.store.decisions import Decision
from platehub.core.store.devices import Device
from platehub.core.store.parking import Lot
from platehub.core.tasks import cancel

log = logging.getLogger("platehub.mqtt")

TOPICS = (READ_STORED, READ_UPDATED, GATE_DECISION, GATE_ALERT, PARKING_COUNT, PARKING_FULL, DEVICE_STATUS)
PENDING = 1000  # messages kept while the broker is away
BY = "mqtt"  # who queued a command from MQTT (the command log, the event log)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    prefix: str
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_url(url: str) -> Broker:
    """mqtt://user:pass@host:1883/prefix (mqtts:// for TLS, port 8883 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError("PLATEHUB_MQTT_URL must look like mqtt://user:password@host:1883/prefix")
    tls = parts.scheme == "mqtts"
    prefix = parts.path.strip("/") or "platehub"
    return Broker(parts.hostname, parts.port or (8883 if tls else 1883), prefix,
                  unquote(parts.username) if parts.username else None,
                  unquote(parts.password) if parts.password else None, tls)


def segment(code: str | None) -> str:
    """A code as one topic level (MQTT wildcards and separators replaced)."""
    return re.sub(r"[/+#\s]", "_", code or "") or "_"


def object_id(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", text)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def read_json(read: Read) -> dict[str, Any]:
    return {"id": read.id, "plate": read.plate, "plate_raw": read.plate_raw, "source": read.source,
            "protocol": read.protocol, "score": read.score, "region": read.region, "vehicle_type": read.vehicle_type,
            "direction": read.direction, "event_id": read.event_id, "first_seen": _iso(read.first_seen),
            "last_seen": _iso(read.last_seen), "received_at": _iso(read.received_at),
            "image_full": image_path(read, "full"), "image_plate": image_path(read, "plate")}


def decision_json(d: Decision) -> dict[str, Any]:
    return {"read": d.read_id, "device": d.device, "policy": d.policy, "action": d.action, "reason": d.reason,
            "why": d.why, "at": _iso(d.at), "list": d.list, "entry_id": d.entry_id, "entry_plate": d.entry_plate,
            "distance": d.distance, "alert": d.alert}


def device_json(d: Device) -> dict[str, Any]:
    return {"code": d.code, "protocol": d.protocol, "name": d.name, "online": d.online,
            "state": "online" if d.online else "offline", "last_seen": _iso(d.last_seen)}


def occupancy_json(lot: Lot) -> dict[str, Any]:
    return {**lot_json(lot), "full": lot.full}


Message = tuple[str, str, bool]  # (topic, payload, retain)


class Topics:
    """Topic names and Home Assistant discovery configs for one prefix."""

    def __init__(self, prefix: str) -> None:
        self.p = prefix
        self.node = object_id(prefix)
        self.status = f"{prefix}/status"

    def _config(self, component: str, obj: str, device: dict[str, Any], **values: Any) -> Message:
        body = {"unique_id": f"{self.node}_{obj}", "object_id": f"{self.node}_{obj}",
                "availability_topic": self.status, "device": device, **values}
        return f"homeassistant/{component}/{self.node}/{obj}/config", json.dumps(body), True

    def _device(self, code: str, name: str | None = None) -> dict[str, Any]:
        return {"identifiers": [f"{self.node}_{object_id(code)}"], "name": name or code, "manufacturer": "platehub",
                "via_device": self.node}

    def hub_device(self) -> dict[str, Any]:
        return {"identifiers": [self.node], "name": f"platehub ({self.p})", "manufacturer": "platehub"}

    def camera(self, code: str, name: str | None = None) -> Message:
        return self._config("sensor", f"last_plate_{object_id(code)}", self._device(code, name),
                            name="Last plate", icon="mdi:car", state_topic=f"{self.p}/read/{segment(code)}",
                            value_template="{{ value_json.plate }}",
                            json_attributes_topic=f"{self.p}/read/{segment(code)}")

    def device(self, d: Device) -> Message:
        return self._config("binary_sensor", f"device_{object_id(d.code)}", self._device(d.code, d.name),
                            name="Connected", device_class="connectivity",
                            state_topic=f"{self.p}/device/{segment(d.code)}", value_template="{{ value_json.state }}",
                            payload_on="online", payload_off="offline")

    def button(self, d: Device) -> Message:
        return self._config("button", f"open_gate_{object_id(d.code)}", self._device(d.code, d.name),
                            name="Open gate", icon="mdi:boom-gate-up",
                            command_topic=f"{self.p}/gate/{segment(d.code)}/open", payload_press="PRESS")

    def lot(self, lot: Lot) -> Message:
        return self._config("sensor", f"lot_{lot.id}", self.hub_device(), name=f"Occupancy {lot.name}",
                            icon="mdi:parking", state_topic=f"{self.p}/lot/{lot.id}", unit_of_measurement="vehicles",
                            state_class="measurement", value_template="{{ value_json.count }}",
                            json_attributes_topic=f"{self.p}/lot/{lot.id}")

    def event(self, topic: str, payload: Any) -> list[Message]:
        """The messages one bus event becomes."""
        p = self.p
        if topic in (READ_STORED, READ_UPDATED):
            suffix = "/updated" if topic == READ_UPDATED else ""
            return [(f"{p}/read/{segment(payload.source)}{suffix}", json.dumps(read_json(payload)), False)]
        if topic == GATE_DECISION:
            return [(f"{p}/gate/{segment(payload.device)}/decision", json.dumps(decision_json(payload)), False)]
        if topic == GATE_ALERT:
            alert: Alert = payload
            return [(f"{p}/alert/{segment(alert.decision.device)}", json.dumps(alert.as_json()), False)]
        if topic == PARKING_COUNT:
            return [(f"{p}/lot/{lot.id}", json.dumps(occupancy_json(lot)), True) for lot in payload.lots]
        if topic == PARKING_FULL:
            return [(f"{p}/parking/full", json.dumps(payload, default=str), False)]
        if topic == DEVICE_STATUS:
            return [(f"{p}/device/{segment(payload.code)}", json.dumps(device_json(payload)), True)]
        return []


class MqttBridge:
    """Started and stopped with the app (app.py lifespan); does nothing when PLATEHUB_MQTT_URL is unset."""

    def __init__(self, settings: Settings, store, bus: Bus, commands: CommandQueue) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.commands = commands
        self.broker = parse_url(settings.mqtt_url) if settings.mqtt_url else None
        self.topics = Topics(self.broker.prefix) if self.broker else None
        self.pending: deque[Message] = deque(maxlen=PENDING)
        self.dropped = 0  # messages dropped while the broker was away
        self.connected = False
        self._announced: set[str] = set()  # discovery topics sent since the last connect
        self._client = None
        self._sub: Subscription | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resync: asyncio.Future | None = None  # the state sent again after a (re)connect

    def start(self) -> None:
        if self.broker is None:
            return
        import paho.mqtt.client as paho

        self._loop = asyncio.get_running_loop()
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"platehub-{self.topics.node}")
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set_context(ssl.create_default_context())
        client.will_set(self.topics.status, "offline", qos=1, retain=True)
        client.reconnect_delay_set(1, 60)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._sub = self.bus.subscribe(*TOPICS, maxsize=10_000, everywhere=True)  # it runs in the leader alone
        self._task = asyncio.create_task(self._run())
        client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        client.loop_start()
        log.info("MQTT: publishing to %s:%s under %s/ (commands %s)", self.broker.host, self.broker.port,
                 self.broker.prefix, "on" if self.settings.mqtt_commands else "off")

    async def stop(self) -> None:
        if self._client is None:
            return
        await cancel(self._task)
        await cancel(self._resync)
        self._sub.close()
        client = self._client

        def close() -> None:
            if self.connected:
                try:
                    client.publish(self.topics.status, "offline", qos=1, retain=True).wait_for_publish(2)
                except (RuntimeError, ValueError):  # the broker went away meanwhile: its last will says offline
                    pass
            client.disconnect()
            client.loop_stop()

        await asyncio.get_running_loop().run_in_executor(None, close)
        self._client = None  # stopped: a leader that steps down (core/leader.py) may start it again

    # -- the event loop side

    async def _run(self) -> None:
        warned = 0
        while True:
            event = await self._sub.get()
            if self._sub.dropped > warned:
                warned = self._sub.dropped
                log.warning("MQTT: the bridge fell behind; %d event(s) dropped so far (oldest first)", warned)
            try:
                if event.topic == READ_STORED and event.payload.source:
                    self._announce(self.topics.camera(event.payload.source))
                elif event.topic == DEVICE_STATUS:
                    self._announce_device(event.payload)
                elif event.topic == PARKING_COUNT:
                    for lot in event.payload.lots:
                        self._announce(self.topics.lot(lot))
                for message in self.topics.event(event.topic, event.payload):
                    self._send(message)
            except Exception:  # one odd event never stops the bridge
                log.exception("MQTT: could not publish %s", event.topic)

    def _announce(self, message: Message) -> None:
        if message[0] not in self._announced:
            self._announced.add(message[0])
            self._send(message)

    def _announce_device(self, device: Device) -> None:
        self._announce(self.topics.device(device))
        if self.settings.mqtt_commands and device.protocol == "allinone":
            self._announce(self.topics.button(device))

    def _send(self, message: Message) -> None:
        if self.connected:
            topic, payload, retain = message
            if self._client.publish(topic, payload, qos=0, retain=retain).rc == 0:
                return
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("MQTT: broker unreachable, %d message(s) dropped so far (oldest first)", self.dropped)
        self.pending.append(message)

    async def _connected(self) -> None:
        """(Re)connected: availability, retained state and discovery from the database, then what waited."""
        self._announced.clear()
        self._send((self.topics.status, "online", True))
        devices, lots = await asyncio.get_running_loop().run_in_executor(
            None, lambda: (self.store.devices.list(), self.store.lots.list()))
        for d in devices:
            self._announce_device(d)
            self._announce(self.topics.camera(d.code, d.name))
            self._send((f"{self.topics.p}/device/{segment(d.code)}", json.dumps(device_json(d)), True))
        for lot in lots:
            self._announce(self.topics.lot(lot))
            self._send((f"{self.topics.p}/lot/{lot.id}", json.dumps(occupancy_json(lot)), True))
        while self.pending and self.connected:
            self._send(self.pending.popleft())

    async def _open_gate(self, code: str, body: bytes) -> None:
        channel = 0
        try:
            data = json.loads(body) if body.strip().startswith(b"{") else {}
            channel = int(data.get("channel", 0))
        except (ValueError, TypeError):
            log.warning("MQTT: open_gate for %s: payload is neither PRESS nor {\"channel\": n}; channel 0", code)
        run = asyncio.get_running_loop().run_in_executor
        device = await run(None, self.store.devices.get, code)
        if device is None:
            log.warning("MQTT: open_gate for unknown device %r ignored", code)
            return
        try:
            await run(None, lambda: self.commands.enqueue(device.code, "open_gate", {"channel": channel}, BY))
        except CommandError as e:
            log.warning("MQTT: open_gate for %s refused: %s", code, e)

    # -- paho's network thread

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT: broker refused the connection: %s", reason_code)
            return
        log.info("MQTT: connected to %s:%s", self.broker.host, self.broker.port)
        if self.settings.mqtt_commands:
            client.subscribe(f"{self.topics.p}/gate/+/open", qos=1)
        self._loop.call_soon_threadsafe(self._on_connected)

    def _on_connected(self) -> None:
        self.connected = True
        self._resync = asyncio.ensure_future(self._connected())

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        log.warning("MQTT: disconnected (%s); reconnecting with backoff", reason_code)
        self._loop.call_soon_threadsafe(setattr, self, "connected", False)

    def _on_message(self, client, userdata, message) -> None:
        parts = message.topic.split("/")
        if len(parts) >= 3 and parts[-1] == "open" and parts[-3] == "gate" and self.settings.mqtt_commands:
            asyncio.run_coroutine_threadsafe(self._open_gate(parts[-2], message.payload), self._loop)
