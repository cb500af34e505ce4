"""Parking lots: occupancy counted from entry and exit reads, and visits (each exit paired with its entry).

Where reads come from: a source (device) has `lot_entrance` (a read of it = a vehicle enters that lot)
and `lot_exit` (= a vehicle leaves that lot), as TS-API's lprSrc `parkingLot {entrance, exit}`.
- entrance only / exit only: every read is an entry / an exit;
- both, different lots (a camera between two lots): every read leaves `lot_exit`, then enters `lot_entrance`;
- both, the same lot (one two-way camera): the read's direction decides (in/entry/approaching … → entry,
  out/exit/leaving … → exit); a read without a usable direction counts as nothing (logged).
Only counters are mapped to sources; a group's count and maximum are its members' sums.

A read at an entrance counts as an entry only when the vehicle went in (`entered`): the gate opened
for it (its gate decision, core/gate.py, is `open`), the lane has no barrier (policy `always`), it is
an offline record the camera's own list let in (decision reason `offline`: the lists as they were then
would have opened, and the whitelist sync keeps the camera's list equal to them), or no gate decides
the source's reads (Snapshot API reads). A read the gate refused (`info: no`) counts only when an
operator then opens the gate by hand for it (`opened_by_hand`: an operator's `open_gate` command for
the gate, naming the read or, without one, the gate's newest read of the last `HAND_OPEN_WINDOW`
seconds); its decision then says `by_hand`, so a second press counts nothing. Exits count every read.

Occupancy counts vehicles, so a read without a plate (the camera saw a vehicle, not its plate) moves
the counter but opens or closes no visit. A counter never goes below 0 (an exit at 0 stays 0, logged);
an entry when the lot is full still counts (the vehicle is there) and raises an alert: an event log
entry (type `parking`, code `full`) and the bus topic `parking.full`. A manual correction sets a
counter's count (event log: a settings change with the user, before and after).

Visits: an entry opens a visit. An exit closes the lot's open visit with the same plate; failing
that, the open visit whose plate is within one edit of the exit's (core/similar.py: one missing,
extra or changed character; look-alike swaps such as 0/O, 8/B count as no edit), the closest first,
the most recent entry among equally close ones; failing that, it is recorded as an `exit_only`
visit. An entry of a plate that already has an open visit in the lot marks that visit `lost` (its
exit was missed) and opens a new one. Exits without a plate close no visit.

Occupancy history (core/occupancy.py): each change is stored as it is counted, at the time the
vehicle moved: the read's time (an offline record's is in the past; never later than now), the
operator's press for a gate opened by hand, the moment of a manual correction.

Every change is published on the bus as `parking.count` with the changed counters and the groups
containing them, after it is stored. Blocking (database): call off the event loop; a lock per lot
keeps concurrent reads of one lot exact."""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from platehub.core import errors, similar, spreadsheet
from platehub.core.bus import PARKING_COUNT, PARKING_FULL, Bus
from platehub.core.errors import DomainError
from platehub.core.eventlog import PARKING, EventLog, over
from platehub.core.read import Read, normalize_plate, utcnow
from platehub.core.store import Store
from platehub.core.store.decisions import Decision
from platehub.core.store.devices import Device
from platehub.core.store.parking import (
    COUNTER,
    GROUP,
    LOT_TYPES,
    VISIT_STATUSES,
    Lot,
    LotRepo,
    Visit,
    VisitRepo,
)

log = logging.getLogger("platehub.parking")


ENTRY, EXIT = "entry", "exit"
ENTRY_WORDS = frozenset({"entry", "in", "incoming", "approaching", "enter", "entering", "arrival"})
EXIT_WORDS = frozenset({"exit", "out", "outgoing", "leaving", "leave", "away", "departure"})
MIN_FUZZY_LENGTH = 4  # shorter plates are paired only when equal
MAX_NAME = 255
MAX_COUNT = 1_000_000
HAND_OPEN_WINDOW = 300  # seconds: an operator's open without a read counts the gate's newest read this recent


class ParkingError(DomainError):
    """Bad input (an HTTP 400)."""


class NotFound(ParkingError, errors.NotFound):
    """No such lot or device (an HTTP 404)."""


@dataclass(frozen=True)
class Movement:
    """What one read did to one counter."""

    kind: str  # entry | exit
    lot_id: int
    before: int
    after: int
    visit_id: int | None = None  # the visit opened (entry) or closed / exit-only (exit)
    paired: bool = False  # exit: an open visit was closed
    distance: int | None = None  # exit: edits between the entry's and the exit's plates
    over_max: bool = False  # entry into a full lot


