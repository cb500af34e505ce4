"""Placeholder: the push simulator is being written (issue 3)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("platehub simulate push: not available yet", file=sys.stderr)
    return 2


def add_parser(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("push", help="push traffic (not available yet)", description="push traffic.")
    p.add_argument("--to", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    p.set_defaults(func=run)
