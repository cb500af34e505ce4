"""`platehub retention run` and `platehub purge`: retention of personal data and erasure of a vehicle.

Hooked into `platehub` by cli/__init__.py (`add_parser(sub)`); the rules are core/retention.py and core/erasure.py."""

from __future__ import annotations

import argparse
import getpass
import sys

from platehub.cli.common import open_store, settings_from, with_data


def retention_run(args: argparse.Namespace) -> int:
    from platehub.core.retention import Retention

    settings = settings_from(args)
    retention = Retention(settings, open_store(args))
    if not retention.enabled:
        print("nothing to do: no PLATEHUB_RETAIN_* limit is set (everything is kept for ever)", file=sys.stderr)
        return 0
    counts = retention.run(dry_run=args.dry_run)
    print(counts.summary())
    return 0


def purge(args: argparse.Namespace) -> int:
    from platehub.core.erasure import Purge

    by = args.by or f"cli:{getpass.getuser()}"
    try:
        result = Purge(open_store(args)).run(args.plate, by, lists=args.lists, dry_run=args.dry_run)
    except ValueError as e:
        print(f"platehub purge: {e}", file=sys.stderr)
        return 2
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb}: " + ", ".join(f"{k} {v}" for k, v in result.as_dict().items())
          + ("" if args.dry_run else f"; recorded in the event log as done by {by} (without the plate)"))
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("retention", help="apply the retention limits (PLATEHUB_RETAIN_*) now",
                       description="Remove reads, images and event log entries older than the PLATEHUB_RETAIN_* "
                       "limits (the server does it every PLATEHUB_RETAIN_INTERVAL seconds by itself).")
    rsub = r.add_subparsers(dest="action", required=True, metavar="ACTION")
    rr = with_data(rsub.add_parser("run", help="one retention pass; prints what it removed"))
    rr.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    rr.set_defaults(func=retention_run)

    p = with_data(sub.add_parser(
        "purge", help="erase every trace of one vehicle (GDPR erasure)",
        description="Delete a vehicle's reads, their images and gate decisions, its parking visits, and mask "
        "its plate in the event log and other decisions. Access-list entries are kept unless --lists is "
        "given. The event log records who did it and the counts, not the plate."))
    p.add_argument("--plate", required=True, help="the plate (separators and case ignored)")
    p.add_argument("--lists", action="store_true", help="also remove its allow/deny list entries")
    p.add_argument("--by", help="who asked, for the event log (default: cli:<OS user>)")
    p.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    p.set_defaults(func=purge)
