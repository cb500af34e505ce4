"""What each all-in-one camera holds in its own whitelist (as far as platehub sent it), the sync state
per camera, and the access-list entries a camera can hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from platehub.core.read import utcnow
from platehub.core.store.database import as_utc, insert_ignore
from platehub.core.store.schema import access_entries, access_version, camera_lists, camera_sync


@dataclass(frozen=True)
class CameraEntry:
    """One record of a camera's list: `need_alarm` 1 = blacklisted; times are the camera's local
    `YYYY-MM-DD HH:MM:SS` (spec 001 7.5), None = no limit."""

    plate: str
    need_alarm: int = 0
    enable_time: str | None = None
    overdue_time: str | None = None


@dataclass(frozen=True)
class ListEntry:
    """An access-list entry as the sync needs it (times in UTC)."""

    list: str
    plate: str
    valid_from: datetime | None
    valid_until: datetime | None
    devices: tuple[str, ...] | None


@dataclass(frozen=True)
class SyncState:
    device: str
    version: int  # the lists' version the camera was last found in sync with (0: never)
    last_batch: dict[str, Any] | None  # the last operation sent, until the camera confirms it by calling again
    last_batch_at: datetime | None


class CameraListRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lists_version(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(access_version.c.value).where(access_version.c.name == "lists")).scalar()
        return int(value or 0)

    def holdable(self, now: datetime) -> list[ListEntry]:
        """Entries a camera can hold: without a weekly schedule (the camera has none) and not expired."""
        e = access_entries.c
        # (a JSON NULL may be stored as SQL NULL or as the JSON text null: schedule and devices are read here)
        q = (select(e.list, e.plate, e.valid_from, e.valid_until, e.devices, e.schedule)
             .where(e.valid_until.is_(None) | (e.valid_until > now)))
        with self.engine.connect() as conn:
            return [ListEntry(r.list, r.plate, as_utc(r.valid_from), as_utc(r.valid_until),
                              tuple(r.devices) if r.devices else None) for r in conn.execute(q) if not r.schedule]

    def held(self, device: str) -> dict[str, CameraEntry]:
        c = camera_lists.c
        with self.engine.connect() as conn:
            rows = conn.execute(select(camera_lists).where(c.device == device).order_by(c.plate)).all()
        return {r.plate: CameraEntry(r.plate, r.need_alarm, r.enable_time, r.overdue_time) for r in rows}

    def apply(self, device: str, op: str, entries: list[CameraEntry]) -> None:
        """Record an operation the camera was sent: add (or replace), delete, clear."""
        c = camera_lists.c
        now = utcnow()
        with self.engine.begin() as conn:
            if op == "clear":
                conn.execute(delete(camera_lists).where(c.device == device))
                return
            plates = [x.plate for x in entries]
            conn.execute(delete(camera_lists).where((c.device == device) & c.plate.in_(plates)))
            if op == "add" and entries:
                conn.execute(camera_lists.insert(), [
                    {"device": device, "plate": x.plate, "need_alarm": x.need_alarm, "enable_time": x.enable_time,
                     "overdue_time": x.overdue_time, "synced_at": now} for x in entries])

    def state(self, device: str) -> SyncState | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(camera_sync).where(camera_sync.c.device == device)).first()
        return SyncState(r.device, r.version, r.last_batch, as_utc(r.last_batch_at)) if r else None

    def save_state(self, device: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert_ignore(self.engine, camera_sync).values(device=device, version=0))
            if values:
                conn.execute(update(camera_sync).where(camera_sync.c.device == device).values(**values))

    def forget(self, device: str) -> None:
        """Nothing known about the camera's list any more: the next sync starts with a clear."""
        with self.engine.begin() as conn:
            conn.execute(delete(camera_sync).where(camera_sync.c.device == device))
            conn.execute(delete(camera_lists).where(camera_lists.c.device == device))