@dataclass(frozen=True)
class CountChange:
    """The `parking.count` payload: the changed counters and the groups containing them (current values)."""

    lots: tuple[Lot, ...]
    cause: str  # read | manual | settings
    read_id: str | None = None
    user: str | None = None


def direction_of(value: str | None) -> str | None:
    """A read's direction as entry / exit; None when it says neither."""
    v = (value or "").strip().lower()
    return ENTRY if v in ENTRY_WORDS else EXIT if v in EXIT_WORDS else None


def movements(device: Device | None, read_direction: str | None) -> list[tuple[str, int]] | None:
    """What a read of `device` does: [(entry|exit, lot id)] in order; None when the source is a two-way
    camera of one lot and the read has no usable direction."""
    if device is None:
        return []
    ent, ex = device.lot_entrance, device.lot_exit
    if ent is not None and ent == ex:
        d = direction_of(read_direction)
        return None if d is None else [(d, ent)]
    out: list[tuple[str, int]] = []
    if ex is not None:
        out.append((EXIT, ex))
    if ent is not None:
        out.append((ENTRY, ent))
    return out


def entered(decision: Decision | None) -> bool:
    """Whether a read at an entrance is a vehicle that went in (see the module's docstring)."""
    if decision is None:
        return True  # no gate decides this source's reads
    return decision.opens or decision.policy == "always" or decision.reason == "offline"


def lot_direction(device: Device | None, read_direction: str | None) -> str | None:
    """The direction a TS-API LPR event shows: the read's own, else the one its source's mapping implies."""
    own = direction_of(read_direction)
    if own or device is None:
        return own
    ent, ex = device.lot_entrance, device.lot_exit
    if ent is not None and ex is None:
        return ENTRY
    if ex is not None and ent is None:
        return EXIT
    return None


def parking_lot_json(device: Device | None) -> dict[str, int] | None:
    """TS-API `parkingLot {entrance, exit}` of a source; None when it is mapped to no lot."""
    if device is None:
        return None
    out = {k: v for k, v in (("entrance", device.lot_entrance), ("exit", device.lot_exit)) if v is not None}
    return out or None


def lot_json(lot: Lot) -> dict[str, Any]:
    """A lot as TS-API gives it (`/api/enum?what=parkingLot`, the parkingCount event), in the guide's order."""
    out: dict[str, Any] = {"id": lot.id, "name": lot.name, "type": lot.type, "count": lot.count,
                           "maxCount": lot.max_count}
    if lot.type == GROUP:
        out["member"] = list(lot.members)
    return out


def ordered(lots: Iterable[Lot]) -> list[Lot]:
    """Groups first, then counters, each by id (as the guide's parkingCount example)."""
    return sorted(lots, key=lambda lot: (lot.type != GROUP, lot.id))


def best_candidate(plate: str, open_visits: list[tuple[int, str, datetime]]) -> tuple[int, int] | None:
    """(visit id, edits) of the open visit an exit of `plate` most plausibly ends: a plate within one
    edit (look-alike swaps count 0: core/similar.py), the fewest edits first, then the closest by
    similar.distance (look-alike swaps cost a little), then the most recent entry."""
    if len(plate) < MIN_FUZZY_LENGTH:
        return None
    best: tuple[int, float, float, int] | None = None
    for visit_id, other, entered in open_visits:
        if abs(len(other) - len(plate)) > 1 or len(other) < MIN_FUZZY_LENGTH:
            continue
        n = similar.edits(plate, other, limit=1)
        if n > 1:
            continue
        key = (n, similar.distance(plate, other), -(entered.timestamp() if entered else 0.0), -visit_id)
        if best is None or key < best:
            best = key
    return None if best is None else (-best[3], best[0])


