"""Several platehub processes on one PostgreSQL (issue 14): the first start of N processes at once
(migrations and the `admin` user), `platehub serve --workers N` and its refusals, and the real deployment
of `deploy/`: Debian's HAProxy with deploy/haproxy.cfg in front of two `platehub serve` processes on one
PostgreSQL and one Redis (requests reach both, a TS-API WebSocket opens through it)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from helpers import Server
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


# ---------------------------------------------------------------- platehub serve --workers N


def serve(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PLATEHUB_")} | env
    return subprocess.run([sys.executable, "-m", "platehub.cli", "serve", *args], env=environ, capture_output=True,
                          text=True, timeout=60)


def test_several_workers_need_redis_and_postgresql(tmp_path):
    data = str(tmp_path / "data")
    alone = serve("--workers", "2", "--data", data)
    assert alone.returncode == 2 and alone.stdout == ""
    assert alone.stderr.count("\n") == 1 and alone.stderr.startswith("platehub serve: --workers 2 needs ")
    assert "PLATEHUB_REDIS_URL and a PostgreSQL PLATEHUB_DATABASE_URL" in alone.stderr
    no_redis = serve("--workers", "3", "--data", data, "--database-url", "postgresql://u@127.0.0.1:1/x")
    assert no_redis.returncode == 2 and "needs PLATEHUB_REDIS_URL:" in no_redis.stderr
    no_postgres = serve("--workers", "2", "--data", data, PLATEHUB_REDIS_URL="redis://127.0.0.1:1/0")
    assert no_postgres.returncode == 2 and "needs a PostgreSQL PLATEHUB_DATABASE_URL:" in no_postgres.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was opened
    zero = serve("--workers", "0", "--data", data)
    assert zero.returncode == 2 and "--workers: 0: at least 1" in zero.stderr


def test_serve_help_explains_several_processes():
    text = " ".join(serve("--help").stdout.split())
    assert "--workers N" in text and "N > 1 needs PLATEHUB_REDIS_URL and PostgreSQL" in text
    assert "Not PLATEHUB_WORKERS" in text and "docs/deployment.md" in text


def workers_of(pid: int) -> set[int]:
    """The uvicorn worker processes (multiprocessing spawn children) of a `platehub serve --workers N`."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def test_workers_serve_one_port_and_a_killed_one_is_replaced(pg_url, redis_url, tmp_path):
    srv = Server(tmp_path / "data", PLATEHUB_DATABASE_URL=fresh_database(pg_url), PLATEHUB_REDIS_URL=redis_url,
                 PLATEHUB_ADMIN_PASSWORD="")  # a generated password, printed once
    srv.serve_args = ("--workers", "2")
    srv.start()
    try:
        first = workers_of(srv.proc.pid)
        assert len(first) == 2, first
        created = re.findall(r"created user 'admin' with password: (\S+)", srv.log.read_text())
        assert len(created) == 1, srv.log.read_text()
        os.kill(min(first), signal.SIGKILL)
        deadline = time.time() + 120
        while len(now := workers_of(srv.proc.pid)) < 2 or min(first) in now:
            assert time.time() < deadline, "the killed worker was not replaced"
            assert httpx.get(srv.url + "/api/info?apiVersion", timeout=10).status_code == 200  # the other serves
            time.sleep(0.5)
        assert max(first) in now and len(now) == 2
        for _ in range(4):  # whichever process answers knows the printed password
            r = httpx.get(srv.url + "/api/info?whoAmI", auth=("admin", created[0]), timeout=30)
            assert r.status_code == 200 and r.json()["whoAmI"]["uid"] == "admin", r.text
    finally:
        srv.stop()
    assert workers_of_gone(first | now)


def workers_of_gone(pids: set[int]) -> bool:
    return not any(Path(f"/proc/{p}").exists() for p in pids)
