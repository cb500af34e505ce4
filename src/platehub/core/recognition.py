"""Recognising uploaded images: the business rules around the engine.

Decode and recognise off the event loop, store every plate as a read (with images kept as the
settings say), count the call, store the webhook deliveries it owes (core/outbox.py), then publish —
store, then publish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core.bus import READ_STORED, SNAPSHOT_DONE, Bus
from platehub.core.observers import Observers
from platehub.core.outbox import Outbox
from platehub.core.read import Read, new_id, utcnow
from platehub.core.store import Store
from platehub.engine import Engine, EngineOptions, PlateResult
from platehub.engine.image import decode, encode_jpeg, extension

log = logging.getLogger("platehub.recognition")


class QuotaExceeded(Exception):
    """The monthly call limit (PLATEHUB_MAX_CALLS) is used up."""


@dataclass(frozen=True)
class _Call:
    """One recognition call, recognised and not yet stored (what `Recognizer._store` keeps of it)."""

    id: str
    data: bytes = field(repr=False)  # the uploaded file, kept as it came (PLATEHUB_IMAGE_RETENTION=full)
    image: np.ndarray = field(repr=False)  # decoded, for the plate crops (…=plate)
    plates: list[PlateResult]
    options: EngineOptions
    filename: str
    camera_id: str | None
    when: datetime  # the client's timestamp, else `received`
    received: datetime


@dataclass(frozen=True)
class Recognition:
    """The outcome of one recognition call."""

    id: str
    received_at: datetime
    timestamp: datetime  # the client's timestamp, else the receive time
    camera_id: str | None
    filename: str
    processing_ms: float
    plates: tuple[PlateResult, ...]
    reads: tuple[Read, ...]
    options: EngineOptions
    calls: int  # calls this month, this one included
    image: bytes = field(repr=False, default=b"")


class Recognizer:
    def __init__(self, settings: Settings, store: Store, bus: Bus, engine: Engine | None = None,
                 latency: Callable[[float], None] | None = None,
                 observers: Iterable[Callable[[Read], None]] = (), outbox: Outbox | None = None) -> None:
        self.settings = settings
        self.outbox = outbox  # the webhook deliveries each call owes, stored before it is answered
        self._latency = latency  # told the engine time (ms) of each call (core.metrics)
        self.pending = 0  # calls in the engine pool, running or waiting (changed on the event loop only)
        self.store = store
        self.bus = bus
        self._engine = engine
        self._pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="recognize")
        # domain reactions to each stored read (parking occupancy …), as Ingestor.observers: run after it
        # is stored and before it is published; a failing one is logged and never loses the read
        self.observers = Observers(observers)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine.load(threads=self.settings.ort_threads)
        return self._engine

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, data: bytes, options: EngineOptions) -> tuple[np.ndarray, list[PlateResult], float]:
        t0 = time.perf_counter()
        img = decode(data)
        plates = self.engine.recognize(img, options)
        return img, plates, 1000 * (time.perf_counter() - t0)

    async def recognize(
        self,
        data: bytes,
        options: EngineOptions,
        filename: str,
        camera_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> Recognition:
        """Raises engine.image.ImageError for bytes that are not a usable image."""
        received = utcnow()
        limit = self.settings.max_calls
        if limit and await run_in_threadpool(self.store.usage.calls, received) >= limit:
            raise QuotaExceeded()
        loop = asyncio.get_running_loop()
        self.pending += 1
        try:
            img, plates, ms = await loop.run_in_executor(self._pool, self._run, data, options)
        finally:
            self.pending -= 1
        if self._latency is not None:
            self._latency(ms)
        rec_id = new_id()
        reads, calls = await run_in_threadpool(self._store, _Call(
            rec_id, data, img, plates, options, filename, camera_id, timestamp or received, received))
        rec = Recognition(
            rec_id, received, timestamp or received, camera_id, filename, round(ms, 3), tuple(plates),
            tuple(reads), options, calls, data,
        )
        if self.outbox is not None:
            await run_in_threadpool(self.outbox.add, "recognition", rec, data, filename or "image.jpg")
        for read in reads:
            self.bus.publish(READ_STORED, read)
        self.bus.publish(SNAPSHOT_DONE, rec)
        log.info(
            "recognition %s camera=%s file=%s plates=%s %.0f ms",
            rec_id, camera_id, filename, ",".join(p.plate for p in plates) or "-", ms,
        )
        return rec

    def _store(self, call: _Call) -> tuple[list[Read], int]:
        """The call's reads, stored (with the images the retention keeps) and observed; the month's calls."""
        rec_id, when, received = call.id, call.when, call.received
        retention = self.settings.image_retention
        images = self.store.images
        full = (images.save(rec_id, call.data, received, extension(call.data))
                if retention == "full" and call.plates else None)
        reads = []
        for i, p in enumerate(call.plates):
            read_id = new_id()
            crop = None
            if retention == "plate":
                b = p.box
                crop = images.save(f"{rec_id}-{i}", encode_jpeg(call.image[b.ymin : b.ymax, b.xmin : b.xmax]),
                                   received)
            reads.append(Read(
                id=read_id,
                plate=p.plate,
                plate_raw=p.plate,
                protocol="snapshot",
                event_id=rec_id,
                source=call.camera_id,
                source_key=f"{rec_id}:{i}",
                score=p.score,
                dscore=p.dscore,
                box=p.box,
                region=p.region or None,
                region_score=p.region_score,
                vehicle_type=p.vehicle.type,
                vehicle_score=p.vehicle.score,
                vehicle_box=p.vehicle.box,
                candidates=tuple((c.plate, c.score) for c in p.candidates),
                first_seen=when,
                last_seen=when,
                received_at=received,
                image_full=full,
                image_plate=crop,
                raw={"filename": call.filename, "camera_id": call.camera_id, "regions": list(call.options.regions),
                     "mode": call.options.mode},
            ))
        self.store.reads.add(reads)
        for read in reads:
            self.observers.notify(read)
        calls = self.store.usage.count_call(received)
        return reads, calls
