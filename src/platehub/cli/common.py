"""What every command group of `platehub` shares: its settings and its store, from `--data` / `--database-url`."""

from __future__ import annotations

import argparse
from pathlib import Path

from platehub.config import Settings, flag_help


def settings_from(args: argparse.Namespace, **extra) -> Settings:
    return Settings.from_env(
        data_dir=Path(args.data) if getattr(args, "data", None) else None,
        database_url=getattr(args, "database_url", None),
        **extra,
    )


def open_store(args: argparse.Namespace):
    """The store of `--data` / `--database-url` (else the environment's), migrated."""
    from platehub.core.store import Store

    return Store.open(settings_from(args))


def with_data(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`--data` and `--database-url` on a command that opens the store."""
    sp.add_argument("--data", help=flag_help("--data"))
    sp.add_argument("--database-url", help=flag_help("--database-url"))
    return sp
