"""A secret key kept in the data directory, the same for every process that shares it (`platehub serve
--workers N`, several hosts on one volume): made once, atomically (written under a name of its own,
fsynced, then hard-linked to its final name, which fails if another process got there first), then read."""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

from platehub.core.store.database import sync_dir

SIZE = 32


@functools.cache
def shared_key(path: Path) -> bytes:
    """The key in `path` (created with SIZE random bytes, mode 0600, when it does not exist)."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    mine = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(mine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(SIZE))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(mine, path)  # atomic, on NFS too; FileExistsError: another process made it first
        sync_dir(path.parent)
    except FileExistsError:
        pass
    finally:
        mine.unlink()
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != SIZE:
        raise RuntimeError(f"{path}: not a {SIZE}-byte key; remove it and restart to make a new one")
    return key
