"""The `platehub` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from platehub import __version__
from platehub.config import Settings


def _settings(args: argparse.Namespace, **extra) -> Settings:
    return Settings.from_env(
        data_dir=Path(args.data) if getattr(args, "data", None) else None,
        database_url=getattr(args, "database_url", None),
        **extra,
    )


def open_store(args: argparse.Namespace):
    """The store of `--data` / `--database-url` (else the environment's), migrated."""
    from platehub.core.store import Store

    return Store.open(_settings(args))


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from platehub import accesslog
    from platehub.app import create_app

    settings = _settings(args, host=args.host, port=args.port)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    # X-Forwarded-For/-Proto only from PLATEHUB_TRUSTED_PROXIES (uvicorn would trust loopback by default,
    # so anything on the host could pick its own client address and dodge the sign-in slow-down)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=args.log_level,
                            access_log=args.access_log, proxy_headers=bool(settings.trusted_proxies),
                            forwarded_allow_ips=list(settings.trusted_proxies) or None)
    accesslog.install()  # after uvicorn.Config set up its loggers: no credentials in log lines
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return 0 if server.started else 3  # uvicorn.run's exit status when the server could not start


def cmd_read(args: argparse.Namespace) -> int:
    """Recognise images locally and print the API's JSON (nothing is stored)."""
    import time

    from platehub.core.read import new_id, utcnow
    from platehub.core.recognition import Recognition
    from platehub.engine import Engine
    from platehub.engine.image import ImageError, decode
    from platehub.protocols.snapshot.codec import recognition_data
    from platehub.protocols.snapshot.request import BadRequest, engine_options

    try:
        options = engine_options(args.regions or [], args.config, args.mmc)
    except BadRequest as e:
        print(f"platehub read: {e}", file=sys.stderr)
        return 2
    engine = Engine.load()
    status = 0
    for path in args.images:
        try:
            data = Path(path).read_bytes()
            t0 = time.perf_counter()
            plates = engine.recognize(decode(data), options)
            ms = 1000 * (time.perf_counter() - t0)
        except (OSError, ImageError) as e:
            print(f"platehub read: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        now = utcnow()
        rec = Recognition(new_id(), now, now, args.camera_id, Path(path).name, round(ms, 3), tuple(plates), (),
                          options, 0)
        print(json.dumps(recognition_data(rec), ensure_ascii=False, indent=2 if args.pretty else None))
    return status


def _parse_time(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def cmd_reads(args: argparse.Namespace) -> int:
    from platehub.core.read import normalize_plate

    store = open_store(args)
    since = _parse_time(args.since) if args.since else None
    plate = normalize_plate(args.plate.replace("*", "\x00")).replace("\x00", "*") if args.plate else None
    reads = list(reversed(store.reads.find(plate=plate, since=since, limit=args.limit)))
    if args.export_crops:
        from platehub.training.data import export_reads

        count = export_reads(reads, store.images.load, args.export_crops, args.min_score)
        print(f"{count} plate crops with their text written to {args.export_crops} (labels.jsonl); review them, "
              f"then: platehub train --init ... --folder {args.export_crops}", file=sys.stderr)
        return 0
    for read in reads:
        print(json.dumps(asdict(read), default=_json_default, ensure_ascii=False))
    return 0


def _setting(store, what: str, **change) -> None:
    from platehub.core.eventlog import record_setting

    record_setting(store, what, user="cli", **change)


def cmd_token(args: argparse.Namespace) -> int:
    store = open_store(args)
    if args.action == "create":
        from platehub.core.accounts import AccountError, create_token

        try:
            token, secret = create_token(store, args.name, by="cli")
        except AccountError as e:
            print(f"platehub token: {e}", file=sys.stderr)
            return 2
        print(secret)
        print(f"token {token.id} '{token.name}' created; the key above is shown only now.", file=sys.stderr)
    elif args.action == "list":
        for t in store.tokens.list():
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            print(f"{t.id}\t{t.name}\t{t.prefix}…\t{state}\tlast used {used}")
    elif args.action == "revoke":
        from platehub.core.accounts import NoSuchAccount, revoke_token

        try:
            revoke_token(store, args.ident, by="cli")
        except NoSuchAccount as e:
            print(e, file=sys.stderr)
            return 1
        print(f"revoked {args.ident}")
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    from platehub.core.redact import redact_url
    from platehub.core.webhooks import WebhookError, add_webhook, remove_webhook

    store = open_store(args)
    if args.action == "add":
        try:
            hook = add_webhook(store, args.target, with_image=args.with_image, events=args.events, by="cli")
        except WebhookError as e:
            print(e, file=sys.stderr)
            return 2
        print(f"{hook.id}\t{redact_url(hook.target)}\t{hook.events}\t"
              f"{'with image' if hook.with_image else 'data only'}")
    elif args.action == "list":  # targets redacted: a password or key in a URL is not for the screen
        for h in store.webhooks.list():
            state = "enabled" if h.enabled else "DISABLED"
            err = f"\tlast error: {h.last_error}" if h.last_error else ""
            print(f"{h.id}\t{redact_url(h.target)}\t{h.events}\t{'with image' if h.with_image else 'data only'}"
                  f"\t{state}\tfailures {h.failures}{err}")
    elif args.action == "remove":
        if not remove_webhook(store, args.id, by="cli"):
            print(f"no webhook {args.id}", file=sys.stderr)
            return 1
        print(f"removed {args.id}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from platehub.core.devices import DeviceRegistry, SettingError
    from platehub.core.gate import policy_of

    settings = _settings(args)
    store = open_store(args)
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
        d = store.devices.add(args.code, args.protocol, args.name)
        _setting(store, f"device {args.code}", after={"added": args.protocol})
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
            device, before, after = DeviceRegistry(settings, store.devices, None).configure(args.code, values)
        except SettingError as e:
            print(f"platehub devices set: {e}", file=sys.stderr)
            return 2
        except KeyError as e:
            print(f"no device {e.args[0]!r} (platehub devices add registers one in advance)", file=sys.stderr)
            return 1
        _setting(store, f"device {args.code}", before=before, after=after)
        print(f"{device.code}: " + ", ".join(f"{k} {'default' if v is None else v}" for k, v in after.items()))
    elif args.action == "whitelist":
        from platehub.core.whitelist import WhitelistSync

        if args.reset:
            WhitelistSync(settings, store.camera_lists).reset(args.code)
            _setting(store, f"device {args.code} whitelist", after="reset")
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

        queue = CommandQueue(store.commands)
        queue.hand_opens.append(ParkingService(store, Bus()).opened_by_hand)  # an open by hand lets a vehicle in
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


def cmd_bench(args: argparse.Namespace) -> int:
    from platehub.bench import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="platehub", description="Self-hosted licence plate recognition server.")
    p.add_argument("--version", action="version", version=f"platehub {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_data(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--data", help="data directory (default: $PLATEHUB_DATA or ./data)")
        sp.add_argument("--database-url", help="database URL (default: SQLite in the data directory; "
                        "postgresql://user:pass@host/db for PostgreSQL)")
        return sp

    s = with_data(sub.add_parser("serve", help="run the server (all protocols on one port)",
                                 description="Run the platehub server."))
    s.add_argument("--host", default=None, help="address to listen on (default 0.0.0.0)")
    s.add_argument("--port", type=int, default=None, help="port (default 8080, the Snapshot SDK's)")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    s.add_argument("--access-log", action="store_true", help="log every HTTP request")
    s.set_defaults(func=cmd_serve)

    r = sub.add_parser("read", help="read plates in image files and print the API's JSON",
                       description="Recognise plates in local images; prints one Snapshot API JSON per image.")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--regions", action="append", help="region code (repeatable or comma-separated), e.g. ua")
    r.add_argument("--config", help='engine config JSON, e.g. \'{"mode":"fast"}\'')
    r.add_argument("--mmc", action="store_true", help="ask for make/model/colour (not available: see docs)")
    r.add_argument("--camera-id", default=None)
    r.add_argument("--pretty", action="store_true", help="indent the JSON")
    r.set_defaults(func=cmd_read)

    rd = with_data(sub.add_parser("reads", help="print stored reads as JSON lines",
                                  description="Stored reads from every door, oldest first, as JSON lines."))
    rd.add_argument("--plate", help="plate text (separators ignored; * as wildcard)")
    rd.add_argument("--since", help="ISO 8601 time, e.g. 2026-11-21T08:00:00Z")
    rd.add_argument("--limit", type=int, default=1000)
    rd.add_argument("--export-crops", type=Path, metavar="DIR",
                    help="instead of printing: write the reads' plate crops and a labels.jsonl to DIR, for "
                    "fine-tuning the plate reader (platehub train --folder DIR)")
    rd.add_argument("--min-score", type=float, default=0.0, help="with --export-crops: only reads scored at least this")
    rd.set_defaults(func=cmd_reads)

    t = sub.add_parser("token", help="manage Snapshot API tokens", description="Create, list and revoke API tokens.")
    tsub = t.add_subparsers(dest="action", required=True, metavar="ACTION")
    tc = with_data(tsub.add_parser("create", help="create a token and print it once"))
    tc.add_argument("name", help="a label, e.g. the client's name")
    with_data(tsub.add_parser("list", help="list tokens"))
    tr = with_data(tsub.add_parser("revoke", help="revoke a token by id, name or prefix"))
    tr.add_argument("ident")
    t.set_defaults(func=cmd_token)

    w = sub.add_parser("webhook", help="manage webhook targets", description="Add, list and remove webhook targets.")
    wsub = w.add_subparsers(dest="action", required=True, metavar="ACTION")
    wa = with_data(wsub.add_parser("add", help="add a target URL"))
    wa.add_argument("target", help="http(s) URL that receives a POST per recognition")
    wa.add_argument("--with-image", action="store_true", help="multipart with the image (`upload`) and `json`")
    wa.add_argument("--events", choices=["recognition", "alert"], default="recognition",
                    help="recognition: a POST per Snapshot API call (default); alert: a POST per gate alert "
                    "(deny-list or unknown vehicle)")
    with_data(wsub.add_parser("list", help="list targets and their health"))
    wr = with_data(wsub.add_parser("remove", help="remove a target"))
    wr.add_argument("id", type=int)
    w.set_defaults(func=cmd_webhook)

    dv = sub.add_parser("devices", help="list LPR sources (cameras and other senders)",
                        description="Devices that sent something: code, protocol, name, address, online state.")
    dsub = dv.add_subparsers(dest="action", required=True, metavar="ACTION")
    with_data(dsub.add_parser("list", help="list devices and their gate policy"))
    code_help = "device code (all-in-one serial number, FF sensor id, push src)"
    da = with_data(dsub.add_parser("add", help="register a device before it first calls (to configure it)"))
    da.add_argument("code", help=code_help)
    da.add_argument("--protocol", default="allinone", help="allinone, ffjson, push … (default allinone)")
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

    from platehub.core.store.devices import COMMAND_KINDS

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

    from platehub.cli_channels import add_parser as add_channels
    from platehub.cli_lists import add_parser as add_lists
    from platehub.cli_parking import add_parser as add_parking
    from platehub.cli_retention import add_parser as add_retention
    from platehub.cli_users import add_parser as add_users
    from platehub.simulator import add_parsers as add_simulator
    from platehub.training.cli import add_parser as add_train

    add_users(sub)
    add_lists(sub)
    add_parking(sub)
    add_retention(sub)
    add_channels(sub)
    add_simulator(sub)
    add_train(sub)

    b = sub.add_parser("bench", help="measure accuracy and speed on a manifest",
                       description="Accuracy (exact, within one edit, detection recall) per country, and speed "
                       "(median/p90 ms per image; calls per second with N concurrent HTTP clients).")
    b.add_argument("manifest", type=Path, help="JSON lines as ../shared/data/plates-dev/manifest.jsonl")
    b.add_argument("--crops", type=Path, help="JSON lines of plate crops (default: crops-cn.jsonl beside the "
                   "manifest, when present)")
    b.add_argument("--regions", default="country",
                   help="'country' (each image's own country, as a deployment would configure), "
                   "'none', or codes (default: country)")
    b.add_argument("--mode", default="regular", choices=["regular", "fast", "redaction"])
    b.add_argument("--threshold-o", type=float, default=0.0,
                   help="OCR score floor for the accuracy run (default 0: every detected plate is read and "
                   "counts for detection recall; the API's own default is 0.6)")
    b.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients for the speed test")
    b.add_argument("--calls", type=int, default=50, help="calls per size and mode in the speed test (default 50)")
    b.add_argument("--image", type=Path, help="street image for the speed test, resized to each size (default: "
                   "the manifest's largest photo, cropped to each aspect)")
    b.add_argument("--modes", default="regular,fast", help="modes of the speed test (default regular,fast)")
    b.add_argument("--sizes", default="800x600,1280x720,1920x1080,2560x1440",
                   help="image sizes for the speed table ('' to skip)")
    b.add_argument("--skip", default="", help="comma-separated parts to skip: accuracy,crops,speed")
    b.add_argument("--json", type=Path, help="also write all figures to this file")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
