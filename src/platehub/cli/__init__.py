"""The `platehub` command: one module per command group, each with its handlers and an `add_parser(sub)`;
common.py holds what they share (settings and store from `--data` / `--database-url`)."""

from __future__ import annotations

import argparse

from platehub import __version__
from platehub.cli import (
    bench,
    channels,
    commands,
    devices,
    lists,
    parking,
    reads,
    retention,
    serve,
    tokens,
    users,
    webhooks,
)
from platehub.simulator import add_parsers as add_simulator
from platehub.training.cli import add_parser as add_train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="platehub", description="Self-hosted licence plate recognition server.")
    p.add_argument("--version", action="version", version=f"platehub {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (serve, reads, tokens, webhooks, devices, commands, users, lists, parking, retention, channels):
        group.add_parser(sub)
    add_simulator(sub)
    add_train(sub)
    bench.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0
