"""Placeholder: the ff simulator is being written (issue 3)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("platehub simulate ff: not available yet", file=sys.stderr)
    return 2


def add_parser(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("ff", help="ff traffic (not available yet)", description="ff traffic.")
    p.add_argument("--to", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    p.set_defaults(func=run)
