"""Access list entries in the database (SQLite and PostgreSQL).

Every write bumps `access_version` ("lists") in the same transaction: caches, the camera whitelist
sync and other processes (the CLI while the server runs) compare it. The records, `Entry` and its
schedule's `Window`, live here beside their table, as the other stores' records do; core/access.py
parses, checks and matches them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    Engine,
    String,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from platehub.core import similar
from platehub.core.read import utcnow
from platehub.core.store.database import as_utc
from platehub.core.store.direct import DirectReads
from platehub.core.store.schema import access_entries as T
from platehub.core.store.schema import access_version

CHUNK = 5000
KEYS_PER_QUERY = 5000


@dataclass(frozen=True)
class Window:
    """A weekly window in site local time: starts on each of `days` (0 = Monday) at `start`, ends at
    `end` — the next day when `end` <= `start` (start == end: 24 hours)."""
    days: frozenset[int]
    start: time
    end: time

    def covers(self, weekday: int, clock: time) -> bool:
        if self.start < self.end:
            return weekday in self.days and self.start <= clock < self.end
        # crosses midnight (or the whole day when start == end)
        return (weekday in self.days and clock >= self.start) or \
            ((weekday - 1) % 7 in self.days and clock < self.end)

    def to_json(self) -> dict[str, Any]:
        return {"days": sorted(self.days), "start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Window:
        return cls(frozenset(int(d) for d in data["days"]), time.fromisoformat(data["start"]),
                   time.fromisoformat(data["end"]))


@dataclass(frozen=True)
class Entry:
    list: str
    plate: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    schedule: tuple[Window, ...] = ()  # empty = always
    tag: str | None = None
    comment: str | None = None
    devices: tuple[str, ...] | None = None  # None = every device
    id: int = 0  # 0 until stored
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> str:
        return similar.canonical(self.plate)

    def applies_to(self, device: str | None) -> bool:
        return self.devices is None or (device is not None and device in self.devices)

    def state(self, at: datetime, zone: tzinfo | None) -> str | None:
        """None when the entry is valid at `at`, else "not yet valid" | "expired" | "outside schedule"."""
        if self.valid_from is not None and at < self.valid_from:
            return "not yet valid"
        if self.valid_until is not None and at >= self.valid_until:
            return "expired"
        if self.schedule:
            local = at.astimezone(zone)
            clock = local.time().replace(tzinfo=None)
            if not any(w.covers(local.weekday(), clock) for w in self.schedule):
                return "outside schedule"
        return None



def _entry(row) -> Entry:
    return Entry(list=row.list, plate=row.plate, valid_from=as_utc(row.valid_from),
                 valid_until=as_utc(row.valid_until),
                 schedule=tuple(Window.from_json(w) for w in row.schedule or ()), tag=row.tag,
                 comment=row.comment, devices=tuple(row.devices) if row.devices else None, id=int(row.id),
                 created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at))


def _values(entry: Entry) -> dict[str, Any]:
    return {"list": entry.list, "plate": entry.plate, "plate_key": similar.canonical(entry.plate),
            "valid_from": entry.valid_from, "valid_until": entry.valid_until,
            "schedule": [w.to_json() for w in entry.schedule] or None, "tag": entry.tag,
            "comment": entry.comment, "devices": list(entry.devices) if entry.devices else None}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_BY_KEYS_SQLITE = select(T).where(T.c.plate_key.in_(
    select(literal_column("value", Text)).select_from(func.json_each(bindparam("keys")))))
_BY_KEYS_PG = select(T).where(T.c.plate_key == any_(bindparam("keys", type_=ARRAY(String))))


class AccessRepo:
    def __init__(self, engine: Engine, direct: DirectReads) -> None:
        self.engine = engine
        self.direct = direct

    # ---- version ----
    def version(self) -> int:
        """The lists' change counter (asked before each match: through the driver, `direct.py`)."""
        return int(self.direct.value("SELECT value FROM access_version WHERE name = 'lists'") or 0)

    @staticmethod
    def _bump(conn: Connection) -> None:
        conn.execute(update(access_version).where(access_version.c.name == "lists")
                     .values(value=access_version.c.value + 1))

    # ---- single entries ----
    def get(self, entry_id: int) -> Entry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T).where(T.c.id == entry_id)).first()
        return _entry(row) if row else None

    def find(self, list_: str | None, plate: str) -> Entry | None:
        q = select(T).where(T.c.plate == plate)
        if list_:
            q = q.where(T.c.list == list_)
        with self.engine.connect() as conn:
            row = conn.execute(q.order_by(T.c.list.desc())).first()  # deny first
        return _entry(row) if row else None

    def add(self, entry: Entry) -> Entry | None:
        """The stored entry, or None when (list, plate) exists already."""
        now = utcnow()
        try:
            with self.engine.begin() as conn:
                self._bump(conn)
                new_id = conn.execute(insert(T).values(**_values(entry), created_at=now, updated_at=now)
                                      ).inserted_primary_key[0]
        except IntegrityError:
            return None
        return self.get(int(new_id))

    def upsert(self, entry: Entry) -> tuple[Entry, bool]:
        """Add, or replace the fields of the entry with the same (list, plate); True when added."""
        now = utcnow()
        with self.engine.begin() as conn:
            self._bump(conn)  # first: serialises writers (row lock) before the read below
            existing = conn.execute(select(T.c.id).where((T.c.list == entry.list) & (T.c.plate == entry.plate))
                                    ).scalar()
            if existing is None:
                entry_id = conn.execute(insert(T).values(**_values(entry), created_at=now, updated_at=now)
                                        ).inserted_primary_key[0]
            else:
                entry_id = existing
                conn.execute(update(T).where(T.c.id == existing).values(**_values(entry), updated_at=now))
        return self.get(int(entry_id)), existing is None  # type: ignore[return-value]

    def update(self, entry: Entry) -> Entry | None:
        """Store the changed fields of entry `entry.id`; None when its (list, plate) is taken by another."""
        try:
            with self.engine.begin() as conn:
                self._bump(conn)
                conn.execute(update(T).where(T.c.id == entry.id).values(**_values(entry), updated_at=utcnow()))
        except IntegrityError:
            return None
        return self.get(entry.id)

    def remove(self, entry_id: int) -> Entry | None:
        """The removed entry, or None when there was none."""
        with self.engine.begin() as conn:
            row = conn.execute(select(T).where(T.c.id == entry_id)).first()
            if row is None:
                return None
            self._bump(conn)
            conn.execute(delete(T).where(T.c.id == entry_id))
        return _entry(row)

    def clear(self, lists: Iterable[str]) -> int:
        with self.engine.begin() as conn:
            self._bump(conn)
            return conn.execute(delete(T).where(T.c.list.in_(list(lists)))).rowcount

    # ---- matching lookups ----
    def by_key(self, keys: Iterable[str]) -> list[Entry]:
        """Entries whose look-alike key is one of `keys` (one indexed query per 5,000 keys)."""
        keys = list(keys)
        out: list[Entry] = []
        with self.engine.connect() as conn:
            for i in range(0, len(keys), KEYS_PER_QUERY):
                chunk = keys[i:i + KEYS_PER_QUERY]
                # one parameter (a statement built once), not one bound parameter per key
                if self.engine.dialect.name == "postgresql":
                    rows = conn.execute(_BY_KEYS_PG, {"keys": chunk})
                else:
                    rows = conn.execute(_BY_KEYS_SQLITE, {"keys": json.dumps(chunk)})
                out.extend(_entry(r) for r in rows)
        return out

    def by_plate(self, plate: str) -> list[Entry]:
        with self.engine.connect() as conn:
            return [_entry(r) for r in conn.execute(select(T).where(T.c.plate == plate))]

    def keys(self) -> Iterator[str]:
        """Every plate key (for the two-edit index)."""
        with self.engine.connect() as conn:
            yield from conn.execute(select(T.c.plate_key).distinct()).scalars()

    # ---- listing ----
    def _filters(self, list_: str | None, tag: str | None, q: str | None, device: str | None) -> list:
        cond = []
        if list_:
            cond.append(T.c.list == list_)
        if tag:
            cond.append(T.c.tag == tag)
        if q:
            cond.append(T.c.plate.like(f"%{_like_escape(q)}%", escape="\\"))
        if device:
            import json

            text = cast(T.c.devices, Text)
            # JSON None may be stored as SQL NULL or as the JSON text null
            own = text.like(f"%{_like_escape(json.dumps(device))}%", escape="\\")
            cond.append(or_(T.c.devices.is_(None), text == "null", own))
        return cond

    def list(self, list_: str | None = None, tag: str | None = None, q: str | None = None,
             device: str | None = None, offset: int = 0, limit: int = 100) -> tuple[int, list[Entry]]:
        """(total, the page): ordered by list, plate. `q` is a plate substring (normalised by the caller);
        `device` keeps the entries that apply to it (its own and those for every device)."""
        cond = and_(true(), *self._filters(list_, tag, q, device))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(T).where(cond)).scalar() or 0
            rows = conn.execute(select(T).where(cond).order_by(T.c.list, T.c.plate, T.c.id)
                                .offset(max(0, offset)).limit(max(0, limit))).all()
        if device:  # the LIKE above is a superset (a code inside another's JSON text)
            entries = [_entry(r) for r in rows]
            return int(total), [e for e in entries if e.applies_to(device)]
        return int(total), [_entry(r) for r in rows]

    def iterate(self, list_: str | None = None, batch: int = CHUNK) -> Iterator[Entry]:
        """Every entry (of `list_`), by list and plate, read in batches (keyset paging)."""
        last: tuple[str, str] | None = None
        while True:
            q = select(T).order_by(T.c.list, T.c.plate).limit(batch)
            if list_:
                q = q.where(T.c.list == list_)
            if last:
                q = q.where(or_(T.c.list > last[0], and_(T.c.list == last[0], T.c.plate > last[1])))
            with self.engine.connect() as conn:
                rows = conn.execute(q).all()
            if not rows:
                return
            for r in rows:
                yield _entry(r)
            last = (rows[-1].list, rows[-1].plate)

    def count(self, list_: str | None = None) -> int:
        q = select(func.count()).select_from(T)
        if list_:
            q = q.where(T.c.list == list_)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    # ---- bulk ----
    def bulk(self, entries: Iterable[Entry], replace: Iterable[str] = (),
             progress: Callable[[int], None] | None = None) -> tuple[int, int, int]:
        """Import entries (unique (list, plate) among themselves) in one transaction: each is added or
        replaces the fields of the stored one; then the entries of the lists in `replace` that the
        import did not touch are removed. Returns (added, updated, removed)."""
        replace = list(replace)
        added = updated = 0
        now = utcnow()
        with self.engine.begin() as conn:
            self._bump(conn)
            chunk: list[Entry] = []
            for entry in entries:
                chunk.append(entry)
                if len(chunk) >= CHUNK:
                    new, old = _flush(conn, chunk, now)
                    added, updated = added + new, updated + old
                    chunk = []
                    if progress:
                        progress(added + updated)
            if chunk:
                new, old = _flush(conn, chunk, now)
                added, updated = added + new, updated + old
                if progress:
                    progress(added + updated)
            removed = 0
            if replace:  # every entry the import wrote has updated_at == now
                removed = conn.execute(delete(T).where(T.c.list.in_(replace) & (T.c.updated_at != now))).rowcount
        return added, updated, removed


def _flush(conn: Connection, chunk: list[Entry], now: datetime) -> tuple[int, int]:
    existing: dict[tuple[str, str], int] = {}
    plates = list({e.plate for e in chunk})
    for r in conn.execute(select(T.c.id, T.c.list, T.c.plate).where(T.c.plate.in_(plates))):
        existing[(r.list, r.plate)] = r.id
    new = [{**_values(e), "created_at": now, "updated_at": now} for e in chunk if (e.list, e.plate) not in existing]
    old = [{**_values(e), "b_id": existing[(e.list, e.plate)], "updated_at": now}
           for e in chunk if (e.list, e.plate) in existing]
    if new:
        conn.execute(insert(T), new)
    if old:
        cols = {c: bindparam(c) for c in old[0] if c != "b_id"}
        conn.execute(update(T).where(T.c.id == bindparam("b_id")).values(**cols), old)
    return len(new), len(old)
