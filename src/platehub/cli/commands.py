"""`platehub command`: commands queued for all-in-one cameras — add, list, cancel (core/commands.py)."""

from __future__ import annotations

import argparse
import json
import sys

from platehub.cli.common import open_store, with_data
from platehub.core.store.devices import COMMAND_KINDS


def cmd_command(args: argparse.Namespace) -> int:
    from platehub.core.commands import CommandError, CommandQueue

    store = open_store(args)
    if args.action == "add":
        payload = {k: v for k, v in (("channel", args.channel), ("text", args.text), ("data", args.serial_data),
                                     ("plate", args.plate), ("enable_time", args.enable_time),
                                     ("overdue_time", args.overdue_time), ("read", args.read)) if v is not None}
        if args.blacklist:
            payload["need_alarm"] = 1
        from platehub.core.bus import Bus
        from platehub.core.parking import ParkingService

        # an open by hand lets a vehicle in
        bus = Bus()  # no one listens here: a held comet poll takes the command at its next poll
        queue = CommandQueue(store.commands, bus, hand_opens=(ParkingService(store, bus).opened_by_hand,))
        try:
            # a held comet poll in a running server sees it when its hold ends (the API wakes it at once)
            command = queue.enqueue(args.device, args.kind, payload, by="cli")
        except CommandError as e:
            print(f"platehub command: {e}", file=sys.stderr)
            return 2
        print(f"{command.id}\t{command.device}\t{command.kind}\tpending (delivered on the device's next "
              "plate reply or comet poll)")
    elif args.action == "list":
        for c in store.commands.list(args.device):
            when = f"{c.delivered_at:%Y-%m-%d %H:%M:%S}Z by {c.via}" if c.delivered_at else ""
            when += f" to {c.delivered_to}" if c.delivered_to else ""
            print(f"{c.id}\t{c.device}\t{c.kind}\t{json.dumps(c.payload, ensure_ascii=False)}\t{c.status}\t{when}")
    elif args.action == "cancel":
        if not store.commands.cancel(args.id):
            print(f"no pending command {args.id}", file=sys.stderr)
            return 1
        print(f"cancelled {args.id}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    cm = sub.add_parser("command", help="queue commands for all-in-one cameras",
                        description="Commands are delivered on the camera's next plate reply or comet poll.")
    csub = cm.add_subparsers(dest="action", required=True, metavar="ACTION")
    ca = with_data(csub.add_parser("add", help="queue a command"))
    ca.add_argument("device", help="the camera's serial number")
    ca.add_argument("kind", choices=COMMAND_KINDS)
    ca.add_argument("--channel", type=int, help="IO output (open_gate) or serial channel (serial_data)")
    ca.add_argument("--read", help="open_gate: the read it opens for (parking counts it as an entry; default: "
                    "the gate's newest read of the last 5 minutes)")
    ca.add_argument("--text", help="serial_data: text to send")
    ca.add_argument("--serial-data", help="serial_data: bytes to send, base64")
    ca.add_argument("--plate", help="whitelist_add / whitelist_delete: the plate")
    ca.add_argument("--enable-time", help="whitelist_add: valid from, 'YYYY-MM-DD HH:MM:SS'")
    ca.add_argument("--overdue-time", help="whitelist_add: valid until, 'YYYY-MM-DD HH:MM:SS'")
    ca.add_argument("--blacklist", action="store_true", help="whitelist_add: mark as blacklisted (need_alarm)")
    cl = with_data(csub.add_parser("list", help="list commands and their delivery status"))
    cl.add_argument("device", nargs="?")
    cc = with_data(csub.add_parser("cancel", help="cancel a pending command"))
    cc.add_argument("id", type=int)
    cm.set_defaults(func=cmd_command)
