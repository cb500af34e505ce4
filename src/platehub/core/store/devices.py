"""Known LPR sources (devices) and the per-device command queue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, case, func, insert, or_, select, update

from platehub.core.read import utcnow
from platehub.core.store.database import as_json, as_utc, insert_ignore
from platehub.core.store.direct import DirectReads
from platehub.core.store.schema import commands, devices


@dataclass(frozen=True)
class Device:
    code: str
    protocol: str
    name: str | None
    address: str | None
    channels: int | None
    heartbeat: bool
    online: bool
    meta: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    gate_policy: str | None = None  # core.gate.POLICIES; None = the server's
    alert_unknown: bool | None = None  # None = the server's setting
    lot_entrance: int | None = None  # parking lot a read of this source enters
    lot_exit: int | None = None  # parking lot a read of this source leaves
    gate_device: str | None = None  # the all-in-one camera opening this source's gate; None = itself
    peer_address: str | None = None  # the network address its (accepted) messages last came from
    pinned_address: str | None = None  # only messages from this address act for it; None = any address
    secured: bool = False  # its registrations must carry its shared secret (core.devices)


def _device(row) -> Device:
    return Device(row.code, row.protocol, row.name, row.address, row.channels, bool(row.heartbeat),
                  bool(row.online), dict(as_json(row.meta) or {}), as_utc(row.first_seen), as_utc(row.last_seen),
                  row.gate_policy, None if row.alert_unknown is None else bool(row.alert_unknown),
                  row.lot_entrance, row.lot_exit, row.gate_device, row.peer_address, row.pinned_address,
                  row.secret_hash is not None)


_WHEN = bindparam("b_when", type_=devices.c.last_seen.type)
_PEER = bindparam("b_peer", type_=devices.c.peer_address.type)
_FIRST_PIN = and_(bindparam("b_pin", type_=devices.c.heartbeat.type), devices.c.peer_address.is_(None),
                  devices.c.pinned_address.is_(None))
# `DeviceRepo.seen` of a device online, built once: None keeps a field, heartbeat is only ever turned on,
# a pin is set only where the device had neither a pin nor a known address (values are the row's old ones)
_TOUCH = update(devices).where((devices.c.code == bindparam("b_code")) & devices.c.online.is_(True)).values(
    last_seen=case((devices.c.last_seen > _WHEN, devices.c.last_seen), else_=_WHEN),
    name=func.coalesce(bindparam("b_name"), devices.c.name),
    address=func.coalesce(bindparam("b_address"), devices.c.address),
    channels=func.coalesce(bindparam("b_channels"), devices.c.channels),
    heartbeat=or_(devices.c.heartbeat, bindparam("b_heartbeat", type_=devices.c.heartbeat.type)),
    peer_address=func.coalesce(_PEER, devices.c.peer_address),
    pinned_address=case((_FIRST_PIN, _PEER), else_=devices.c.pinned_address),
).returning(*devices.c)


class DeviceRepo:
    def __init__(self, engine: Engine, direct: DirectReads) -> None:
        self.engine = engine
        self.direct = direct  # `get`: once per pushed read
        self._local = threading.local()  # .memo: {code: Device} inside `one_message`
        self._written: dict[str, tuple[float, tuple]] = {}  # code → (monotonic time, fields) of the last `seen` write

    @contextmanager
    def one_message(self) -> Iterator[None]:
        """While one message is handled (in this thread), `get` answers each device once from the
        database and then from memory: the registry, the gate, parking and the reply see one state of
        the device, for one query instead of one each."""
        self._local.memo = {}
        try:
            yield
        finally:
            self._local.memo = None

    def _remember(self, device: Device) -> Device:
        memo = getattr(self._local, "memo", None)
        if memo is not None:
            memo[device.code] = device
        return device

    def _forget(self, code: str | None = None) -> None:
        memo = getattr(self._local, "memo", None)
        if memo and code is not None:
            memo.pop(code, None)
        elif memo:
            memo.clear()

    def seen(self, code: str, protocol: str, *, name: str | None = None, address: str | None = None,
             channels: int | None = None, heartbeat: bool = False, meta: dict | None = None,
             when: datetime | None = None, peer: str | None = None, pin: bool = False,
             every: float = 0.0, known: Device | None = None) -> tuple[Device, bool]:
        """Record that `code` was heard from; returns the device and whether it came (back) online.

        Fields given as None keep their stored value; `meta` is merged into the stored one. `peer`: the
        network address the message came from; `pin`: pin a device to it when it had none yet (first
        sight). `every`: seconds within which a message like the last one this process wrote (same
        fields, no meta) of a device online is only read, not written (`last_seen` is then that much
        coarser; `known`: the device as the caller has just read it, so it is not read again)."""
        when = when or utcnow()
        if not meta:  # the usual message: a known device, online, heard from again
            fields, now = (name, address, channels, heartbeat, peer, pin), time.monotonic()
            last = self._written.get(code)
            if last is not None and now - last[0] < every and last[1] == fields:
                device = known or self.get(code)  # written a moment ago: read only (no write transaction)
                if device is not None and device.online:
                    return device, False
            touched = self._touch(code, when, name, address, channels, heartbeat, peer, pin)
            if touched is not None:
                if len(self._written) > 10_000:
                    self._written.clear()
                self._written[code] = (now, fields)
                return self._remember(touched), False
        with self.engine.begin() as conn:
            # insert-or-skip first, so two first messages of a new device at once cannot both insert
            created = conn.execute(insert_ignore(self.engine, devices).returning(devices.c.code).values(
                code=code, protocol=protocol, name=name, address=address, channels=channels,
                heartbeat=heartbeat, online=True, meta=meta or {}, first_seen=when, last_seen=when,
                peer_address=peer, pinned_address=peer if pin else None)).first()
            if created is not None:
                came_online = True
            else:
                row = conn.execute(select(devices).where(devices.c.code == code).with_for_update()).first()
                values: dict[str, Any] = {"last_seen": max(when, as_utc(row.last_seen)), "online": True,
                                          "heartbeat": bool(row.heartbeat) or heartbeat}
                for key, value in (("name", name), ("address", address), ("channels", channels),
                                   ("peer_address", peer)):
                    if value is not None:
                        values[key] = value
                if pin and peer and row.peer_address is None and row.pinned_address is None:
                    values["pinned_address"] = peer
                if meta:
                    values["meta"] = {**(row.meta or {}), **meta}
                conn.execute(update(devices).where(devices.c.code == code).values(**values))
                came_online = not row.online
            row = conn.execute(select(devices).where(devices.c.code == code)).first()
        return self._remember(_device(row)), came_online

    def _touch(self, code: str, when: datetime, name: str | None, address: str | None, channels: int | None,
               heartbeat: bool, peer: str | None, pin: bool) -> Device | None:
        """`seen` of a device that is online: None when it is unknown or offline."""
        params = {"b_code": code, "b_when": when, "b_name": name, "b_address": address, "b_channels": channels,
                  "b_heartbeat": heartbeat, "b_peer": peer, "b_pin": bool(pin and peer)}
        with self.engine.begin() as conn:
            row = conn.execute(_TOUCH, params).first()
        return _device(row) if row else None

    def get(self, code: str) -> Device | None:
        memo = getattr(self._local, "memo", None)
        if memo is not None and code in memo:
            return memo[code]
        rows = self.direct.rows("SELECT * FROM devices WHERE code = ?", (code,))
        return self._remember(_device(rows[0])) if rows else None

    def list(self, protocol: str | None = None) -> list[Device]:
        q = select(devices).order_by(devices.c.code)
        if protocol:
            q = q.where(devices.c.protocol == protocol)
        with self.engine.connect() as conn:
            return [_device(r) for r in conn.execute(q)]

    def mark_offline(self, silent_since: datetime) -> list[Device]:
        """Heartbeat devices not heard from since `silent_since` go offline; returns those that did."""
        cond = devices.c.heartbeat.is_(True) & devices.c.online.is_(True) & (devices.c.last_seen < silent_since)
        with self.engine.begin() as conn:
            # the condition is repeated in the UPDATE: a heartbeat between the two keeps its device online
            rows = conn.execute(update(devices).where(cond).values(online=False).returning(*devices.c)).all()
        self._forget()
        return [replace(_device(r), online=False) for r in rows]

    def configure(self, code: str, **values: Any) -> bool:
        """Set operator settings of a device: gate_policy, alert_unknown, gate_device, lot_entrance, lot_exit,
        whitelist_sync (kept in meta), pinned_address, secret_hash. None clears one: the server's default, no
        lot, no pin. False when the device is unknown."""
        allowed = {"gate_policy", "alert_unknown", "gate_device", "lot_entrance", "lot_exit", "whitelist_sync",
                   "pinned_address", "secret_hash"}
        if not values or set(values) - allowed:
            raise ValueError(f"settable: {', '.join(sorted(allowed))}")
        self._forget(code)
        with self.engine.begin() as conn:
            row = conn.execute(select(devices).where(devices.c.code == code).with_for_update()).first()
            if row is None:
                return False
            if "whitelist_sync" in values:  # kept in meta; None = the server's setting
                meta = {k: v for k, v in (row.meta or {}).items() if k != "whitelist_sync"}
                flag = values.pop("whitelist_sync")
                values["meta"] = meta if flag is None else {**meta, "whitelist_sync": flag}
            conn.execute(update(devices).where(devices.c.code == code).values(**values))
            return True

    def secret_hash(self, code: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(devices.c.secret_hash).where(devices.c.code == code)).scalar()

    def add(self, code: str, protocol: str, name: str | None = None) -> Device:
        """Register a source before it first sends anything (to set its policy or lots in advance);
        an existing device is returned unchanged."""
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(insert_ignore(self.engine, devices).values(
                code=code, protocol=protocol, name=name, heartbeat=False, online=False, meta={},
                first_seen=now, last_seen=now))
        return self.get(code)  # type: ignore[return-value]


COMMAND_KINDS = ("open_gate", "serial_data", "trigger", "screenshot", "whitelist_add", "whitelist_delete",
                 "whitelist_clear")


@dataclass(frozen=True)
class Command:
    id: int
    device: str
    kind: str
    payload: dict[str, Any]
    status: str
    via: str | None
    created_at: datetime
    delivered_at: datetime | None
    delivered_to: str | None = None  # the network address the reply carrying it went to


def _command(row) -> Command:
    return Command(row.id, row.device, row.kind, dict(row.payload or {}), row.status, row.via,
                   as_utc(row.created_at), as_utc(row.delivered_at), row.delivered_to)


class CommandRepo:
    def __init__(self, engine: Engine, direct: DirectReads) -> None:
        self.engine = engine
        self.direct = direct  # `pending`: asked by every reply to a camera, nearly always of none
        self._pending = select(commands).where((commands.c.device == bindparam("device"))
                                               & (commands.c.status == "pending")).order_by(commands.c.id)

    def enqueue(self, device: str, kind: str, payload: dict | None = None) -> Command:
        if kind not in COMMAND_KINDS:
            raise ValueError(f"unknown command {kind!r}; one of {', '.join(COMMAND_KINDS)}")
        now = utcnow()
        with self.engine.begin() as conn:
            cid = conn.execute(insert(commands).values(device=device, kind=kind, payload=payload or {},
                                                       status="pending", created_at=now)).inserted_primary_key[0]
        return Command(int(cid), device, kind, payload or {}, "pending", None, now, None)

    def pending(self, device: str) -> list[Command]:
        """Oldest first."""
        if self.direct.value("SELECT 1 FROM commands WHERE device = ? AND status = 'pending' LIMIT 1",
                             (device,)) is None:
            return []
        with self.engine.connect() as conn:
            return [_command(r) for r in conn.execute(self._pending, {"device": device})]

    def mark_delivered(self, ids: list[int], via: str, to: str | None = None) -> set[int]:
        """Mark the commands still pending delivered; returns their ids (one cancelled, or delivered by another
        process's reply at the same moment, is not among them)."""
        if not ids:
            return set()
        with self.engine.begin() as conn:
            return set(conn.execute(
                update(commands).where(commands.c.id.in_(ids) & (commands.c.status == "pending"))
                .values(status="delivered", via=via, delivered_at=utcnow(), delivered_to=to)
                .returning(commands.c.id)).scalars())

    def cancel(self, command_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(update(commands).where((commands.c.id == command_id) & (commands.c.status == "pending"))
                                .values(status="cancelled")).rowcount > 0

    def get(self, command_id: int) -> Command | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(commands).where(commands.c.id == command_id)).first()
        return _command(row) if row else None

    def list(self, device: str | None = None, limit: int = 100) -> list[Command]:
        q = select(commands).order_by(commands.c.id.desc()).limit(limit)
        if device:
            q = q.where(commands.c.device == device)
        with self.engine.connect() as conn:
            return [_command(r) for r in conn.execute(q)]
