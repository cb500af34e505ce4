"""`platehub lots` and `platehub visits`: parking lots, their counts and sources; visits (core/parking.py).

Hooked into `platehub` by cli/__init__.py (`add_parser(sub)`). Changes made here are stored and logged, but a
running server's WebSocket subscribers hear of them only with the next change it makes itself."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from platehub.cli.common import open_store, with_data
from platehub.core import parking
from platehub.core.bus import Bus
from platehub.core.parking import NotFound, ParkingError, ParkingService


def _service(args: argparse.Namespace) -> ParkingService:
    return ParkingService(open_store(args), Bus())


def _lot_line(lot) -> str:
    extra = f"\tmembers {','.join(map(str, lot.members)) or '-'}" if lot.type == "group" else ""
    full = "\tFULL" if lot.full and lot.max_count else ""
    return f"{lot.id}\t{lot.type}\t{lot.count}/{lot.max_count}\t{lot.name}{extra}{full}"


def _ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParkingError(f"lot ids separated by commas, e.g. 1,2 (not {text!r})") from None


def _lot_ref(text: str) -> int | None:
    if text.lower() in ("none", "-", ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise ParkingError(f"a lot id or 'none' (not {text!r})") from None


def lots_add(args) -> int:
    svc = _service(args)
    if args.group is not None:
        lot = svc.add_lot(args.name, "group", members=_ids(args.group), user="cli")
    else:
        lot = svc.add_lot(args.name, "counter", args.max, user="cli")
    print(_lot_line(lot))
    return 0


def lots_list(args) -> int:
    for lot in parking.ordered(_service(args).all()) if args.groups_first else _service(args).all():
        print(_lot_line(lot))
    return 0


def lots_set(args) -> int:
    print(_lot_line(_service(args).update_lot(args.id, args.name, args.max, user="cli")))
    return 0


def lots_members(args) -> int:
    print(_lot_line(_service(args).update_lot(args.id, members=_ids(args.members), user="cli")))
    return 0


def lots_remove(args) -> int:
    _service(args).remove_lot(args.id, user="cli")
    print(f"lot {args.id} removed")
    return 0


def lots_count(args) -> int:
    print(_lot_line(_service(args).set_count(args.id, args.count, user="cli")))
    return 0


def lots_source(args) -> int:
    svc = _service(args)
    if args.entrance is None and args.exit is None:
        device = svc.store.devices.get(args.code)
        if device is None:
            raise NotFound(f"no device {args.code!r}")
    else:
        if args.add and svc.store.devices.get(args.code) is None:
            svc.store.devices.add(args.code, args.add)
        device = svc.map_source(args.code, ... if args.entrance is None else _lot_ref(args.entrance),
                                ... if args.exit is None else _lot_ref(args.exit), user="cli")
    print(f"{device.code}\tentrance {device.lot_entrance or '-'}\texit {device.lot_exit or '-'}")
    return 0


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ParkingError(f"an ISO 8601 time, e.g. 2024-05-01T08:00:00Z (not {text!r})") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _filters(args) -> dict:
    return {"lot_id": args.lot, "plate": args.plate, "status": args.status, "since": _time(args.since),
            "until": _time(args.until)}


def visits_list(args) -> int:
    total, page = _service(args).search(offset=args.offset, limit=args.limit, **_filters(args))
    names = {lot.id: lot.name for lot in _service(args).all()}
    for v in page:
        row = parking.export_row(v, names)
        print("\t".join("" if x is None else str(x) for x in row[:10]))
    print(f"{len(page)} of {total} visits", file=sys.stderr)
    return 0


def visits_export(args) -> int:
    svc = _service(args)
    path = Path(args.file)
    fmt = args.format or (path.suffix.lstrip(".").lower() if path.suffix else "xlsx")
    if fmt not in ("csv", "xlsx"):
        raise ParkingError("--format csv or xlsx (or a file name ending .csv / .xlsx)")
    f = _filters(args)
    f["plate"] = (f["plate"] or "").upper() or None
    n = parking.write_export(svc.visits.iterate(**f), svc.all(), path, fmt)
    print(f"{n} visits written to {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return args.parking_func(args)
    except ParkingError as e:
        print(f"platehub {args.command}: {e}", file=sys.stderr)
        return 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    def action(parent, name: str, help: str, func) -> argparse.ArgumentParser:
        p = with_data(parent.add_parser(name, help=help, description=help[0].upper() + help[1:] + "."))
        p.set_defaults(parking_func=func, func=run)
        return p

    lots = sub.add_parser("lots", help="parking lots: counters, groups, counts, sources",
                          description="Parking lot counters (counted from the reads of their entrance and exit "
                          "sources) and groups of counters (their sums), as TS-API's /api/enum?what=parkingLot.")
    lsub = lots.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = action(lsub, "add", "add a counter (--max) or a group (--group IDS)", lots_add)
    a.add_argument("name")
    kind = a.add_mutually_exclusive_group(required=True)
    kind.add_argument("--max", type=int, help="a counter: its number of parking spaces")
    kind.add_argument("--group", metavar="IDS", help="a group: its member counters, e.g. 1,2")
    lst = action(lsub, "list", "list lots with count/maximum", lots_list)
    lst.add_argument("--groups-first", action="store_true", help="groups first (as the parkingCount event)")
    s = action(lsub, "set", "rename a lot or change a counter's maximum", lots_set)
    s.add_argument("id", type=int)
    s.add_argument("--name")
    s.add_argument("--max", type=int, help="the counter's number of parking spaces")
    m = action(lsub, "members", "set a group's member counters", lots_members)
    m.add_argument("id", type=int)
    m.add_argument("members", help="counter ids, e.g. 1,2")
    r = action(lsub, "remove", "remove a lot (its visits are kept; sources mapped to it are unmapped)",
               lots_remove)
    r.add_argument("id", type=int)
    c = action(lsub, "count", "correct a counter's count by hand (logged)", lots_count)
    c.add_argument("id", type=int)
    c.add_argument("count", type=int)
    src = action(lsub, "source", "show or map a source (device) to the lot it is the entrance/exit of",
                 lots_source)
    src.add_argument("code", help="the device code (FF sensor id, all-in-one serial number, push src, camera_id)")
    src.add_argument("--entrance", metavar="ID", help="the counter a read of this source enters ('none' clears)")
    src.add_argument("--exit", metavar="ID", help="the counter a read of this source leaves ('none' clears)")
    src.add_argument("--add", metavar="PROTOCOL", help="register the device first when unknown (push, ffjson, "
                     "allinone, snapshot)")

    visits = sub.add_parser("visits", help="parking visits: entries paired with exits",
                            description="Visits: an entry read paired with its exit read (also when one of them "
                            "is off by a character), with the dwell time.")
    vsub = visits.add_subparsers(dest="action", required=True, metavar="ACTION")

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lot", type=int, help="only this lot")
        p.add_argument("--plate", help="a part of the entry's or the exit's plate")
        p.add_argument("--status", choices=parking.VISIT_STATUSES)
        p.add_argument("--since", help="began at or after (ISO 8601; UTC without an offset)")
        p.add_argument("--until", help="began before (ISO 8601)")

    vl = action(vsub, "list", "list visits, newest first", visits_list)
    filters(vl)
    vl.add_argument("--offset", type=int, default=0)
    vl.add_argument("--limit", type=int, default=100)
    ve = action(vsub, "export", "write visits to a .csv or .xlsx file", visits_export)
    ve.add_argument("file")
    ve.add_argument("--format", choices=("csv", "xlsx"), help="default: by the file name, else xlsx")
    filters(ve)
