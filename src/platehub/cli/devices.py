"""`platehub devices`: LPR sources — list, register, configure (gate policy, alerts, pinning, secret),
and what an all-in-one camera holds in its own whitelist. Each change is a settings entry of the event log
(user "cli"), recorded by the domain operation (core/devices.py, core/whitelist.py)."""

from __future__ import annotations

import argparse
import sys

from platehub.cli.common import open_store, settings_from, with_data


def cmd_devices(args: argparse.Namespace) -> int:
    from platehub.core.bus import Bus
    from platehub.core.devices import DeviceRegistry, SettingError
    from platehub.core.gate import policy_of

    settings = settings_from(args)
    store = open_store(args)
    devices = DeviceRegistry(settings, store.devices, Bus())
    if args.action == "list":
        for d in store.devices.list():
            state = "online" if d.online else "OFFLINE"
            policy = d.gate_policy or f"{policy_of(settings, d)} (server default)"
            via = f" via {d.gate_device}" if d.gate_device else ""
            pin = f"\tpinned to {d.pinned_address}" if d.pinned_address else ""
            print(f"{d.code}\t{d.protocol}\t{d.name or '-'}\t{d.address or '-'}\t{state}\t"
                  f"last seen {d.last_seen:%Y-%m-%d %H:%M:%S}Z\tgate {policy}{via}\tfrom {d.peer_address or '-'}{pin}"
                  + ("\tsecret set" if d.secured else ""))
    elif args.action == "add":
        d = devices.add(args.code, args.protocol, args.name, by="cli")
        print(f"{d.code}\t{d.protocol}\t{d.name or '-'}")
    elif args.action == "set":
        secret = None
        if args.secret is not None:  # read from stdin, never from the command line (process lists show it)
            secret = sys.stdin.readline().rstrip("\r\n") if args.secret == "-" else args.secret
        values = {k: v for k, v in (("gate_policy", args.policy), ("alert_unknown", args.alert_unknown),
                                    ("gate_device", args.gate_device), ("whitelist_sync", args.whitelist_sync),
                                    ("pinned_address", args.pin), ("secret", secret)) if v is not None}
        if not values:
            print("nothing to set: give --policy, --alert-unknown, --gate-device, --whitelist-sync, --pin or "
                  "--secret", file=sys.stderr)
            return 2
        try:
            device, _, after = devices.configure(args.code, values, by="cli")
        except SettingError as e:
            print(f"platehub devices set: {e}", file=sys.stderr)
            return 2
        except KeyError as e:
            print(f"no device {e.args[0]!r} (platehub devices add registers one in advance)", file=sys.stderr)
            return 1
        print(f"{device.code}: " + ", ".join(f"{k} {'default' if v is None else v}" for k, v in after.items()))
    elif args.action == "whitelist":
        from platehub.core.whitelist import WhitelistSync

        if args.reset:
            WhitelistSync(settings, store.camera_lists).reset(args.code, by="cli")
            print(f"{args.code}: what the camera holds is forgotten; the next sync clears it and sends all")
            return 0
        state = store.camera_lists.state(args.code)
        held = store.camera_lists.held(args.code)
        synced = "never synced" if state is None else (
            "in sync" if state.version == store.camera_lists.lists_version() else "sync in progress")
        print(f"# {args.code}: {len(held)} plates held ({synced})", file=sys.stderr)
        for e in held.values():
            print(f"{e.plate}\t{'deny' if e.need_alarm else 'allow'}\t{e.enable_time or '-'}\t{e.overdue_time or '-'}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    dv = sub.add_parser("devices", help="list LPR sources (cameras and other senders)",
                        description="Devices that sent something: code, protocol, name, address, online state.")
    dsub = dv.add_subparsers(dest="action", required=True, metavar="ACTION")
    with_data(dsub.add_parser("list", help="list devices and their gate policy"))
    code_help = "device code (all-in-one serial number, FF sensor id, push src)"
    da = with_data(dsub.add_parser("add", help="register a device before it first calls (to configure it)"))
    da.add_argument("code", help=code_help)
    da.add_argument("--protocol", default="allinone", help="allinone, ffjson, push … (default %(default)s)")
    da.add_argument("--name")
    ds = with_data(dsub.add_parser(
        "set", help="a device's gate policy, alerts, gate camera, whitelist sync",
        description="Gate policies: allow_list (open for allow-listed vehicles), deny_list (everyone but the "
        "deny list), always, never, manual (an operator opens by hand); default = PLATEHUB_GATE_POLICY."))
    ds.add_argument("code", help=code_help)
    ds.add_argument("--policy", help="allow_list | deny_list | always | never | manual | default")
    ds.add_argument("--alert-unknown", help="on | off | default: alert for vehicles on no list")
    ds.add_argument("--gate-device", help="the all-in-one camera that opens this source's gate (default: itself)")
    ds.add_argument("--whitelist-sync", help="on | off | default: keep the camera's own whitelist equal to the lists")
    ds.add_argument("--pin", metavar="ADDRESS", help="IP address | current | off: only messages from this address "
                    "act for the device (current: the address it was last heard from)")
    ds.add_argument("--secret", metavar="SECRET", help="the password its registrations carry (all-in-one: the "
                    "camera's pass_wd); '-' reads it from stdin; '' removes it")
    dw = with_data(dsub.add_parser("whitelist", help="what an all-in-one camera holds in its own whitelist"))
    dw.add_argument("code", help=code_help)
    dw.add_argument("--reset", action="store_true", help="forget it: the next sync clears the camera and sends all")
    dv.set_defaults(func=cmd_devices)
