"""What the all-in-one door does with each parsed message: the domain calls (device registry, ingest,
gate decision, command queue, image store, bus) in the order the protocol needs them.

Blocking: the routes run these methods in the thread pool. The decisions themselves belong to the
domain (`core.gate`, `core.ingest`, `core.commands`); this module only tells the domain what the
protocol itself implies: whether a record is live (see `live`), and who sent it (the connection's
address, and the registration's password as the device's shared secret: `core.devices.arrive`). A
message the registry refuses for its device (pinned to another address, or without its secret) changes
nothing, is not stored and takes no command: it gets a reply that opens nothing."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from platehub.config import Settings
from platehub.core.bus import Bus
from platehub.core.commands import CommandQueue
from platehub.core.devices import Arrival, DeviceRegistry
from platehub.core.ingest import Ingestor
from platehub.core.read import new_id, utcnow
from platehub.core.store import Store
from platehub.core.whitelist import WhitelistSync
from platehub.engine.image import extension
from platehub.protocols.allinone import codec, events
from platehub.protocols.allinone.codec import (
    PROTOCOL,
    AlarmInfoPlate,
    AlarmIoIn,
    BadMessage,
    Registration,
    Reply,
    SerialData,
    TriggerImage,
)

log = logging.getLogger("platehub.allinone")
NOT_ACCEPTED = "not accepted from this sender for this device"  # the reply's error to a refused message
SNAPSHOT_DEVICE_PARAM = "device"  # query parameter of the screenshot URL handed to the camera


@dataclass(frozen=True)
class Origin:
    """How the request reached us: what the screenshot URL is built from, and who sent it."""

    scheme: str
    host: str
    client: str | None = None
    device_hint: str | None = None  # ?device= of a screenshot upload

    def snapshot(self, path: str, device: str) -> codec.SnapshotTarget:
        return codec.snapshot_target(self.scheme, self.host, path, device, SNAPSHOT_DEVICE_PARAM)


def live(msg: AlarmInfoPlate) -> bool:
    """Whether the pushed plate is a vehicle at the gate now, the only kind the domain may open for.
    An offline record (isoffline=1) passed while the server was unreachable, minutes or hours ago (the
    camera decided on the spot then, from its own whitelist); a result without a serial number cannot be
    tied to a device; one with malformed fields is not trusted. All are still stored and decided for the
    record (core.gate)."""
    return not (msg.offline or not msg.serialno or msg.problems)


class Door:
    """The all-in-one door, built once by the app with the domain services it calls."""

    def __init__(self, settings: Settings, store: Store, bus: Bus, devices: DeviceRegistry, ingestor: Ingestor,
                 commands: CommandQueue, whitelist: WhitelistSync) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.devices = devices
        self.ingestor = ingestor
        self.commands = commands
        self.whitelist = whitelist
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, device: str) -> threading.Lock:
        with self._guard:
            if len(self._locks) > 10_000:
                self._locks.clear()
            return self._locks.setdefault(device, threading.Lock())

    def seen(self, code: str, origin: Origin, **fields) -> Arrival:
        try:
            arrival = self.devices.arrive(code, PROTOCOL, origin.client, **fields)
        except IntegrityError:  # first message of a device, registered by a concurrent request
            arrival = self.devices.arrive(code, PROTOCOL, origin.client, **fields)
        if arrival.refused is None and self.whitelist.enabled(arrival.device):
            with self._lock(code):
                self.whitelist.contact(code)
        return arrival

    # ------------------------------------------------------------------ commands

    def take(self, device: str, origin: Origin, via: str, **reply_args) -> Reply:
        """The reply with the device's pending commands that fit in it, marked delivered, and the whitelist
        sync's next operation when no queued whitelist edit takes its slot. One reply at a time per
        device, so a plate reply and a comet poll never carry the same command twice: in this process by
        a lock, across processes by the database (a command goes in the reply that marked it delivered)."""
        with self._lock(device):
            pending = self.commands.pending(device)
            sync = self.whitelist
            batch = None
            manual = any(c.kind.startswith("whitelist_") for c in pending)
            if not manual and sync.enabled(self.store.devices.get(device)):
                batch = sync.next_batch(device)
            snapshot = origin.snapshot(self.settings.allinone_snapshot_path, device) if pending else None
            whitelist = codec.whitelist_operate(batch.op, batch.entries) if batch else None
            reply = codec.reply(pending, snapshot=snapshot, whitelist=whitelist, **reply_args)
            if reply.carried:
                taken = self.commands.delivered(list(reply.carried), via, origin.client)
                if len(taken) < len(reply.carried):  # taken by another process's reply, or cancelled meanwhile
                    reply = codec.reply(taken, snapshot=snapshot, whitelist=whitelist, **reply_args)
                for op, entries in codec.whitelist_edits(reply.carried):
                    sync.recorded(device, op, entries)
            if batch is not None:
                sync.sent(device, batch)
        if reply.carried or batch is not None:
            self.store.durable()  # what the reply carries is recorded as delivered before the camera hears it
        return reply

    # ------------------------------------------------------------------ messages

    def handle_json(self, body: bytes, origin: Origin) -> tuple[int, dict]:
        """A JSON push (any path): parse, act, reply. Returns (HTTP status, reply body)."""
        received = utcnow()
        try:
            msg = codec.parse_json(body)
        except BadMessage as e:
            log.warning("all-in-one: bad message from %s: %s", origin.client, e)
            return 200, codec.refusal(str(e))
        with self.store.devices.one_message():
            return self._handle(msg, origin, received)

    def _handle(self, msg: codec.Message, origin: Origin, received: datetime) -> tuple[int, dict]:
        if isinstance(msg, AlarmInfoPlate):
            return self.plate(msg, origin, received)
        if isinstance(msg, AlarmIoIn):
            done = self.io_in(msg, origin, received)
            return 200, codec.ack("AlarmIoIn") if done else codec.refusal(NOT_ACCEPTED)
        if isinstance(msg, SerialData):
            done = self.serial_data(msg, origin, received)
            return 200, codec.ack("SerialData") if done else codec.refusal(NOT_ACCEPTED)
        done = self.snapshot(msg, origin, received) is not None
        return 200, codec.ack("TriggerImage") if done else codec.refusal(NOT_ACCEPTED)

    def plate(self, msg: AlarmInfoPlate, origin: Origin, received: datetime) -> tuple[int, dict]:
        pr = msg.result
        if msg.problems or msg.notes:
            log.warning("all-in-one plate from %s (%s): %s", msg.serialno or origin.client, pr.plateid,
                        "; ".join(msg.problems + msg.notes))
        device = None
        if msg.serialno:
            arrival = self.seen(msg.serialno, origin, name=msg.device_name, address=msg.ipaddr)
            if arrival.refused:
                return 200, codec.refusal(NOT_ACCEPTED)  # not stored: the camera keeps a record of its own
            device = arrival.device
        else:
            log.warning("all-in-one plate without serialno from %s: stored, gate not opened", origin.client)
        read = codec.to_read(msg, received, source=msg.ipaddr or origin.client)
        ingested = self.ingestor.ingest(read, full=pr.image_file, plate=pr.image_fragment, live=live(msg),
                                        device=device)
        if not ingested.new and pr.isoffline:
            log.info("all-in-one offline record %s of %s received again", pr.plateid, msg.serialno)
        opens = ingested.decision is not None and ingested.decision.opens
        args = {"info": opens, "plateid": pr.plateid, "offline": pr.isoffline}
        if not msg.serialno:
            return 200, codec.reply(**args).body
        return 200, self.take(msg.serialno, origin, "reply", **args).body

    def _device_of(self, serial: str | None, ipaddr: str | None, origin: Origin, **fields) -> str | None:
        """The serial number; "" when the message is refused for that device."""
        if serial and self.seen(serial, origin, address=ipaddr, **fields).refused:
            return ""
        return serial

    def io_in(self, msg: AlarmIoIn, origin: Origin, received: datetime) -> bool:
        device = self._device_of(msg.serialno, msg.ipaddr, origin, name=msg.device_name)
        if device == "":
            return False
        log.info("all-in-one IO input from %s (%s): source %s value %s", device or "?", msg.ipaddr or origin.client,
                 msg.source, msg.value)
        self.bus.publish(events.IO_IN, {"device": device, "name": msg.device_name, "address": msg.ipaddr,
                                       "source": msg.source, "value": msg.value, "received_at": received,
                                       "raw": msg.raw})
        return True

    def serial_data(self, msg: SerialData, origin: Origin, received: datetime) -> bool:
        device = self._device_of(msg.serialno, msg.ipaddr, origin, name=msg.device_name)
        if device == "":
            return False
        if msg.data_len is not None and msg.data_len != len(msg.data):
            log.warning("all-in-one serial data from %s: %d bytes, dataLen says %d", device, len(msg.data),
                        msg.data_len)
        log.info("all-in-one serial data from %s (%s), port %s: %d bytes %s", device or "?",
                 msg.ipaddr or origin.client, msg.serial_channel, len(msg.data), msg.data[:64].hex())
        self.bus.publish(events.SERIAL_DATA, {"device": device, "name": msg.device_name, "address": msg.ipaddr,
                                             "channel": msg.channel, "serial_channel": msg.serial_channel,
                                             "data": msg.data, "received_at": received})
        return True

    def snapshot(self, msg: TriggerImage, origin: Origin, received: datetime) -> str | None:
        """A screenshot the camera was asked for (TriggerImage reply). The spec's upload names only the
        camera's `ipaddr`; the URL platehub hands out carries `?device=SERIAL`, else the address is matched
        against the known devices (when exactly one has it). It is kept whatever PLATEHUB_IMAGE_RETENTION
        says: an operator asked for it (the retention setting is about plate reads). None: refused."""
        device = msg.serialno or origin.device_hint
        if not device and msg.ipaddr:
            known = [d.code for d in self.store.devices.list(PROTOCOL) if d.address == msg.ipaddr]
            device = known[0] if len(known) == 1 else None  # an ambiguous address names no device
        if device and self.seen(device, origin, address=msg.ipaddr).refused:
            return None
        if msg.image_len is not None and msg.image_len != len(msg.image):
            log.warning("all-in-one screenshot from %s: %d bytes, imageFileLen says %d", device, len(msg.image),
                        msg.image_len)
        name = f"snapshot-{re.sub(r'[^A-Za-z0-9_.-]', '_', device or 'unknown')}-{new_id()}"
        path = self.store.images.save(name, msg.image, received, extension(msg.image))
        log.info("all-in-one screenshot from %s (%s): %d bytes saved as %s", device or "?",
                 msg.ipaddr or origin.client, len(msg.image), path)
        self.bus.publish(events.SNAPSHOT, {"device": device, "address": msg.ipaddr, "image": path,
                                          "size": len(msg.image), "received_at": received})
        return path

    def register(self, reg: Registration, origin: Origin, mode: str) -> Arrival:
        """A heartbeat or comet poll: the device is known and alive (the password is checked against the
        device's secret, and not kept)."""
        meta = {"registration": mode, "port": reg.port, "user_name": reg.user_name}
        meta = {k: v for k, v in meta.items() if v is not None}
        return self.seen(reg.serialno, origin, name=reg.device_name, address=reg.ipaddr,
                         channels=reg.channel_num, heartbeat=True, meta=meta, secret=reg.password, check_secret=True)
