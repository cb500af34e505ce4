"""Storing plate reads that cameras and other software send: images kept as the settings say,
stored before published, idempotent on the sender's identity, vehicle passes merged. Every method
returns only once what it stored (or found stored) survives a crash and a power loss
(`Store.durable`), so a door may acknowledge it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from platehub.config import Settings
from platehub.core.bus import READ_STORED, READ_UPDATED, Bus
from platehub.core.gate import GateKeeper
from platehub.core.observers import Observers
from platehub.core.read import Read
from platehub.core.store import Store
from platehub.core.store.decisions import Decision
from platehub.core.store.devices import Device
from platehub.engine.image import extension

log = logging.getLogger("platehub.ingest")
MAX_PASS_EVENTS = 20  # raw payloads kept per merged pass


@dataclass(frozen=True)
class Ingested:
    read: Read
    new: bool  # False: a duplicate (already stored) or an update of a stored pass
    updated: bool = False
    decision: Decision | None = None  # the gate decision (for a duplicate: the stored read's)


class Ingestor:
    """Blocking methods: call them off the event loop (they publish from any thread)."""

    def __init__(self, settings: Settings, store: Store, bus: Bus, gate: GateKeeper | None = None,
                 observers: Iterable[Callable[[Read], None]] = ()) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # domain reactions to each new read (parking occupancy …), run after it is stored and before it
        # is published; a failing one is logged and never loses the read
        self.observers = Observers(observers)
        self.gate = gate  # decides every new read of a camera door

    def _judge(self, read: Read, live: bool, device: Device | None) -> tuple[Device | None, Decision | None]:
        """The read's source (`device`, or looked up) and the gate's decision on it (None: no gate, or
        deciding failed)."""
        if self.gate is None:
            return None, None
        try:
            if device is None or device.code != read.source:
                device = self.store.devices.get(read.source) if read.source else None
            return device, self.gate.judge(read, device, live)
        except Exception:
            log.exception("read %s: deciding the gate failed (stored, not opened)", read.id)
            return None, None

    def _carry_out(self, read: Read, device: Device | None, decision: Decision) -> None:
        assert self.gate is not None
        try:
            self.gate.carry_out(read, device, decision)
        except Exception:  # the read and its decision are stored whatever a reaction does
            log.exception("read %s stored and decided (%s), but acting on it failed", read.id, decision.action)

    def _duplicate(self, read: Read) -> Ingested:
        log.info("%s read %s from %s: duplicate of %s, skipped", read.protocol, read.plate or "-",
                 read.source, read.source_key)
        stored = self.store.reads.get_by_key(read.protocol, read.source_key) if read.source_key else None
        decision = self.store.decisions.get(stored.id) if stored is not None else None
        self.store.durable()  # its first copy may still wait for its fsync (not when the group commit wrote it)
        return Ingested(stored or read, new=False, decision=decision)

    def _forget_images(self, read: Read) -> None:
        for rel in (read.image_full, read.image_plate):
            if rel:
                self.store.images.delete(rel)

    def _images(self, read: Read, full: bytes | None, plate: bytes | None, name: str | None = None) -> Read:
        """The read with the given images saved (as the retention setting allows) under `name`."""
        retention = self.settings.image_retention
        images = self.store.images
        name = name or read.id
        saved = {}
        if full and retention == "full":
            saved["image_full"] = images.save(name, full, read.received_at, extension(full))
        if plate and retention in ("full", "plate"):
            saved["image_plate"] = images.save(f"{name}-plate", plate, read.received_at, extension(plate))
        return replace(read, **saved) if saved else read

    def ingest(self, read: Read, full: bytes | None = None, plate: bytes | None = None,
               live: bool = True, device: Device | None = None) -> Ingested:
        """Store one read (skipped when its (protocol, source_key) is stored already), decide the gate
        (`live`: the vehicle is at the gate now; see core.gate), then publish. `device`: the source's
        device as the door has just read it (else it is looked up)."""
        saved = self._images(read, full, plate)
        device, decision = self._judge(saved, live, device)
        decided = (lambda conn, _: self.gate.store_in(conn, read, decision)) if decision is not None else None
        if not self.store.reads.add_one(saved, then=decided):  # the read, its decision, its alert: one commit
            self._forget_images(saved)  # a record sent again (rare: no lookup before the insert for it)
            return self._duplicate(read)
        read = saved
        log.info("%s read %s stored from %s (%s)%s", read.protocol, read.plate or "-", read.source, read.id,
                 f"; {decision.summary()}" if decision is not None else "")  # one line per read
        if decision is not None:
            self._carry_out(read, device, decision)
        self.observers.notify(read)
        self.store.durable()
        self.bus.publish(READ_STORED, read)
        return Ingested(read, new=True, decision=decision)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks.clear()
            return self._locks.setdefault(key, threading.Lock())

    def ingest_pass(self, read: Read, full: bytes | None = None, plate: bytes | None = None) -> Ingested:
        """One vehicle pass is one read: events with the same `source_key` within the pass timeout
        update it (best text and image, first/last seen) instead of adding reads."""
        assert read.source_key, "a pass needs the sender's pass identity as source_key"
        with self._lock(f"{read.protocol}:{read.source_key}"):
            stored = self.store.reads.get_by_key(read.protocol, read.source_key)
            gap = timedelta(seconds=self.settings.pass_timeout)
            if stored is not None and read.first_seen - (stored.last_seen or stored.first_seen) > gap:
                # the camera reused the pass id (e.g. after a restart): close the old pass under its own key
                closed = f"{stored.source_key}@{stored.first_seen.isoformat()}"
                self.store.reads.replace(replace(stored, source_key=closed))
                stored = None
            if stored is None:
                raw = {"events": [read.raw]} if read.raw is not None else None
                return self.ingest(replace(read, raw=raw), full, plate)
            if read.raw is not None and read.raw in (stored.raw or {}).get("events", []):
                log.info("%s read %s from %s: event resent, already merged", read.protocol, stored.plate or "-",
                         read.source)
                self.store.durable()
                return Ingested(stored, new=False)
            merged = self._merge(stored, read, full, plate)
            self.store.reads.replace(merged)
            self.store.durable()
        log.info("%s read %s updated from %s (%s)", read.protocol, merged.plate or "-", read.source, merged.id)
        self.bus.publish(READ_UPDATED, merged)
        return Ingested(merged, new=False, updated=True)

    def _merge(self, stored: Read, event: Read, full: bytes | None, plate: bytes | None) -> Read:
        better = bool(event.plate) and (not stored.plate or (event.score or 0) > (stored.score or 0))
        merged = replace(
            stored,
            first_seen=min(stored.first_seen, event.first_seen),
            last_seen=max(stored.last_seen or stored.first_seen, event.last_seen or event.first_seen),
            direction=event.direction or stored.direction,
            raw={"events": ([*(stored.raw or {}).get("events", []), event.raw])[-MAX_PASS_EVENTS:]},
        )
        if better:
            merged = replace(merged, plate=event.plate, plate_raw=event.plate_raw, score=event.score,
                             dscore=event.dscore, box=event.box, region=event.region or stored.region,
                             region_score=event.region_score, candidates=event.candidates)
        if (full or plate) and (better or not (stored.image_full or stored.image_plate)):
            name = f"{stored.id}-{len(merged.raw['events'])}"
            with_images = self._images(replace(merged, received_at=event.received_at), full, plate, name)
            merged = replace(merged, image_full=with_images.image_full or stored.image_full,
                             image_plate=with_images.image_plate or stored.image_plate)
        return merged
