"""Searching stored reads: keyword (a substring of the normalised plate), time range, sources.

SQLite: a keyword of three or more characters goes through the FTS5 trigram index over the distinct
plates (`plate_fts` over `plate_index`, migration 0004) and then the (plate, first_seen) index of
`reads`; shorter keywords scan. PostgreSQL: `plate LIKE '%kw%'`, which the pg_trgm GIN index serves.
Times are compared in UTC (SQLite stores them without an offset)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
)

from platehub.core import similar as similar_plates
from platehub.core.read import Read
from platehub.core.store.reads import from_row
from platehub.core.store.schema import decisions, devices, reads

_aux = MetaData()
plate_index = Table("plate_index", _aux, Column("id", Integer, primary_key=True), Column("plate", String(32)),
                    Column("canon", String(32)), Column("tail", String(32)))

TRIGRAM = 3  # shortest keyword the trigram indexes can serve


@dataclass(frozen=True)
class Hit:
    read: Read
    source_name: str | None  # devices.name of read.source, when it has one


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PlateSearch:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._fts: bool | None = None

    def has_fts(self) -> bool:
        if self._fts is None:
            if self.dialect != "sqlite":
                self._fts = False
            else:
                with self.engine.connect() as conn:
                    self._fts = conn.execute(text(
                        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='plate_fts'")).first() is not None
        return self._fts

    def _where(self, keyword: str | None, since: datetime | None, until: datetime | None,
               sources: Sequence[str] | None, directions: Sequence[str] | None = None,
               decision: str | None = None) -> list:
        """`directions`: the stored direction values wanted; `decision`: a gate action (open, closed) or
        reason (allowed, denied, unknown …) the read was decided with."""
        conds = []
        kw = similar_plates.search_keyword(keyword)  # KeywordTooLong above the longest plate
        if kw:
            if len(kw) >= TRIGRAM and self.has_fts():
                phrase = '"' + kw.replace('"', '""') + '"'
                matching = text("SELECT plate FROM plate_index WHERE id IN "
                                "(SELECT rowid FROM plate_fts WHERE plate_fts MATCH :phrase)"
                                ).bindparams(phrase=phrase).columns(column("plate"))
                conds.append(reads.c.plate.in_(matching))
            else:
                conds.append(reads.c.plate.like(f"%{like_escape(kw)}%", escape="\\"))
        if since is not None:
            conds.append(reads.c.first_seen >= _utc(since))
        if until is not None:
            conds.append(reads.c.first_seen <= _utc(until))
        if sources:
            conds.append(reads.c.source.in_(list(sources)))
        if directions:
            conds.append(reads.c.direction.in_(list(directions)))
        if decision:
            d = decisions.c
            conds.append(reads.c.id.in_(select(d.read_id).where((d.action == decision) | (d.reason == decision))))
        return conds

    def _names(self, conn, codes: set[str]) -> dict[str, str]:
        if not codes:
            return {}
        rows = conn.execute(select(devices.c.code, devices.c.name).where(devices.c.code.in_(sorted(codes))))
        return {code: name for code, name in rows if name}

    def search(self, keyword: str | None = None, since: datetime | None = None, until: datetime | None = None,
               sources: Sequence[str] | None = None, sort: str = "desc", offset: int = 0, limit: int = 50,
               with_total: bool = True, directions: Sequence[str] | None = None,
               decision: str | None = None) -> tuple[list[Hit], int | None]:
        """One page of reads (newest first unless sort="asc") and the number of all that match."""
        conds = self._where(keyword, since, until, sources, directions, decision)
        order = reads.c.first_seen.asc() if sort == "asc" else reads.c.first_seen.desc()
        page = select(reads).where(*conds).order_by(order).limit(max(0, limit)).offset(max(0, offset))
        with self.engine.connect() as conn:
            rows = [from_row(r) for r in conn.execute(page)] if limit > 0 else []
            total = None
            if with_total:
                total = int(conn.execute(select(func.count()).select_from(reads).where(*conds)).scalar_one())
            names = self._names(conn, {r.source for r in rows if r.source})
        return [Hit(r, names.get(r.source or "")) for r in rows], total

    def iter_hits(self, keyword: str | None = None, since: datetime | None = None, until: datetime | None = None,
                  sources: Sequence[str] | None = None, sort: str = "desc", batch: int = 1000,
                  directions: Sequence[str] | None = None, decision: str | None = None) -> Iterator[Hit]:
        """Every matching read, streamed from the database (a server-side cursor on PostgreSQL)."""
        conds = self._where(keyword, since, until, sources, directions, decision)
        order = reads.c.first_seen.asc() if sort == "asc" else reads.c.first_seen.desc()
        with self.engine.connect() as conn:
            names = {code: name for code, name in conn.execute(select(devices.c.code, devices.c.name)) if name}
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                select(reads).where(*conds).order_by(order))
            for row in result:
                read = from_row(row)
                yield Hit(read, names.get(read.source or ""))

    def similar(self, keyword: str, limit: int = 50) -> list[str]:
        """Stored plates within one typical misread of `keyword`, closest first: looked up by their
        canonical form (look-alikes merged), which is indexed (migration 0004): SQLite in the table of
        distinct plates, PostgreSQL by expression indexes on `reads`."""
        exact, tails, globs = similar_plates.canonical_lookups(keyword)
        if not exact:
            return []
        if self.dialect == "sqlite":
            canon, tail = plate_index.c.canon, plate_index.c.tail
            conds = [canon.op("GLOB")(g) for g in globs]
            q = select(plate_index.c.plate)
        else:
            canon = func.translate(reads.c.plate, literal_column(f"'{_FROM}'"), literal_column(f"'{_TO}'"))
            tail = func.substr(canon, literal_column("2"))
            conds = [canon.like(_glob_to_like(g), escape="\\") for g in globs]
            q = select(reads.c.plate).distinct()
        q = q.where(or_(canon.in_(exact), tail.in_(tails), *conds))
        with self.engine.connect() as conn:
            plates = [p for (p,) in conn.execute(q)]
        return similar_plates.rank(keyword, plates, limit)


_FROM = "".join(similar_plates.LOOK_ALIKES)
_TO = "".join(similar_plates.LOOK_ALIKES.values())


def _glob_to_like(pattern: str) -> str:
    out, i = "", 0
    while i < len(pattern):
        if pattern[i] == "[":  # an escaped character: [*]
            out += like_escape(pattern[i + 1])
            i += 3
            continue
        out += "_" if pattern[i] == "?" else like_escape(pattern[i])
        i += 1
    return out
