"""`platehub simulate`: spec-exact camera traffic with real images, to test a server or a setup.

Each protocol's simulator is a module with `add_parser(subparsers)` registering its sub-command."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from platehub.simulator import allinone, ff, push

    p = sub.add_parser("simulate", help="send camera traffic to a server (FF JSON, all-in-one, TS-API push)",
                       description="Send spec-exact camera traffic with real images to a platehub (or any) server.")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="PROTOCOL")
    for module in (ff, allinone, push):
        module.add_parser(kinds)
