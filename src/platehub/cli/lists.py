"""`platehub lists`: the allow and deny lists — add, remove, show, list, import, export, match.

Hooked into `platehub` by cli/__init__.py (`add_parser(sub)`). Each change is one settings entry of the event
log (user "cli"), an import one entry however many rows, recorded by the domain operation (core/access.py,
core/listfile.py)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from platehub.cli.common import open_store, settings_from, with_data
from platehub.core.access import LISTS, AccessLists, Entry, ListError, format_schedule, format_time, parse_time
from platehub.core.listfile import FORMATS, MODES, ListFileError, import_into, write_csv, write_xlsx


def _open(args: argparse.Namespace):
    settings = settings_from(args)
    store = open_store(args)
    return store, AccessLists(store.access, settings)


class _Progress:
    """`N entries (rate/s)` on stderr, at most every half second, only on a terminal or when asked."""

    def __init__(self, what: str) -> None:
        self.what, self.t0, self.last = what, time.perf_counter(), 0.0

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last >= 0.5:
            self.last = now
            print(f"\r{self.what} {done:,} entries ({done / max(now - self.t0, 1e-9):,.0f}/s)", end="",
                  file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.last:
            print(file=sys.stderr)


def _line(e: Entry, lists: AccessLists) -> str:
    parts = [str(e.id), e.list, e.plate]
    if e.valid_from or e.valid_until:
        parts.append(f"{format_time(e.valid_from, lists.zone) or '…'}..{format_time(e.valid_until, lists.zone) or '…'}")
    if e.schedule:
        parts.append(f"[{format_schedule(e.schedule)}]")
    if e.tag:
        parts.append(f"#{e.tag}")
    if e.devices:
        parts.append("devices: " + " ".join(e.devices))
    if e.comment:
        parts.append(f"— {e.comment}")
    return "\t".join(parts)


def _fields(args: argparse.Namespace) -> dict:
    fields = {"list": args.list, "plate": args.plate}
    for name in ("valid_from", "valid_until", "schedule", "tag", "comment", "devices"):
        value = getattr(args, name, None)
        if value is not None:
            fields[name] = value
    return fields


def lists_add(args: argparse.Namespace) -> int:
    _, lists = _open(args)
    if args.replace:
        entry, added = lists.put(_fields(args), by="cli")
    else:
        entry, added = lists.add(_fields(args), by="cli"), True
    print(f"{'added' if added else 'replaced'}: {_line(entry, lists)}")
    return 0


def _target(lists: AccessLists, args: argparse.Namespace) -> Entry | None:
    if args.what.isdigit():
        return lists.get(int(args.what))
    return lists.find(args.list, args.what)


def lists_remove(args: argparse.Namespace) -> int:
    _, lists = _open(args)
    entry = _target(lists, args)
    if entry is None:
        print(f"platehub lists: no entry {args.what!r}", file=sys.stderr)
        return 1
    lists.remove(entry.id, by="cli")
    print(f"removed: {_line(entry, lists)}")
    return 0


def lists_show(args: argparse.Namespace) -> int:
    _, lists = _open(args)
    entry = _target(lists, args)
    if entry is None:
        print(f"platehub lists: no entry {args.what!r}", file=sys.stderr)
        return 1
    print(_line(entry, lists))
    return 0


def lists_list(args: argparse.Namespace) -> int:
    from platehub.core.read import normalize_plate

    store, lists = _open(args)
    total, entries = store.access.list(args.list, args.tag, normalize_plate(args.q or "") or None, args.device,
                                       args.offset, args.limit)
    for e in entries:
        print(_line(e, lists))
    print(f"{len(entries)} of {total} entries", file=sys.stderr)
    return 0


def lists_import(args: argparse.Namespace) -> int:
    _, lists = _open(args)
    data = sys.stdin.buffer.read() if str(args.file) == "-" else Path(args.file).read_bytes()
    progress = _Progress("imported")
    result = import_into(lists, data, mode=args.mode, list_=args.list, fmt=args.format or str(args.file),
                         progress=progress, by="cli")
    progress.done()
    for r in result.refused[:args.show_refused]:
        print(f"line {r.line}: {r.reason}", file=sys.stderr)
    if len(result.refused) > args.show_refused:
        print(f"… and {len(result.refused) - args.show_refused} more refused rows", file=sys.stderr)
    print(result.summary())
    return 0 if not result.refused else 3


def lists_export(args: argparse.Namespace) -> int:
    store, lists = _open(args)
    fmt = args.format or ("xlsx" if str(args.file).lower().endswith(".xlsx") else "csv")
    progress = _Progress("exported")
    entries = store.access.iterate(args.list)
    if fmt == "xlsx":
        if str(args.file) == "-":
            raise ListError("XLSX needs a file name")
        n = write_xlsx(entries, lists.zone, args.file, progress)
    elif str(args.file) == "-":
        n = write_csv(entries, lists.zone, sys.stdout, progress)
    else:
        with open(args.file, "w", encoding="utf-8-sig", newline="") as out:
            n = write_csv(entries, lists.zone, out, progress)
    progress.done()
    print(f"{n} entries exported", file=sys.stderr)
    return 0


def lists_match(args: argparse.Namespace) -> int:
    _, lists = _open(args)
    at = parse_time(args.at, lists.zone, "--at") if args.at else datetime.now(UTC)
    matches = lists.match(args.plate, args.device, at, edits=args.edits,
                          lookalikes=None if args.lookalikes is None else args.lookalikes == "on")
    if not matches:
        print(f"{args.plate}: no entry matches")
        return 1
    for m in matches:
        print(f"{'active  ' if m.active else 'inactive'}  {m.why}  (entry {m.entry.id})")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return args.lists_func(args)
    except (ListError, ListFileError) as e:
        print(f"platehub lists: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"platehub lists: {e}", file=sys.stderr)
        return 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lists", help="allow and deny lists: add, remove, list, import, export, match",
                       description="The access lists (allow / deny). Times: ISO 8601 or 'YYYY-MM-DD HH:MM:SS'; "
                       "without an offset they are site local time (PLATEHUB_TIMEZONE). Schedules: e.g. "
                       "'mon-fri 07:00-19:00; sat 08:00-12:00' (an end before the start crosses midnight).")
    lsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str, func) -> argparse.ArgumentParser:
        a = with_data(lsub.add_parser(name, help=help, description=help[0].upper() + help[1:] + "."))
        a.set_defaults(func=run, lists_func=func)
        return a

    a = action("add", "add an entry to a list", lists_add)
    a.add_argument("list", choices=LISTS)
    a.add_argument("plate")
    a.add_argument("--from", dest="valid_from", metavar="TIME", help="valid from (the spec's enable_time)")
    a.add_argument("--until", dest="valid_until", metavar="TIME", help="valid until (the spec's overdue_time)")
    a.add_argument("--schedule", help="weekly windows, e.g. 'mon-fri 07:00-19:00; sat 08:00-12:00'")
    a.add_argument("--tag", help="group / tag")
    a.add_argument("--comment")
    a.add_argument("--devices", help="device codes it applies to, separated by spaces or ';' (default: every device)")
    a.add_argument("--replace", action="store_true", help="replace an existing entry of the plate instead of failing")

    for name, func, help in (("remove", lists_remove, "remove an entry"), ("show", lists_show, "show one entry")):
        r = action(name, help, func)
        r.add_argument("what", help="the entry's id, or a plate")
        r.add_argument("--list", choices=LISTS, help="with a plate: the list (default: deny, then allow)")

    li = action("list", "list entries (tab-separated)", lists_list)
    li.add_argument("--list", choices=LISTS)
    li.add_argument("--tag")
    li.add_argument("-q", help="plate contains")
    li.add_argument("--device", help="entries that apply to this device")
    li.add_argument("--offset", type=int, default=0)
    li.add_argument("--limit", type=int, default=100)

    im = action("import", "import a CSV or XLSX file (columns list,plate,valid_from,valid_until,schedule,tag,"
                "comment,devices); bad rows are reported and skipped, the others imported; exit status 3 when "
                "rows were refused", lists_import)
    im.add_argument("file", help="the file ('-' = stdin)")
    im.add_argument("--mode", choices=MODES, default="merge",
                    help="merge: add or update entries; replace: the list(s) become the file's (default %(default)s)")
    im.add_argument("--list", choices=LISTS, help="the list the file is for (then the list column is optional)")
    im.add_argument("--format", choices=FORMATS, help="default: told from the content")
    im.add_argument("--show-refused", type=int, default=50, metavar="N", help="print at most N refused rows")

    ex = action("export", "export entries as CSV or XLSX (what import reads back)", lists_export)
    ex.add_argument("file", help="the file ('-' = stdout, CSV)")
    ex.add_argument("--list", choices=LISTS)
    ex.add_argument("--format", choices=FORMATS, help="default: xlsx for *.xlsx, else csv")

    m = action("match", "show the entries a read plate matches, and why", lists_match)
    m.add_argument("plate")
    m.add_argument("--device", help="the device that read it (entries of other devices do not match)")
    m.add_argument("--at", metavar="TIME", help="the time of the read (default: now)")
    m.add_argument("--edits", type=int, choices=(0, 1, 2),
                   help="character edits tolerated (default: PLATEHUB_MATCH_EDITS)")
    m.add_argument("--lookalikes", choices=("on", "off"),
                   help="look-alike characters (default: PLATEHUB_MATCH_LOOKALIKES)")
