"""`platehub webhook`: webhook targets — add, list (URLs redacted), remove (core/webhooks.py)."""

from __future__ import annotations

import argparse
import sys

from platehub.cli.common import open_store, with_data


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


def add_parser(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("webhook", help="manage webhook targets", description="Add, list and remove webhook targets.")
    wsub = w.add_subparsers(dest="action", required=True, metavar="ACTION")
    wa = with_data(wsub.add_parser("add", help="add a target URL"))
    wa.add_argument("target", help="http(s) URL that receives a POST per recognition")
    wa.add_argument("--with-image", action="store_true", help="multipart with the image (`upload`) and `json`")
    wa.add_argument("--events", choices=["recognition", "alert"], default="recognition",
                    help="recognition: a POST per Snapshot API call; alert: a POST per gate alert (deny-list or "
                    "unknown vehicle) (default %(default)s)")
    with_data(wsub.add_parser("list", help="list targets and their health"))
    wr = with_data(wsub.add_parser("remove", help="remove a target"))
    wr.add_argument("id", type=int)
    w.set_defaults(func=cmd_webhook)
