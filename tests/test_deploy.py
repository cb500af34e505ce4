"""Several platehub processes on one PostgreSQL (issue 14): the first start of N processes at once
(migrations and the `admin` user), `platehub serve --workers N` and its refusals, and the real deployment
of `deploy/`: Debian's HAProxy with deploy/haproxy.cfg in front of two `platehub serve` processes on one
PostgreSQL and one Redis (requests reach both, a TS-API WebSocket opens through it)."""

from __future__ import annotations

import subprocess
import sys
import uuid

from sqlalchemy import create_engine, text

FIRST_START = """
import sys
from pathlib import Path
from platehub.core.accounts import ensure_admin
from platehub.core.store import Store
store = Store(sys.argv[1], Path(sys.argv[2]))
print("created" if ensure_admin(store) else "found")
"""


def fresh_database(pg_url: str) -> str:
    """A new, empty database on the module's PostgreSQL server; its URL."""
    name = "fresh_" + uuid.uuid4().hex[:12]
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return pg_url.rsplit("/", 1)[0] + "/" + name


def test_processes_starting_at_once_on_a_new_database_migrate_once_and_make_one_admin(pg_url, tmp_path):
    for _ in range(2):  # the race is timing-dependent: two rounds of four processes
        url = fresh_database(pg_url)
        procs = [subprocess.Popen([sys.executable, "-c", FIRST_START, url, str(tmp_path / "images")],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(p.wait(120), p.stdout.read().strip(), p.stderr.read()) for p in procs]
        assert [r[0] for r in results] == [0] * 4, [r[2][-600:] for r in results if r[0]]
        assert sorted(r[1] for r in results) == ["created", "found", "found", "found"]
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users WHERE login = 'admin'")).scalar_one() == 1
        engine.dispose()
