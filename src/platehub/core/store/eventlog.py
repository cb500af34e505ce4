"""The event log table (`event_log`, migration 0003): what happened on the server, newest last.

Types and codes are stored as platehub's own names (`system`/`startup`, `privacy`/`signIn` …);
the TS-API numbers and names are the protocol's business (`protocols/tsapi/eventlog.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, func, insert, or_, select, true

from platehub.core.read import utcnow
from platehub.core.store.database import as_utc
from platehub.core.store.schema import event_log


@dataclass(frozen=True)
class LogEntry:
    id: int
    type: str
    code: str
    at: datetime
    user: str | None
    source: str | None
    details: dict[str, Any]


def _entry(row) -> LogEntry:
    return LogEntry(row.id, row.type, row.code, as_utc(row.at), row.user, row.source, dict(row.details or {}))


class EventLogRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, type: str, code: str, at: datetime | None = None, user: str | None = None,
            source: str | None = None, details: dict[str, Any] | None = None) -> LogEntry:
        at = at or utcnow()
        with self.engine.begin() as conn:
            eid = conn.execute(insert(event_log).values(type=type, code=code, at=at, user=user, source=source,
                                                        details=details or {})).inserted_primary_key[0]
        return LogEntry(int(eid), type, code, as_utc(at), user, source, dict(details or {}))

    def find(self, *, begin: datetime | None = None, end: datetime | None = None,
             kinds: Iterable[tuple[str, str | None]] | None = None, source: str | None = None,
             at: int = 0, max_count: int = 50, ascending: bool = False) -> tuple[int, list[LogEntry]]:
        """(total matching, one page). `kinds`: (type, code) pairs, code None = every code of the type;
        an empty `kinds` matches nothing, None everything. `begin`/`end` are inclusive."""
        conds = []
        if begin is not None:
            conds.append(event_log.c.at >= begin)
        if end is not None:
            conds.append(event_log.c.at <= end)
        if source is not None:
            conds.append(event_log.c.source == source)
        if kinds is not None:
            alts = [event_log.c.type == t if c is None else and_(event_log.c.type == t, event_log.c.code == c)
                    for t, c in kinds]
            if not alts:
                return 0, []
            conds.append(or_(*alts))
        where = and_(true(), *conds)
        order = (event_log.c.at.asc(), event_log.c.id.asc()) if ascending else (event_log.c.at.desc(),
                                                                               event_log.c.id.desc())
        with self.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(event_log).where(where)).scalar_one())
            rows = conn.execute(select(event_log).where(where).order_by(*order)
                                .offset(max(0, at)).limit(max(0, max_count))).all()
        return total, [_entry(r) for r in rows]

    def sources(self, type: str) -> list[tuple[str, LogEntry]]:
        """Each distinct source of `type` with its latest entry, ordered by first appearance."""
        with self.engine.connect() as conn:
            firsts = conn.execute(select(event_log.c.source, func.min(event_log.c.id), func.max(event_log.c.id))
                                  .where((event_log.c.type == type) & event_log.c.source.is_not(None))
                                  .group_by(event_log.c.source).order_by(func.min(event_log.c.id))).all()
            latest = {r.id: _entry(r) for r in conn.execute(
                select(event_log).where(event_log.c.id.in_([f[2] for f in firsts])))} if firsts else {}
        return [(f[0], latest[f[2]]) for f in firsts]
