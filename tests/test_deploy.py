"""Several platehub processes on one PostgreSQL (issue 14): the first start of N processes at once
(migrations and the `admin` user), `platehub serve --workers N` and its refusals, and the real deployment
of `deploy/`: Debian's HAProxy with deploy/haproxy.cfg in front of two `platehub serve` processes on one
PostgreSQL and one Redis (requests reach both, a TS-API WebSocket opens through it)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import Server, next_event
from sqlalchemy import create_engine, text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from platehub.simulator.daemons import HAPROXY_CFG, Balancer, balancer_env

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
        # no PLATEHUB_ADMIN_PASSWORD (other tests of the session may have set one): a generated password
        # is what the one process that creates the admin returns
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PLATEHUB_")}
        procs = [subprocess.Popen([sys.executable, "-c", FIRST_START, url, str(tmp_path / "images")], env=environ,
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
    data, elsewhere = tmp_path / "data", tmp_path / "not-this"
    srv = Server(elsewhere, PLATEHUB_DATABASE_URL=fresh_database(pg_url), PLATEHUB_REDIS_URL=redis_url,
                 PLATEHUB_ADMIN_PASSWORD="")  # a generated password, printed once
    srv.serve_args = ("--workers", "2", "--data", str(data), "--access-log")  # the flag beats PLATEHUB_DATA
    first = now = set()
    try:
        srv.start()
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
        auth = base64.b64encode(f"admin:{created[0]}".encode()).decode()
        for _ in range(4):  # whichever process answers knows the printed password
            r = httpx.get(srv.url + "/api/info", params={"whoAmI": "", "auth": auth}, timeout=30)
            assert r.status_code == 200 and r.json()["whoAmI"]["uid"] == "admin", r.text
    finally:
        if getattr(srv, "proc", None) is not None:
            srv.stop()
    assert workers_of_gone(first | now)
    log = srv.log.read_text()
    assert log.count(f"ready: data in {data}") >= 2 and f"data in {elsewhere}" not in log  # the flag reached them
    assert log.count("GET /api/info?whoAmI=&auth=*** HTTP") == 4, log  # each worker's access log masks it


def workers_of_gone(pids: set[int], timeout: float = 30.0) -> bool:
    """Whether every one of `pids` has ended within `timeout` (the supervisor's workers end as it does, on
    a loaded machine a few seconds after; a zombie waiting to be reaped has ended)."""
    deadline = time.time() + timeout
    while any(_running(p) for p in pids):
        if time.time() > deadline:
            return False
        time.sleep(0.2)
    return True


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


# ---------------------------------------------------------------- deploy/haproxy.cfg, for real

HAPROXY = "/usr/sbin/haproxy"
CONFIG = HAPROXY_CFG
ADMIN = ("admin", "admin-test")


def test_the_haproxy_config_is_valid_and_needs_its_servers():
    env = balancer_env("127.0.0.1:1", ["10.0.0.11:8080", "10.0.0.12:8080"])
    ok = subprocess.run([HAPROXY, "-c", "-f", str(CONFIG)], env=env, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    del env["LB_SERVER_2"]
    missing = subprocess.run([HAPROXY, "-c", "-f", str(CONFIG)], env=env, capture_output=True, text=True, timeout=30)
    assert missing.returncode != 0 and "server" in missing.stdout + missing.stderr


@pytest.fixture(scope="module")
def cluster(pg_url, redis_url, tmp_path_factory):
    """Two `platehub serve` processes (one PostgreSQL, one Redis, one image directory as on a shared volume)
    behind Debian's HAProxy running deploy/haproxy.cfg as it is."""
    from platehub.core.store import Store

    root = tmp_path_factory.mktemp("cluster")
    url = fresh_database(pg_url)
    # the admin made first: app.py's own ensure_admin is not yet the insert-if-missing one (core.accounts), so
    # two processes starting at once on a new database could both try to create it
    store = Store(url, root / "data" / "images")
    store.users.create_if_missing("admin", ADMIN[1], is_admin=True)
    store.close()
    servers = [Server(root / "data", PLATEHUB_DATABASE_URL=url, PLATEHUB_REDIS_URL=redis_url,
                      PLATEHUB_TRUSTED_PROXIES="127.0.0.1") for _ in range(2)]
    for s in servers:
        s.serve_args = ("--access-log",)
    lb = None
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(Server.start, servers))
        lb = Balancer([s.url for s in servers]).start()  # deploy/haproxy.cfg as it is (two servers)
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(lb.url + "/api/info?apiVersion", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, (lb.root / "log").read_text()
            time.sleep(0.2)
        yield lb.url, servers
    finally:  # also when a start failed: nothing is left running
        if lb is not None:
            lb.close()
        for s in servers:
            if getattr(s, "proc", None) is not None:
                s.stop()


def test_requests_through_the_balancer_reach_both_processes(cluster):
    lb_url, servers = cluster
    marker = uuid.uuid4().hex
    for _ in range(12):  # a connection each: HAProxy picks a server per request
        r = httpx.get(f"{lb_url}/info/?probe={marker}", timeout=30)
        assert r.status_code == 200 and r.json()["version"], r.text
    time.sleep(0.5)
    hits = [s.log.read_text().count(marker) for s in servers]
    assert sum(hits) == 12 and min(hits) >= 3, hits  # leastconn with idle servers: turn by turn


def test_a_tsapi_websocket_opens_through_the_balancer_and_carries_events(cluster):
    lb_url, servers = cluster
    auth = base64.b64encode(b"admin:admin-test").decode()
    ws_url = lb_url.replace("http://", "ws://") + f"/wsapi/subscribeEvents?topics=LPR&auth={auth}"
    with connect(ws_url, open_timeout=20) as ws:
        hello = json.loads(ws.recv(timeout=20))
        assert hello["topics"] == ["LPR"] and hello["subscriberId"]
        plates = {}
        for i, s in enumerate(servers):  # one read pushed to each process directly
            plates[f"LB{i}{uuid.uuid4().hex[:4].upper()}"] = s
        for plate, s in plates.items():
            r = httpx.post(s.url + "/api/push", json={"topic": "LPR", "src": "LB-GATE", "plateNo": plate,
                                                      "when": "2024-05-06T07:08:09Z"}, auth=ADMIN, timeout=30)
            assert r.status_code == 200, r.text
        # the socket's own process always sends its read; the other's once the bus crosses processes (Redis)
        msg = next_event(ws, 30)
        assert msg["topic"] == "LPR" and msg["plateNo"] in plates, msg


def test_a_video_link_token_made_by_one_process_works_on_every_other(cluster, tmp_path):
    """/watch playlists sign their segment links (`t=`) with the site's key in the database (server_keys): a
    player fetching the segments through the balancer reaches any process, each of which must accept it."""
    from platehub.core.store import Store
    from platehub.protocols.tsapi import hls

    _, servers = cluster
    store = Store(servers[0].env["PLATEHUB_DATABASE_URL"], tmp_path / "images")
    try:
        tok = hls.LinkSigner(store.keys.key(hls.KEY_NAME)).token(1)
    finally:
        store.close()
    for s in servers:
        signed = httpx.get(f"{s.url}/watch/rec/1/20260102T030405Z.mp4", params={"t": tok}, timeout=30)
        assert signed.status_code == 404, signed.text  # let in by the token; no such segment
        forged = httpx.get(f"{s.url}/watch/rec/1/20260102T030405Z.mp4", params={"t": tok[:-1] + "0"}, timeout=30)
        assert forged.status_code == 401, forged.text


def test_when_a_process_dies_the_balancer_sends_everything_to_the_other(cluster):
    """Last in the module: it kills one of the two processes."""
    lb_url, servers = cluster
    auth = base64.b64encode(b"admin:admin-test").decode()
    ws_url = lb_url.replace("http://", "ws://") + f"/wsapi/subscribeEvents?topics=LPR&auth={auth}"
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(connect(ws_url, open_timeout=20)) for _ in range(2)]  # one on each process
        for ws in sockets:
            assert json.loads(ws.recv(timeout=20))["topics"] == ["LPR"]
        servers[1].proc.kill()  # kill -9
        servers[1].proc.wait(10)
        closed = 0
        for ws in sockets:  # the socket on the dead process is closed, not left hanging
            try:
                ws.recv(timeout=10)
            except ConnectionClosed:
                closed += 1
            except TimeoutError:
                pass
        assert closed == 1
    for _ in range(10):  # at once, before any health check: a refused connection is retried on the other
        assert httpx.get(lb_url + "/api/info?apiVersion", timeout=30).status_code == 200
    with connect(ws_url, open_timeout=20) as ws:  # a client that reconnects gets a socket on the live process
        assert json.loads(ws.recv(timeout=20))["topics"] == ["LPR"]


# ---------------------------------------------------------------- one image volume, several writers


def test_a_starting_process_leaves_the_images_other_processes_are_writing(pg_url, tmp_path):
    """On a shared store another process may have saved an image and not yet stored its read: a process
    starting then must not take it for a crash's orphan. Files that old are (PostgreSQL stores: SETTLE)."""
    from platehub.core.store import SETTLE, Store

    store = Store(fresh_database(pg_url), tmp_path / "images")
    day = tmp_path / "images" / "2026" / "01" / "02"
    day.mkdir(parents=True)
    now = time.time()
    in_flight, old = day / ("a" * 32 + ".jpg"), day / ("b" * 32 + ".jpg")
    for path, age in ((in_flight, 2), (old, SETTLE + 30)):
        path.write_bytes(b"jpeg")
        os.utime(path, (now - age, now - age))
    try:
        assert store.sweep_orphans(now) == 1
    finally:
        store.close()
    assert in_flight.exists() and not old.exists()
