"""Plate search: substring search on the normalised plate, and reads by source and time.

SQLite: `plate_index` holds every distinct normalised plate (INTEGER PRIMARY KEY: stable across
VACUUM), kept by triggers on `reads`, with an FTS5 trigram index over it (`plate_fts`, SQLite >= 3.34).
PostgreSQL: a pg_trgm GIN index on `reads.plate` (skipped with a warning when the extension cannot
be created; the search still works, by scanning).

Revision ID: 0004
Revises: 0003
"""

import logging
import sqlite3

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("platehub.store")

SQLITE_TRIGRAM = (3, 34, 0)
# look-alike characters → their group's digit (as core/similar.py's canonical(), frozen here)
LOOK_ALIKES = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "B": "8", "S": "5", "Z": "2", "G": "6",
               "T": "7", "A": "4"}


def canonical_sql(expr: str) -> str:
    for src, dst in LOOK_ALIKES.items():
        expr = f"replace({expr}, '{src}', '{dst}')"
    return expr


def _sqlite_upgrade(bind) -> None:
    version = tuple(int(p) for p in sqlite3.sqlite_version.split(".")[:3])
    # canon: the plate with look-alikes merged; tail: canon without its first character (similar plates)
    op.execute("CREATE TABLE plate_index (id INTEGER PRIMARY KEY, plate VARCHAR(32) NOT NULL UNIQUE, "
               "canon VARCHAR(32), tail VARCHAR(32))")
    op.execute("CREATE INDEX ix_plate_index_canon ON plate_index (canon)")
    op.execute("CREATE INDEX ix_plate_index_tail ON plate_index (tail)")
    if version >= SQLITE_TRIGRAM:
        op.execute("CREATE VIRTUAL TABLE plate_fts USING fts5(plate, content='plate_index', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute("CREATE TRIGGER plate_index_ai AFTER INSERT ON plate_index BEGIN "
                   "INSERT INTO plate_fts(rowid, plate) VALUES (new.id, new.plate); END")
        op.execute("CREATE TRIGGER plate_index_ad AFTER DELETE ON plate_index BEGIN "
                   "INSERT INTO plate_fts(plate_fts, rowid, plate) VALUES ('delete', old.id, old.plate); END")
    else:
        log.warning("SQLite %s has no FTS5 trigram tokenizer (>= 3.34): plate search scans", sqlite3.sqlite_version)
    canon = canonical_sql("new.plate")
    add = f"INSERT OR IGNORE INTO plate_index(plate, canon, tail) VALUES (new.plate, {canon}, substr({canon}, 2))"
    op.execute(f"CREATE TRIGGER reads_plate_ai AFTER INSERT ON reads BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER reads_plate_au AFTER UPDATE OF plate ON reads BEGIN {add}; END")
    canon = canonical_sql("plate")
    op.execute(f"INSERT OR IGNORE INTO plate_index(plate, canon, tail) SELECT plate, {canon}, substr({canon}, 2) "
               "FROM (SELECT DISTINCT plate FROM reads)")


def _postgres_upgrade(bind) -> None:
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except DBAPIError as e:
        log.warning("pg_trgm is not available (%s): plate search scans", str(e).splitlines()[0])
        return
    op.execute("CREATE INDEX ix_reads_plate_trgm ON reads USING gin (plate gin_trgm_ops)")


def _postgres_canon_indexes() -> None:
    """Canonical forms for similar plates: expression indexes (the query repeats the expressions)."""
    canon = f"translate(plate, '{''.join(LOOK_ALIKES)}', '{''.join(LOOK_ALIKES.values())}')"
    op.execute(f"CREATE INDEX ix_reads_plate_canon ON reads (({canon}) text_pattern_ops)")
    op.execute(f"CREATE INDEX ix_reads_plate_tail ON reads ((substr({canon}, 2)) text_pattern_ops)")


def upgrade() -> None:
    bind = op.get_bind()
    op.create_index("ix_reads_source_first_seen", "reads", ["source", "first_seen"])
    if bind.dialect.name == "sqlite":
        _sqlite_upgrade(bind)
    elif bind.dialect.name == "postgresql":
        _postgres_canon_indexes()
        _postgres_upgrade(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("reads_plate_au", "reads_plate_ai", "plate_index_ad", "plate_index_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS plate_fts")
        op.execute("DROP TABLE IF EXISTS plate_index")
    elif bind.dialect.name == "postgresql":
        for index in ("ix_reads_plate_trgm", "ix_reads_plate_canon", "ix_reads_plate_tail"):
            op.execute(f"DROP INDEX IF EXISTS {index}")
    op.drop_index("ix_reads_source_first_seen", "reads")
