"""`platehub token`: Snapshot API tokens — create (shown once), list, revoke (core/accounts.py)."""

from __future__ import annotations

import argparse
import sys

from platehub.cli.common import open_store, with_data


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


def add_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("token", help="manage Snapshot API tokens", description="Create, list and revoke API tokens.")
    tsub = t.add_subparsers(dest="action", required=True, metavar="ACTION")
    tc = with_data(tsub.add_parser("create", help="create a token and print it once"))
    tc.add_argument("name", help="a label, e.g. the client's name")
    with_data(tsub.add_parser("list", help="list tokens"))
    tr = with_data(tsub.add_parser("revoke", help="revoke a token by id, name or prefix"))
    tr.add_argument("ident")
    t.set_defaults(func=cmd_token)
