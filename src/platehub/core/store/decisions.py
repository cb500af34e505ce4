"""Gate decisions, one per read that was decided (the read's id is the key)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from platehub.core.store.database import DriverInsert, as_utc
from platehub.core.store.schema import decisions


@dataclass(frozen=True)
class Decision:
    read_id: str
    device: str | None
    policy: str  # core.gate.POLICIES
    action: str  # open | closed
    reason: str  # core.gate reasons: allowed, denied, unknown, inactive, always, never, manual, offline …
    why: str  # for people: which entry matched and how, or what rule decided
    at: datetime
    list: str | None = None  # allow | deny: the list of the deciding entry
    entry_id: int | None = None
    entry_plate: str | None = None
    distance: int | None = None  # character edits between the read and the entry (0: exact or look-alike)
    alert: str | None = None  # deny | unknown | None

    @property
    def opens(self) -> bool:
        return self.action == "open"

    def summary(self) -> str:
        """For the log line of the read it decided."""
        return f"gate {self.action} at {self.device or '?'}: {self.reason} ({self.why}; policy {self.policy})"

    def as_dict(self) -> dict:
        return asdict(self)


def _decision(row) -> Decision:
    return Decision(row.read_id, row.device, row.policy, row.action, row.reason, row.detail or "",
                    as_utc(row.at), row.list, row.entry_id, row.entry_plate, row.distance, row.alert)


class DecisionRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # built once (one per ingested read); RETURNING tells a new row from a skipped one on both
        # databases (PostgreSQL's row count of INSERT … ON CONFLICT DO NOTHING is -1 through psycopg)
        self._insert = DriverInsert(engine, decisions, decisions.c.read_id)

    def add(self, d: Decision) -> bool:
        """False when the read was decided already (the first decision stands)."""
        with self.engine.begin() as conn:
            return self.add_in(conn, d)

    def add_in(self, conn: Connection, d: Decision) -> bool:
        """`add` inside a transaction of the caller's (a new read and its decision in one commit)."""
        return self._insert.run(conn, dict(
            read_id=d.read_id, device=d.device, policy=d.policy, action=d.action, reason=d.reason,
            detail=d.why, at=d.at, list=d.list, entry_id=d.entry_id, entry_plate=d.entry_plate,
            distance=d.distance, alert=d.alert))

    def get(self, read_id: str) -> Decision | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(decisions).where(decisions.c.read_id == read_id)).first()
        return _decision(row) if row else None

    def of_reads(self, read_ids: list[str]) -> dict[str, Decision]:
        if not read_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(decisions).where(decisions.c.read_id.in_(read_ids))).all()
        return {r.read_id: _decision(r) for r in rows}

    def open_by_hand(self, read_id: str, by: str | None) -> bool:
        """Record that an operator opened the gate for a read the gate had refused: the decision becomes
        `open` / `by_hand`. False when it is not a refused read (unknown, or open already): nothing changes."""
        note = f"opened by hand by {by or 'an operator'}"
        with self.engine.begin() as conn:
            row = conn.execute(select(decisions.c.detail).where(
                (decisions.c.read_id == read_id) & (decisions.c.action == "closed"))).first()
            if row is None:
                return False
            return conn.execute(update(decisions).where(
                (decisions.c.read_id == read_id) & (decisions.c.action == "closed")).values(
                action="open", reason="by_hand", detail=f"{note}; {row.detail or ''}".rstrip("; "))).rowcount > 0
