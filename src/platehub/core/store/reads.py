"""Stored plate reads: idempotent insert and the basic queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from platehub.core.read import Box, Read
from platehub.core.store.batch import BatchWriter
from platehub.core.store.database import DriverInsert, Durability, as_utc
from platehub.core.store.schema import reads


def _box_out(box: Box | None) -> dict | None:
    return box.as_dict() if box else None


def _box_in(value: dict | None) -> Box | None:
    return Box(**value) if value else None


def to_row(read: Read) -> dict:
    row = {f.name: getattr(read, f.name) for f in fields(read)}  # shallow: asdict deep-copies `raw`
    row["box"] = _box_out(read.box)
    row["vehicle_box"] = _box_out(read.vehicle_box)
    row["candidates"] = [list(c) for c in read.candidates]
    return row


def from_row(row) -> Read:
    m = dict(row._mapping)
    m["box"] = _box_in(m["box"])
    m["vehicle_box"] = _box_in(m["vehicle_box"])
    m["candidates"] = tuple((str(p), float(s)) for p, s in (m["candidates"] or []))
    for key in ("first_seen", "last_seen", "received_at"):
        m[key] = as_utc(m[key])
    return Read(**m)


class ReadRepo:
    def __init__(self, engine: Engine, durability: Durability | None = None) -> None:
        self.engine = engine
        # built once: the statements of every ingested read (building one costs more than running it)
        self._insert = DriverInsert(engine, reads, reads.c.id)
        self._batch = BatchWriter(engine, durability)  # `add_one`: stored durably
        self._by_key = select(reads).where((reads.c.protocol == bindparam("protocol"))
                                           & (reads.c.source_key == bindparam("source_key")))

    def add(self, items: Iterable[Read], then: Callable[[Connection, Read], object] | None = None) -> list[Read]:
        """Store reads; a read whose (protocol, source_key) is already stored is skipped. `then(conn, read)`
        stores what belongs to each new read in the same transaction (its gate decision: one commit).

        Returns the reads that were new."""
        items = list(items)
        if not items:
            return []
        added = []
        with self.engine.begin() as conn:
            for read in items:
                if self._insert.run(conn, to_row(read)):
                    added.append(read)
                    if then is not None:
                        then(conn, read)
        return added

    def add_one(self, read: Read, then: Callable[[Connection, Read], object] | None = None) -> bool:
        """`add` of one read, committed together with the reads other threads are adding at the same moment
        (core/store/batch.py: group commit); False when it was stored already."""
        def work(conn: Connection) -> bool:
            if not self._insert.run(conn, to_row(read)):
                return False
            if then is not None:
                then(conn, read)
            return True

        return self._batch.run(work)

    def close(self) -> None:
        self._batch.close()

    def get_by_key(self, protocol: str, source_key: str) -> Read | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._by_key, {"protocol": protocol, "source_key": source_key}).first()
        return from_row(row) if row else None

    def replace(self, read: Read) -> None:
        """Overwrite the stored read with the same id."""
        row = to_row(read)
        with self.engine.begin() as conn:
            conn.execute(update(reads).where(reads.c.id == read.id).values(**row))

    def names_image(self, path: str, read_id: str) -> bool:
        """Whether a stored read names the image file `path` (its file name starts with the id of the read,
        or of the recognition, that wrote it)."""
        owner = (reads.c.id == read_id) | (reads.c.event_id == read_id)
        named = (reads.c.image_full == path) | (reads.c.image_plate == path)
        with self.engine.connect() as conn:
            return conn.execute(select(reads.c.id).where(owner & named).limit(1)).first() is not None

    def get(self, read_id: str) -> Read | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(reads).where(reads.c.id == read_id)).first()
        return from_row(row) if row else None

    def find(
        self,
        plate: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Read]:
        """Newest first; `plate` matches the normalised text, `%`/`*` as wildcards."""
        q = select(reads)
        if plate:
            pattern = plate.replace("*", "%")
            q = q.where(reads.c.plate.like(pattern) if "%" in pattern else reads.c.plate == pattern)
        if since:
            q = q.where(reads.c.first_seen >= since)
        if until:
            q = q.where(reads.c.first_seen < until)
        q = q.order_by(reads.c.first_seen.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [from_row(r) for r in conn.execute(q)]

    def pass_times(self, source: str, since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
        """(first seen, last seen) of the reads of `source` seen at some time in [since, until)."""
        last = func.coalesce(reads.c.last_seen, reads.c.first_seen)
        q = (select(reads.c.first_seen, last).where((reads.c.source == source) & (reads.c.first_seen < until)
                                                    & (last >= since)).order_by(reads.c.first_seen))
        with self.engine.connect() as conn:
            return [(as_utc(a), as_utc(b)) for a, b in conn.execute(q)]

    def latest(self, sources: Iterable[str], since: datetime) -> Read | None:
        """The newest read (by arrival) of any of `sources` received at `since` or later."""
        q = (select(reads).where(reads.c.source.in_(list(sources)) & (reads.c.received_at >= since))
             .order_by(reads.c.received_at.desc()).limit(1))
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return from_row(row) if row else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(reads)).scalar_one())

    def per_hour(self, since: datetime) -> list[tuple[datetime, str, int]]:
        """(hour in UTC, source, reads) of the reads seen at `since` or later, GROUP BY hour and source
        in the database (SQLite stores UTC text, PostgreSQL timestamptz)."""
        if self.engine.dialect.name == "postgresql":
            hour = func.to_char(func.timezone("UTC", reads.c.first_seen), "YYYY-MM-DD HH24")
        else:
            hour = func.substr(reads.c.first_seen, 1, 13)
        source = func.coalesce(reads.c.source, reads.c.protocol)
        q = (select(hour.label("hour"), source.label("source"), func.count().label("n"))
             .where(reads.c.first_seen >= since).group_by(hour, source).order_by(hour, source))
        with self.engine.connect() as conn:
            return [(datetime.strptime(str(r.hour), "%Y-%m-%d %H").replace(tzinfo=UTC), str(r.source),
                     int(r.n)) for r in conn.execute(q)]