class ParkingService:
    def __init__(self, store: Store, bus: Bus, eventlog: EventLog | None = None) -> None:
        self.store = store
        self.bus = bus
        self.lots: LotRepo = store.lots
        self.visits: VisitRepo = store.visits
        self.eventlog = eventlog or over(store.engine, bus)
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, lot_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(lot_id, threading.Lock())

    # ------------------------------------------------------------------ reads

    def on_read(self, read: Read) -> list[Movement]:
        """Count one new read (an `Ingestor` observer; also called for Snapshot API reads)."""
        if not read.source:
            return []
        device = self.store.devices.get(read.source)
        if device is None or (device.lot_entrance is None and device.lot_exit is None):
            return []
        moves = movements(device, read.direction)
        if moves is None:
            log.info("read %s (%s) from two-way source %s has no entry/exit direction (%r): not counted",
                     read.id, read.plate or "-", read.source, read.direction)
            return []
        if any(kind == ENTRY for kind, _ in moves):
            decision = self.store.decisions.get(read.id)
            if not entered(decision):
                assert decision is not None
                log.info("read %s (%s) at %s: the gate did not open (%s), not counted as an entry",
                         read.id, read.plate or "-", read.source, decision.reason)
                moves = [(kind, lot_id) for kind, lot_id in moves if kind != ENTRY]
        return self._count(read, moves, min(read.first_seen, utcnow()))

    def _count(self, read: Read, moves: list[tuple[str, int]], at: datetime) -> list[Movement]:
        done = []
        for kind, lot_id in moves:
            move = self._enter(lot_id, read, at) if kind == ENTRY else self._leave(lot_id, read, at)
            if move is not None:
                done.append(move)
        if done:
            self._publish({m.lot_id for m in done}, "read", read_id=read.id)
        return done

    def opened_by_hand(self, gate: str, read_id: str | None = None, by: str | None = None) -> list[Movement]:
        """An operator opened `gate` (an all-in-one camera) by hand: the read it was opened for (`read_id`,
        else the newest read of a source that gate serves, of the last HAND_OPEN_WINDOW seconds) enters,
        if the gate had refused it. Returns the entries counted (none for a read counted already)."""
        served = [d for d in self.store.devices.list() if (d.gate_device or d.code) == gate]
        codes = {d.code for d in served}
        if read_id:
            read = self.store.reads.get(read_id)
            if read is None or read.source not in codes:
                log.info("gate %s opened by hand for read %s, which is no read of it: nothing counted", gate, read_id)
                return []
        else:
            read = self.store.reads.latest(codes, utcnow() - timedelta(seconds=HAND_OPEN_WINDOW)) if codes else None
            if read is None:
                log.info("gate %s opened by hand with no recent read at it: nothing counted", gate)
                return []
        if not self.store.decisions.open_by_hand(read.id, by):
            return []  # no gate decision, or opened already: counted when it was read
        device = next(d for d in served if d.code == read.source)
        moves = [(kind, lot_id) for kind, lot_id in movements(device, read.direction) or [] if kind == ENTRY]
        log.info("gate %s opened by hand by %s for read %s (%s): %d entr%s counted", gate, by or "?", read.id,
                 read.plate or "-", len(moves), "y" if len(moves) == 1 else "ies")
        return self._count(read, moves, utcnow())

    def _enter(self, lot_id: int, read: Read, at: datetime) -> Movement | None:
        plate = normalize_plate(read.plate)
        with self._lock(lot_id):
            change = self.lots.change(lot_id, +1, at)
            if change is None:
                log.warning("source %s is mapped to lot %s, which is no counter: read %s not counted",
                            read.source, lot_id, read.id)
                return None
            before, after, max_count = change
            visit_id = None
            if plate:
                stale = self.visits.open_with_plate(lot_id, plate)
                if stale:
                    self.visits.mark_lost(stale)
                    log.info("lot %s: %s entered again; its open visit(s) %s marked lost (exit missed)",
                             lot_id, plate, stale)
                visit_id = self.visits.open(lot_id, plate, read.id, read.first_seen)
        over = before >= max_count
        if over:
            self._alert_full(lot_id, after, max_count, read)
        return Movement(ENTRY, lot_id, before, after, visit_id, over_max=over)

    def _leave(self, lot_id: int, read: Read, at: datetime) -> Movement | None:
        plate = normalize_plate(read.plate)
        with self._lock(lot_id):
            change = self.lots.change(lot_id, -1, at)
            if change is None:
                log.warning("source %s is mapped to lot %s, which is no counter: read %s not counted",
                            read.source, lot_id, read.id)
                return None
            before, after, _ = change
            if before == 0:
                log.warning("lot %s: exit of %s (read %s) with no vehicle counted in it: the count stays 0",
                            lot_id, plate or "a vehicle without a plate", read.id)
            if not plate:
                return Movement(EXIT, lot_id, before, after)
            exact = self.visits.open_with_plate(lot_id, plate)
            for visit_id in exact:
                if self.visits.close(visit_id, read.id, plate, 0, read.first_seen):
                    return Movement(EXIT, lot_id, before, after, visit_id, True, 0)
            found = best_candidate(plate, self.visits.open_plates(lot_id))
            if found is not None:
                visit_id, n = found
                if self.visits.close(visit_id, read.id, plate, n, read.first_seen):
                    return Movement(EXIT, lot_id, before, after, visit_id, True, n)
            visit_id = self.visits.exit_only(lot_id, plate, read.id, read.first_seen)
            log.info("lot %s: exit of %s (read %s) matches no open visit: exit only", lot_id, plate, read.id)
            return Movement(EXIT, lot_id, before, after, visit_id)

    def _alert_full(self, lot_id: int, count: int, max_count: int, read: Read) -> None:
        lot = self.lots.get(lot_id)
        name = lot.name if lot else str(lot_id)
        log.warning("lot %s (%s) is over its maximum: %d of %d (read %s, %s)", lot_id, name, count, max_count,
                    read.id, read.plate or "-")
        details = {"lot": lot_id, "name": name, "count": count, "maxCount": max_count, "read": read.id,
                   "plateNo": read.plate or ""}
        try:
            self.eventlog.record(PARKING, "full", source=read.source, details=details)
        except Exception:  # the alert still goes out on the bus
            log.exception("could not record the full lot %s in the event log", lot_id)
        self.bus.publish(PARKING_FULL, details)

    def _publish(self, changed: set[int], cause: str, read_id: str | None = None, user: str | None = None) -> None:
        lots = [lot for lot in self.lots.list()
                if lot.id in changed or (lot.type == GROUP and changed.intersection(lot.members))]
        if lots:
            self.bus.publish(PARKING_COUNT, CountChange(tuple(ordered(lots)), cause, read_id, user))

    # ------------------------------------------------------------------ lots

    def all(self) -> list[Lot]:
        return self.lots.list()

    def get(self, lot_id: int) -> Lot:
        lot = self.lots.get(lot_id)
        if lot is None:
            raise NotFound(f"No parking lot {lot_id}.")
        return lot

    def _check_members(self, members: Any, own_id: int | None = None) -> tuple[int, ...]:
        if not isinstance(members, list | tuple) or not all(type(m) is int for m in members):
            raise ParkingError("`members` must be a list of counter ids.")
        counters = {lot.id for lot in self.lots.list() if lot.type == COUNTER}
        bad = [m for m in members if m not in counters or m == own_id]
        if bad:
            raise ParkingError(f"Not counters: {', '.join(map(str, bad))} (a group's members are counter ids).")
        return tuple(dict.fromkeys(members))

    @staticmethod
    def _check_name(name: Any) -> str:
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise ParkingError(f"`name` must be text of 1 to {MAX_NAME} characters.")
        return name.strip()

    @staticmethod
    def _check_count(value: Any, what: str) -> int:
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            raise ParkingError(f"`{what}` must be a whole number from 0 to {MAX_COUNT}.")
        return value

    def add_lot(self, name: Any, type: Any = COUNTER, max_count: Any = None, members: Any = None,
                user: str | None = None) -> Lot:
        if type not in LOT_TYPES:
            raise ParkingError(f"`type` must be one of {', '.join(LOT_TYPES)}.")
        name = self._check_name(name)
        if type == COUNTER:
            if members:
                raise ParkingError("A counter has no members (a group has).")
            lot = self.lots.add(name, COUNTER, self._check_count(max_count, "maxCount"))
        else:
            if max_count is not None:
                raise ParkingError("A group's maxCount is the sum of its members'; it cannot be set.")
            lot = self.lots.add(name, GROUP, members=self._check_members(members or []))
        self._setting(f"parking lot {lot.id}", user, after=lot_json(lot))
        self._publish({lot.id}, "settings", user=user)
        return self.get(lot.id)

    def update_lot(self, lot_id: int, name: Any = None, max_count: Any = None, members: Any = None,
                   user: str | None = None) -> Lot:
        lot = self.get(lot_id)
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = self._check_name(name)
        if max_count is not None:
            if lot.type == GROUP:
                raise ParkingError("A group's maxCount is the sum of its members'; it cannot be set.")
            values["max_count"] = self._check_count(max_count, "maxCount")
        if members is not None:
            if lot.type != GROUP:
                raise ParkingError("Only a group has members.")
            values["members"] = self._check_members(members, lot.id)
        if not values:
            raise ParkingError("Nothing to change: give name, maxCount or members.")
        self.lots.update(lot_id, **values)
        after = self.get(lot_id)
        self._setting(f"parking lot {lot_id}", user, before=lot_json(lot), after=lot_json(after))
        self._publish({lot_id}, "settings", user=user)
        return after

    def remove_lot(self, lot_id: int, user: str | None = None) -> None:
        lot = self.get(lot_id)
        self.lots.remove(lot_id)
        self._setting(f"parking lot {lot_id}", user, before=lot_json(lot))

    def set_count(self, lot_id: int, count: Any, user: str | None = None) -> Lot:
        """Manual correction of a counter's count (logged with the user, before and after)."""
        lot = self.get(lot_id)
        if lot.type != COUNTER:
            raise ParkingError("A group's count is the sum of its members'; correct a member instead.")
        count = self._check_count(count, "count")
        with self._lock(lot_id):
            before = self.lots.set_count(lot_id, count)
        if before is None:
            raise NotFound(f"No parking lot {lot_id}.")
        log.info("lot %s count corrected from %d to %d by %s", lot_id, before, count, user or "?")
        self._setting(f"parking lot {lot_id} count", user, before=before, after=count)
        self._publish({lot_id}, "manual", user=user)
        return self.get(lot_id)

    def map_source(self, code: str, entrance: Any = ..., exit: Any = ..., user: str | None = None) -> Device:
        """Set a source's lots (`...` keeps one, None clears it); only counters can be mapped."""
        device = self.store.devices.get(code)
        if device is None:
            raise NotFound(f"No device {code!r}.")
        values: dict[str, Any] = {}
        for key, value in (("lot_entrance", entrance), ("lot_exit", exit)):
            if value is ...:
                continue
            if value is not None:
                if type(value) is not int:
                    raise ParkingError("`entrance` and `exit` must be counter ids or null.")
                lot = self.lots.get(value)
                if lot is None:
                    raise NotFound(f"No parking lot {value}.")
                if lot.type != COUNTER:
                    raise ParkingError(f"Lot {value} is a group; map sources to counters.")
            values[key] = value
        if not values:
            raise ParkingError("Give `entrance` and/or `exit` (a counter id, or null to clear).")
        self.store.devices.configure(code, **values)
        after = self.store.devices.get(code)
        self._setting(f"device {code} parking lot", user, before=parking_lot_json(device) or {},
                      after=parking_lot_json(after) or {})
        return after  # type: ignore[return-value]

    def _setting(self, what: str, user: str | None, before: Any = None, after: Any = None) -> None:
        try:
            self.eventlog.settings_changed(what, user, before, after)
        except Exception:
            log.exception("could not record the change of %s in the event log", what)

    # ------------------------------------------------------------------ visits

    def search(self, lot_id: int | None = None, plate: str | None = None, status: str | None = None,
               since: datetime | None = None, until: datetime | None = None, offset: int = 0,
               limit: int = 100) -> tuple[int, list[Visit]]:
        if status is not None and status not in VISIT_STATUSES:
            raise ParkingError(f"`status` must be one of {', '.join(VISIT_STATUSES)}.")
        return self.visits.search(lot_id, normalize_plate(plate or "") or None, status, since, until,
                                  max(0, offset), max(0, min(limit, 1000)))


