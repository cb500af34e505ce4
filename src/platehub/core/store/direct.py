"""Point reads on the ingest path, straight through the database driver.

Every pushed read asks the store the same few small questions (its device's row, whether the lists
changed, whether the device has commands waiting). Through SQLAlchemy each costs 35-60 µs of Python
(a pooled connection checked out and reset, the statement's result machinery); through the driver
2-13 µs (measured one thread at a time). On SQLite each thread keeps a connection of its own for them
(in WAL mode a reader sees every commit made before its statement, as a pooled connection would); on
PostgreSQL they go through a pooled connection as plain SQL.

Rows come back as named tuples with SQLite's raw values (datetimes as text, JSON as text, booleans as
0/1): the repositories' row readers take both (`database.as_utc`, `database.as_json`)."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import namedtuple
from typing import Any

from sqlalchemy import Engine

from platehub.core.store.database import BUSY_TIMEOUT, sqlite_path


class _Reader(sqlite3.Connection):
    """A thread's connection (a subclass: weak references to it are allowed)."""


class DirectReads:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._path = sqlite_path(engine)
        self._local = threading.local()
        self._opened: weakref.WeakSet[_Reader] = weakref.WeakSet()  # closed with the store (or their thread)
        self._guard = threading.Lock()
        self._shapes: dict[tuple[str, ...], type] = {}

    def rows(self, sql: str, params: tuple = ()) -> list[Any]:
        """The rows of a SELECT written with `?` placeholders, as named tuples."""
        if self._path is None:
            with self.engine.connect() as conn:
                return list(conn.exec_driver_sql(sql.replace("?", "%s"), params))
        cur = self._connection().execute(sql, params)
        names = tuple(d[0] for d in cur.description)
        shape = self._shapes.get(names)
        if shape is None:
            shape = self._shapes.setdefault(names, namedtuple("Row", names))  # type: ignore[misc]
        return [shape._make(r) for r in cur.fetchall()]

    def value(self, sql: str, params: tuple = ()) -> Any:
        """The first column of the first row (None: no row)."""
        if self._path is None:
            rows = self.rows(sql, params)
            return rows[0][0] if rows else None
        row = self._connection().execute(sql, params).fetchone()
        return row[0] if row else None

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT, check_same_thread=False, factory=_Reader,
                                   isolation_level=None)  # autocommit: no transaction keeps an old snapshot
            with self._guard:
                self._opened.add(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        with self._guard:
            opened, self._opened = list(self._opened), weakref.WeakSet()
        for conn in opened:
            conn.close()
