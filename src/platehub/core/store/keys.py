"""Server keys: secrets every platehub process of a site shares (table `server_keys`), each made once by
the first process that asks for it; the others, later or at the same moment, read that one."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, select

from platehub.core.store.database import insert_ignore
from platehub.core.store.schema import server_keys


class KeyRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def key(self, name: str, size: int = 32) -> bytes:
        """The site's key `name` (random bytes, made now if there is none yet)."""
        with self.engine.begin() as conn:
            conn.execute(insert_ignore(self.engine, server_keys), [{"name": name, "value": secrets.token_bytes(size)}])
            return bytes(conn.execute(select(server_keys.c.value).where(server_keys.c.name == name)).scalar_one())