# ---------------------------------------------------------------------- export

EXPORT_HEADER = ("id", "lot", "lotName", "plate", "exitPlate", "status", "enteredAt", "exitedAt", "dwellSeconds",
                 "distance", "entryRead", "exitRead")


def _iso(when: datetime | None) -> str:
    return when.astimezone().isoformat(timespec="seconds") if when else ""


def export_row(visit: Visit, names: dict[int, str]) -> tuple:
    dwell = visit.dwell
    return (visit.id, visit.lot_id, names.get(visit.lot_id, ""), visit.plate, visit.exit_plate or "", visit.status,
            _iso(visit.entered_at), _iso(visit.exited_at), None if dwell is None else int(dwell.total_seconds()),
            visit.distance, visit.entry_read or "", visit.exit_read or "")


def write_export(visits: Iterable[Visit], lots: Iterable[Lot], path: Path, fmt: str) -> int:
    """Write visits to a .csv or .xlsx file (rows streamed); returns the number of rows."""
    names = {lot.id: lot.name for lot in lots}
    n = 0
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("visits")
        ws.append(EXPORT_HEADER)
        for visit in visits:
            ws.append(spreadsheet.xlsx_row(ws, export_row(visit, names)))  # text stays text, never a formula
            n += 1
        wb.save(path)
    elif fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as f:
            out = csv.writer(f)
            out.writerow(EXPORT_HEADER)
            for visit in visits:
                out.writerow(spreadsheet.csv_row(export_row(visit, names)))
                n += 1
    else:
        raise ParkingError("`format` must be csv or xlsx.")
    return n

