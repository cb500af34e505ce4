"""Erasure of one vehicle's data (GDPR art. 17): `platehub purge --plate X`.

The plate is normalised (core.read.normalize_plate) and matched exactly, as the store keeps it:
- reads with that plate, their gate decisions and their image files (a full image shared with another
  vehicle's read of the same recognition is deleted too: it shows the plate; the other read loses it);
- parking visits with that plate (entry or exit) or opened/closed by one of those reads;
- the plate in other data: decisions of other reads that matched a list entry with that plate lose the
  plate (`entry_plate` cleared, the plate masked in their text); event log entries that name it (gate
  alerts, full lots, list changes) keep what happened with the plate masked (`***`); delivered or
  cancelled camera commands naming it are deleted (pending ones are on their way to a camera);
  SQLite's plate search index forgets it;
- access-list entries only with `lists=True` (`--lists`): by default a resident erased from the history
  still opens the gate; removing the entry is a decision of its own (the camera whitelist sync follows).

Who did it goes to the event log (`privacy`/`erased`, user = the operator) with the counts only: neither
the plate nor a hash of it (plates are short; a hash is found back by trying them all, so it would
still be personal data). Not reachable from here: the server's own log output, webhook and MQTT
deliveries already sent, backups."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update

from platehub.core.eventlog import ACCESS, PARKING, PRIVACY, SETTINGS, over
from platehub.core.read import normalize_plate
from platehub.core.retention import forget_images, prune_plate_index, unlink
from platehub.core.store.schema import access_entries, commands, decisions, event_log, reads, visits

log = logging.getLogger("platehub.erasure")

MASK = "***"


@dataclass(frozen=True)
class Erasure:
    reads: int = 0
    images: int = 0
    decisions: int = 0
    visits: int = 0
    entries: int = 0  # access-list entries (only when asked)
    commands: int = 0
    events: int = 0  # event log entries with the plate masked
    masked: int = 0  # decisions of other reads with the plate masked

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def mask(value: Any, plate: str) -> Any:
    """A JSON value with `plate` masked wherever it appears (as a whole value, or inside a text)."""
    if isinstance(value, dict):
        return {k: mask(v, plate) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, plate) for v in value]
    if isinstance(value, str):
        return MASK if normalize_plate(value) == plate else value.replace(plate, MASK)
    return value


class Purge:
    def __init__(self, store, bus=None) -> None:
        self.store = store
        self.bus = bus

    def run(self, plate: str, by: str, lists: bool = False, dry_run: bool = False) -> Erasure:
        plate = normalize_plate(plate)
        if not plate:
            raise ValueError("no plate to purge")
        with self.store.engine.begin() as conn:
            found = conn.execute(select(reads.c.id, reads.c.image_full, reads.c.image_plate)
                                 .where(reads.c.plate == plate)).all()
            ids = [r.id for r in found]
            paths = list({p for r in found for p in (r.image_full, r.image_plate) if p})
            by_read = visits.c.entry_read.in_(ids) | visits.c.exit_read.in_(ids) if ids else False
            visit_rows = or_(visits.c.plate == plate, visits.c.exit_plate == plate, by_read)
            entry_rows = access_entries.c.plate == plate
            events = self._events(conn, plate)
            sent = self._commands(conn, plate)
            other = (decisions.c.entry_plate == plate) & decisions.c.read_id.not_in(ids)
            if dry_run:
                return Erasure(
                    reads=len(ids), images=len(paths),
                    decisions=self._count(conn, decisions, decisions.c.read_id.in_(ids)),
                    visits=self._count(conn, visits, visit_rows),
                    entries=self._count(conn, access_entries, entry_rows) if lists else 0,
                    commands=len(sent), events=len(events), masked=self._count(conn, decisions, other))
            n_decisions = conn.execute(delete(decisions).where(decisions.c.read_id.in_(ids))).rowcount
            masked = conn.execute(update(decisions).where(other).values(
                entry_plate=None, detail=func.replace(func.coalesce(decisions.c.detail, ""), plate, MASK))).rowcount
            n_visits = conn.execute(delete(visits).where(visit_rows)).rowcount
            if paths:
                forget_images(conn, paths)  # other reads of the same recognitions
            n_reads = conn.execute(delete(reads).where(reads.c.id.in_(ids))).rowcount
            prune_plate_index(conn, [plate])
            for eid, details in events:
                conn.execute(update(event_log).where(event_log.c.id == eid).values(details=mask(details, plate)))
            if sent:
                conn.execute(delete(commands).where(commands.c.id.in_(sent)))
        n_entries = 0
        if lists:
            for entry in self.store.access.by_plate(plate):
                if entry.plate == plate and self.store.access.remove(entry.id) is not None:
                    n_entries += 1
        n_images, _ = unlink(self.store, paths)
        result = Erasure(reads=n_reads, images=n_images, decisions=n_decisions, visits=n_visits, entries=n_entries,
                         commands=len(sent), events=len(events), masked=masked)
        self._record(by, result, lists)
        log.info("erasure by %s: %s", by, result.as_dict())  # counts only: no plate in the log either
        return result

    @staticmethod
    def _count(conn, table, where) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())

    @staticmethod
    def _events(conn, plate: str) -> list[tuple[int, Any]]:
        """(id, details) of the event log entries that name the plate (the kinds that can)."""
        q = select(event_log.c.id, event_log.c.details).where(event_log.c.type.in_((ACCESS, PARKING, SETTINGS)))
        if plate.isascii():  # JSON text holds it as written; other scripts may be \\u-escaped: scan
            q = q.where(cast(event_log.c.details, String).like(f"%{plate}%"))
        return [(r.id, r.details) for r in conn.execute(q) if mask(r.details, plate) != r.details]

    @staticmethod
    def _commands(conn, plate: str) -> list[int]:
        """Ids of delivered or cancelled commands whose payload names the plate."""
        rows = conn.execute(select(commands.c.id, commands.c.payload).where(
            (commands.c.status != "pending") & commands.c.kind.like("whitelist%"))).all()
        return [r.id for r in rows if normalize_plate(str((r.payload or {}).get("plate") or "")) == plate]

    def _record(self, by: str, result: Erasure, lists: bool) -> None:
        over(self.store.engine, self.bus).record(
            PRIVACY, "erased", user=by, details={**result.as_dict(), "lists": lists})
