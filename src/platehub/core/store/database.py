"""Database engine creation and migrations (SQLite in WAL mode by default, PostgreSQL by URL).

SQLite takes one writer at a time. Writers of this process queue on a lock taken at a transaction's
first write statement and released when it ends (`_Connection`), instead of sleeping in SQLite's busy
handler (whose back-off sleeps 1 to 100 ms); other processes (the CLI) still meet the busy timeout.

Durability (SQLite): commits are written to the WAL without an fsync each (`synchronous=NORMAL`); a
caller that is about to acknowledge data calls `WalSync.wait`, which returns once an fdatasync of
the WAL that started after the call has completed: every commit made before the call is then on
disk, as with `synchronous=FULL`, but one fsync serves every request waiting at that moment (group
commit). PostgreSQL commits are durable by themselves (`synchronous_commit=on`, its default)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, insert, text

MIGRATIONS = Path(__file__).with_name("migrations")


def connect(url: str) -> Engine:
    """An engine for `url`; `postgresql://` URLs use psycopg 3."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                                  "factory": _connection_class(threading.Lock())})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
BUSY_TIMEOUT = 30.0  # seconds, as SQLite's busy_timeout


def _connection_class(lock: threading.Lock) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose transactions hold `lock` (one per database) from their first
    write statement to their commit or rollback."""

    class _Cursor(sqlite3.Cursor):
        def execute(self, sql, parameters=(), /):
            self.connection._before(sql)
            return super().execute(sql, parameters)

        def executemany(self, sql, seq_of_parameters, /):
            self.connection._before(sql)
            return super().executemany(sql, seq_of_parameters)

    class _Connection(sqlite3.Connection):
        _writing = False

        def _before(self, sql: str) -> None:
            if not self._writing and sql.lstrip()[:7].upper().startswith(_WRITES):
                if not lock.acquire(timeout=BUSY_TIMEOUT):
                    raise sqlite3.OperationalError("database is locked (by a writer of this process)")
                self._writing = True

        def _release(self) -> None:
            if self._writing:
                self._writing = False
                lock.release()

        def cursor(self, factory=_Cursor):
            return super().cursor(factory)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._release()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._release()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._release()

    return _Connection


class WalSync:
    """Group fsync of a SQLite database's WAL (see the module docstring). Callers sync themselves:
    the first waiter runs the fdatasync, the ones arriving meanwhile wait for the next one."""

    def __init__(self, db_path: Path, also: Callable[[], None] | None = None) -> None:
        """`also`: more syncing to do in each group fsync, before the WAL's (image file names)."""
        self.wal = Path(f"{db_path}-wal")
        self._also = also
        self._cond = threading.Condition()
        self._started = 0  # fsyncs started
        self._done = 0  # the newest completed fsync (by start order)
        self._syncing = False
        self._inode: int | None = None

    def wait(self) -> None:
        """Return when everything committed before this call is on disk."""
        with self._cond:
            target = self._started + 1  # a sync in progress may have begun before our commit
            while self._done < target:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                self._started += 1
                number = self._started
                self._cond.release()
                try:
                    self._fsync()
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                self._done = number

    def _fsync(self) -> None:
        if self._also is not None:
            self._also()
        try:
            fd = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:  # no WAL: the last connection closed and checkpointed it (synced)
            return
        try:
            os.fdatasync(fd)
            inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        if inode != self._inode:  # a new WAL file: its directory entry must be durable too
            sync_dir(self.wal.parent)
            self._inode = inode


class Durability:
    """What a thread owes before it acknowledges. `sync` makes everything committed and saved so far
    durable (the group fsync: `WalSync.wait`, the image directories). A thread that commits or saves an
    image is `touched`; `wait` syncs only for a touched thread. The group commit (`batch.BatchWriter`)
    syncs after each batch's commit, before it wakes the batch's threads, and so `covers` them: their
    reads are durable when stored, and the ingest's `Store.durable` costs them no second wait."""

    def __init__(self, sync: Callable[[], None]) -> None:
        self.sync = sync
        self._local = threading.local()

    def touched(self) -> None:
        self._local.owed = True

    def covered(self) -> None:
        """This thread's writes so far were made durable (by a sync that started after them)."""
        self._local.owed = False

    def wait(self) -> None:
        if getattr(self._local, "owed", False):
            self.sync()
            self._local.owed = False


def sync_dir(path: Path) -> None:
    """fsync a directory, so the names created or renamed in it survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None for other databases and in-memory SQLite)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration's revision id."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head() or ""


MIGRATE_LOCK = 0x706C617465687562  # "platehub": the PostgreSQL advisory lock key of `migrate`


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision. On PostgreSQL, processes starting at once (`platehub serve
    --workers N`, several hosts) take turns on an advisory lock held to the migration's commit: the first
    migrates, the others then find the schema at head (PostgreSQL's DDL is transactional)."""
    cfg = _config()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def insert_ignore(engine: Engine, table):
    """An INSERT that skips rows violating a unique constraint (SQLite and PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return insert(table)


class DriverInsert:
    """`INSERT … ON CONFLICT DO NOTHING RETURNING <key>` into `table`, compiled once for the engine's
    dialect and run on the driver's cursor of the caller's connection (in its transaction), with the
    columns' own bind processors. For the rows of every stored read (a read, its decision): through
    `Connection.execute` SQLAlchemy's per-statement parameter and result work cost more than SQLite's."""

    def __init__(self, engine: Engine, table, key) -> None:
        names = [c.name for c in table.c]
        stmt = insert_ignore(engine, table).values({n: bindparam(n) for n in names}).returning(key)
        compiled = stmt.compile(dialect=engine.dialect)
        self.sql = compiled.string
        self.positional = compiled.positional
        order = list(compiled.positiontup) if compiled.positional else names
        self._columns = [(n, table.c[n].type.dialect_impl(engine.dialect).bind_processor(engine.dialect))
                         for n in order]

    def run(self, conn: Connection, row: Mapping[str, Any]) -> bool:
        """Insert `row` (every column); False when a unique key already holds it."""
        values = [row[n] if convert is None or row[n] is None else convert(row[n]) for n, convert in self._columns]
        cur = conn.connection.cursor()
        try:
            cur.execute(self.sql, values if self.positional else dict(zip((n for n, _ in self._columns), values)))
            return cur.fetchone() is not None
        finally:
            cur.close()


def as_json(value: Any) -> Any:
    """A JSON column's value: SQLite's driver hands back its text (`direct.DirectReads`)."""
    return json.loads(value) if isinstance(value, str) else value


def as_utc(value: datetime | str | None) -> datetime | None:
    """SQLite hands back naive datetimes (as text through the driver: `direct.DirectReads`); everything
    platehub stores is UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
