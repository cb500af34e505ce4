"""Parking lots (counters and groups of counters) and visits (an entry paired with its exit).

A counter's `count` is changed with SQL arithmetic (`count = count + 1`), so a change is atomic even
when another process (the CLI) changes the same row; an exit never takes it below zero. A group is
computed: its count and maximum are the sums of its members' (the stored columns stay 0).

Occupancy history: each change of a counter is stored in the same transaction as the change, as a
signed delta (`occupancy_changes`: +1 an entry, -1 an exit, after - before an operator's correction;
an exit at 0 changes nothing and stores nothing) at the time the vehicle moved. A lot's
`history_since` is the time from which its changes are all stored (its creation; retention moves it
forward). core/occupancy.py turns them into occupancy over time.

Visit statuses: `open` (entered, not left), `closed` (entry and exit paired), `exit_only` (an exit
no open visit matched), `lost` (entered, and the same plate entered the lot again before an exit
was seen: the exit was missed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, or_, select, update

from platehub.core.read import utcnow
from platehub.core.store.database import as_utc
from platehub.core.store.schema import devices, occupancy_changes, parking_lots, visits

COUNTER, GROUP = "counter", "group"
LOT_TYPES = (COUNTER, GROUP)
OPEN, CLOSED, EXIT_ONLY, LOST = "open", "closed", "exit_only", "lost"
VISIT_STATUSES = (OPEN, CLOSED, EXIT_ONLY, LOST)


@dataclass(frozen=True)
class Lot:
    id: int
    name: str
    type: str  # counter | group
    count: int  # a group's: the sum of its members'
    max_count: int  # a group's: the sum of its members'
    members: tuple[int, ...] = ()  # a group's counter ids
    created_at: datetime | None = None
    history_since: datetime | None = None  # occupancy changes are stored from then on

    @property
    def full(self) -> bool:
        return self.count >= self.max_count


@dataclass(frozen=True)
class Visit:
    id: int
    lot_id: int
    plate: str  # the entry's plate (the exit's for exit_only)
    status: str
    entry_read: str | None
    exit_read: str | None
    exit_plate: str | None  # the exit's plate when it differs from the entry's (paired by similarity)
    distance: int | None  # edits between the entry's and the exit's plates (look-alike swaps count 0)
    entered_at: datetime | None
    exited_at: datetime | None

    @property
    def dwell(self) -> timedelta | None:
        if self.entered_at and self.exited_at:
            return self.exited_at - self.entered_at
        return None


def _lot(row) -> Lot:
    return Lot(row.id, row.name, row.type, int(row.count), int(row.max_count),
               tuple(int(m) for m in (row.members or ())), as_utc(row.created_at), as_utc(row.history_since))


def _visit(row) -> Visit:
    return Visit(row.id, row.lot_id, row.plate, row.status, row.entry_read, row.exit_read, row.exit_plate,
                 row.distance, as_utc(row.entered_at), as_utc(row.exited_at))


def compute_groups(lots: list[Lot]) -> list[Lot]:
    """The lots with each group's count and maximum summed from its members."""
    counters = {lot.id: lot for lot in lots if lot.type == COUNTER}
    out = []
    for lot in lots:
        if lot.type == GROUP:
            members = [counters[m] for m in lot.members if m in counters]
            lot = Lot(lot.id, lot.name, lot.type, sum(m.count for m in members), sum(m.max_count for m in members),
                      lot.members, lot.created_at, lot.history_since)
        out.append(lot)
    return out


class LotRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, name: str, type: str = COUNTER, max_count: int = 0, members: tuple[int, ...] = (),
            count: int = 0) -> Lot:
        now = utcnow()
        with self.engine.begin() as conn:
            lot_id = conn.execute(insert(parking_lots).values(
                name=name, type=type, max_count=max_count if type == COUNTER else 0,
                count=count if type == COUNTER else 0, members=list(members) if type == GROUP else None,
                created_at=now, history_since=now)).inserted_primary_key[0]
        return self.get(int(lot_id))  # type: ignore[return-value]

    def list(self) -> list[Lot]:
        """Every lot, groups computed, by id."""
        with self.engine.connect() as conn:
            return compute_groups([_lot(r) for r in conn.execute(select(parking_lots).order_by(parking_lots.c.id))])

    def get(self, lot_id: int) -> Lot | None:
        return next((lot for lot in self.list() if lot.id == lot_id), None)

    def update(self, lot_id: int, **values: Any) -> bool:
        """Set name, max_count or members (a list of counter ids)."""
        allowed = {"name", "max_count", "members"}
        if not values or set(values) - allowed:
            raise ValueError(f"settable: {', '.join(sorted(allowed))}")
        if "members" in values:
            values["members"] = list(values["members"])
        with self.engine.begin() as conn:
            return conn.execute(update(parking_lots).where(parking_lots.c.id == lot_id).values(**values)).rowcount > 0

    def remove(self, lot_id: int) -> bool:
        """Remove a lot; it leaves the groups it was in and the sources mapped to it (visits stay, its
        occupancy history goes)."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(parking_lots).where(parking_lots.c.id == lot_id)).rowcount > 0
            conn.execute(delete(occupancy_changes).where(occupancy_changes.c.lot_id == lot_id))
            if gone:
                for row in conn.execute(select(parking_lots).where(parking_lots.c.type == GROUP)).all():
                    if lot_id in (row.members or ()):
                        conn.execute(update(parking_lots).where(parking_lots.c.id == row.id).values(
                            members=[m for m in row.members if m != lot_id]))
                conn.execute(update(devices).where(devices.c.lot_entrance == lot_id).values(lot_entrance=None))
                conn.execute(update(devices).where(devices.c.lot_exit == lot_id).values(lot_exit=None))
        return gone

    def change(self, lot_id: int, delta: int, at: datetime | None = None) -> tuple[int, int, int] | None:
        """Add `delta` (+1 / -1) to a counter, never below 0, and store the change in its history at `at`
        (when the vehicle moved; default now): (before, after, max_count); None for no such counter."""
        c = parking_lots.c
        cond = (c.id == lot_id) & (c.type == COUNTER)
        with self.engine.begin() as conn:
            if delta < 0:
                row = conn.execute(update(parking_lots).where(cond & (c.count >= -delta))
                                   .values(count=c.count + delta).returning(c.count, c.max_count)).first()
                if row is None:  # at zero (or no such counter)
                    now = conn.execute(select(c.count, c.max_count).where(cond)).first()
                    return None if now is None else (int(now.count), int(now.count), int(now.max_count))
            else:
                row = conn.execute(update(parking_lots).where(cond).values(count=c.count + delta)
                                   .returning(c.count, c.max_count)).first()
                if row is None:
                    return None
            conn.execute(insert(occupancy_changes).values(lot_id=lot_id, at=at or utcnow(), delta=delta,
                                                          cause="entry" if delta > 0 else "exit"))
        return int(row.count) - delta, int(row.count), int(row.max_count)

    def set_count(self, lot_id: int, count: int) -> int | None:
        """Set a counter's count (its history: a `manual` change, now); returns the count before (None for
        no such counter)."""
        c = parking_lots.c
        with self.engine.begin() as conn:
            row = conn.execute(select(c.count).where((c.id == lot_id) & (c.type == COUNTER)).with_for_update()).first()
            if row is None:
                return None
            conn.execute(update(parking_lots).where(c.id == lot_id).values(count=count))
            if count != int(row.count):
                conn.execute(insert(occupancy_changes).values(lot_id=lot_id, at=utcnow(), delta=count - int(row.count),
                                                              cause="manual"))
        return int(row.count)

    def changes(self, since: datetime) -> list[tuple[int, datetime, int]]:
        """(lot id, at, delta) of the counters' changes after `since`, oldest first."""
        o = occupancy_changes.c
        q = select(o.lot_id, o.at, o.delta).where(o.at > since).order_by(o.at, o.id)
        with self.engine.connect() as conn:
            return [(int(r.lot_id), as_utc(r.at), int(r.delta)) for r in conn.execute(q)]  # type: ignore[misc]


class VisitRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, lot_id: int, plate: str, read_id: str | None, at: datetime) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(visits).values(lot_id=lot_id, plate=plate, status=OPEN, entry_read=read_id,
                                                          entered_at=at)).inserted_primary_key[0])

    def open_plates(self, lot_id: int) -> list[tuple[int, str, datetime]]:
        """(id, plate, entered_at) of the lot's open visits, oldest first."""
        c = visits.c
        q = (select(c.id, c.plate, c.entered_at).where((c.lot_id == lot_id) & (c.status == OPEN))
             .order_by(c.entered_at, c.id))
        with self.engine.connect() as conn:
            return [(r.id, r.plate, as_utc(r.entered_at)) for r in conn.execute(q)]

    def open_with_plate(self, lot_id: int, plate: str) -> list[int]:
        """Ids of the lot's open visits with exactly this plate, newest first."""
        c = visits.c
        q = (select(c.id).where((c.lot_id == lot_id) & (c.status == OPEN) & (c.plate == plate))
             .order_by(c.entered_at.desc(), c.id.desc()))
        with self.engine.connect() as conn:
            return [r.id for r in conn.execute(q)]

    def close(self, visit_id: int, read_id: str | None, plate: str, distance: int, at: datetime) -> bool:
        """Pair an open visit with its exit; False when it is no longer open."""
        c = visits.c
        with self.engine.begin() as conn:
            row = conn.execute(select(c.plate).where((c.id == visit_id) & (c.status == OPEN))).first()
            if row is None:
                return False
            return conn.execute(update(visits).where((c.id == visit_id) & (c.status == OPEN)).values(
                status=CLOSED, exit_read=read_id, exit_plate=plate if plate != row.plate else None,
                distance=distance, exited_at=at)).rowcount > 0

    def mark_lost(self, visit_ids: list[int]) -> int:
        if not visit_ids:
            return 0
        c = visits.c
        with self.engine.begin() as conn:
            return conn.execute(update(visits).where(c.id.in_(visit_ids) & (c.status == OPEN))
                                .values(status=LOST)).rowcount

    def exit_only(self, lot_id: int, plate: str, read_id: str | None, at: datetime) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(visits).values(lot_id=lot_id, plate=plate, status=EXIT_ONLY,
                                                          exit_read=read_id, exited_at=at)).inserted_primary_key[0])

    def get(self, visit_id: int) -> Visit | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(visits).where(visits.c.id == visit_id)).first()
        return _visit(row) if row else None

    def _query(self, lot_id: int | None, plate: str | None, status: str | None, since: datetime | None,
               until: datetime | None):
        c = visits.c
        q = select(visits)
        if lot_id is not None:
            q = q.where(c.lot_id == lot_id)
        if plate:
            like = "%" + plate.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            q = q.where(or_(c.plate.like(like, escape="\\"), c.exit_plate.like(like, escape="\\")))
        if status:
            q = q.where(c.status == status)
        when = func.coalesce(c.entered_at, c.exited_at)
        if since is not None:
            q = q.where(when >= since)
        if until is not None:
            q = q.where(when < until)
        return q

    def search(self, lot_id: int | None = None, plate: str | None = None, status: str | None = None,
               since: datetime | None = None, until: datetime | None = None, offset: int = 0,
               limit: int = 100) -> tuple[int, list[Visit]]:
        """(total, page) of the visits matching, newest first. `plate`: a part of the entry's or the exit's
        plate; `since`/`until`: visits that began (entered, or exited for exit_only) in [since, until)."""
        q = self._query(lot_id, plate, status, since, until)
        c = visits.c
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
            rows = conn.execute(q.order_by(func.coalesce(c.entered_at, c.exited_at).desc(), c.id.desc())
                                .offset(offset).limit(limit))
            return int(total), [_visit(r) for r in rows]

    def iterate(self, lot_id: int | None = None, plate: str | None = None, status: str | None = None,
                since: datetime | None = None, until: datetime | None = None, batch: int = 1000) -> Iterator[Visit]:
        """Every visit matching, oldest first, fetched in batches (for exports)."""
        q = self._query(lot_id, plate, status, since, until).order_by(visits.c.id)
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = [_visit(r) for r in conn.execute(q.where(visits.c.id > last).limit(batch))]
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].id
