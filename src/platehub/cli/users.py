"""`platehub user`: the accounts that sign in to TS-API (push, later search and the console).

Hooked into `platehub` by cli/__init__.py (`add_parser(sub)`)."""

from __future__ import annotations

import argparse
import getpass
import sys

from platehub.cli.common import open_store, with_data
from platehub.core.accounts import AccountError, NoSuchAccount, check_login, parse_rights
from platehub.core.accounts import add_user as _add_user
from platehub.core.accounts import remove_user as _remove_user
from platehub.core.accounts import set_password as _set_password
from platehub.core.store.accounts import RIGHTS

UsageError = AccountError  # the CLI's name for a refused change


def read_password(given: str | None) -> str:
    """--password, else a prompt (twice) on a terminal, else the first line of stdin."""
    if given is not None:
        password = given
    elif sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("the password is empty")
    if len(password) < 8:
        print("platehub user: warning: a password shorter than 8 characters is easy to guess", file=sys.stderr)
    return password


def _store(args: argparse.Namespace):
    return open_store(args)


def user_add(args: argparse.Namespace) -> int:
    login = check_login(args.login)
    rights = parse_rights(args.rights)
    store = _store(args)
    if store.users.get(login) is not None:
        raise UsageError(f"user {login!r} exists already (change the password with `platehub user passwd`)")
    user = _add_user(store, login, read_password(args.password), admin=args.admin, rights=rights, by="cli")
    print(f"user {user.login} added{' (admin)' if user.is_admin else ''}"
          f"{': ' + ','.join(user.rights) if user.rights else ''}")
    return 0


def user_list(args: argparse.Namespace) -> int:
    for u in _store(args).users.list():
        rights = "all rights" if u.is_admin else (",".join(u.rights) or "no rights")
        print(f"{u.login}\t{'admin' if u.is_admin else 'user'}\t{rights}")
    return 0


def user_remove(args: argparse.Namespace) -> int:
    try:
        user = _remove_user(_store(args), args.login, by="cli")
    except NoSuchAccount:
        print(f"platehub user: no user {args.login!r}", file=sys.stderr)
        return 1
    print(f"user {user.login} removed")
    return 0


def user_passwd(args: argparse.Namespace) -> int:
    store = _store(args)
    if store.users.get(args.login) is None:
        print(f"platehub user: no user {args.login!r}", file=sys.stderr)
        return 1
    _set_password(store, args.login, read_password(args.password), by="cli")
    print(f"password of {args.login} changed")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return args.user_func(args)
    except UsageError as e:
        print(f"platehub user: {e}", file=sys.stderr)
        return 2


def add_parser(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("user", help="manage user accounts (TS-API sign-in: push, search)",
                       description="Add, list and remove users, and change their passwords. Users sign in to "
                       "TS-API with HTTP Basic or auth= (base64 of user:password).")
    usub = u.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str, func) -> argparse.ArgumentParser:
        p = with_data(usub.add_parser(name, help=help, description=help[0].upper() + help[1:] + "."))
        p.set_defaults(user_func=func)
        return p

    a = action("add", "add a user", user_add)
    a.add_argument("login")
    a.add_argument("--password", help="the password (default: asked on the terminal, or read from stdin)")
    a.add_argument("--admin", action="store_true", help="an administrator (all rights)")
    a.add_argument("--rights", help=f"comma-separated TS-API rights: {','.join(RIGHTS)}")
    action("list", "list users and their rights", user_list)
    r = action("remove", "remove a user", user_remove)
    r.add_argument("login")
    pw = action("passwd", "change a user's password", user_passwd)
    pw.add_argument("login")
    pw.add_argument("--password", help="the new password (default: asked on the terminal, or read from stdin)")
    u.set_defaults(func=run)

