"""Several processes, one client (issue 14): the Snapshot API's rate limit and the sign-in slow-down
are counted in Redis (PLATEHUB_REDIS_URL), so a client meets them as one process would, whichever
process answers; while Redis is away each process counts for itself (never a 500, never a stall) and
they share again when it is back. Sessions live in PostgreSQL: one ended in a process, or by the CLI,
is refused by every process at once."""

from __future__ import annotations

import base64
import itertools
import logging
import socket
import time

import httpx
import pytest
from helpers import Server

from platehub.core.ratelimit import RateLimiter, SharedRateLimiter
from platehub.core.redisguard import RedisGuard
from platehub.protocols.tsapi.session import COOKIE
from platehub.protocols.tsapi.signins import FailedSignIns, SharedSignIns
from platehub.simulator.daemons import RedisServer
from platehub.simulator.harness import free_port

ADMIN = ("admin", "admin-test")
_addresses = (f"198.51.{i // 250}.{i % 250 + 1}" for i in itertools.count())


def address() -> str:
    """A client address no other test used (the servers believe X-Forwarded-For from 127.0.0.1)."""
    return next(_addresses)


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def redis_srv():
    srv = RedisServer(free_port()).start()
    yield srv
    srv.close()


@pytest.fixture
def guard(redis_srv):
    if redis_srv.proc is None:  # a test stopped it and failed before starting it again
        redis_srv.start()
    g = RedisGuard(redis_srv.url, retry=0.3)
    g.client.flushdb()
    return g


@pytest.fixture(scope="module")
def pair(tmp_path_factory, pg_url, redis_srv):
    """Two `platehub serve` on one PostgreSQL and one Redis, 0.2 recognition calls per second per client."""
    root = tmp_path_factory.mktemp("pair")
    env = dict(PLATEHUB_DATABASE_URL=pg_url, PLATEHUB_REDIS_URL=redis_srv.url, PLATEHUB_RATE_LIMIT="0.2",
               PLATEHUB_TRUSTED_PROXIES="127.0.0.1")
    a = Server(root / "a" / "data", **env).start()
    b = Server(root / "b" / "data", **env).start()
    yield a, b
    a.stop()
    b.stop()


# ---- the scripts' arithmetic, on a real Redis ---------------------------------------------------------


BUCKET_TIMES = [0, 0, 0, 0.2, 0.5, 0.6, 5, 5, 5, 5.1]


@pytest.mark.parametrize("rate", [2.0, 0.5, 2.5])
def test_bucket_script_gives_the_waits_of_the_process_bucket(guard, rate):
    shared, local = SharedRateLimiter(rate, guard), RateLimiter(rate)
    got = [shared.check("c", 1000 + t) for t in BUCKET_TIMES]
    want = [local.check("c", 1000 + t) for t in BUCKET_TIMES]
    assert got == pytest.approx(want, abs=1e-3)
    assert any(got) and not all(got)  # some calls through, some waited
    if rate == 2.0:
        assert got[:4] == pytest.approx([0, 0, 0.5, 0.3], abs=1e-3)


def test_bucket_key_expires_when_the_bucket_is_full_again(guard):
    limiter = SharedRateLimiter(0.5, guard)  # a burst of 1, a token per 2 s
    assert limiter.check("c", 1000.0) == 0
    key = SharedRateLimiter.PREFIX + "c"
    assert guard.client.hget(key, "tokens") == b"0.000000000"
    assert 2000 < guard.client.pttl(key) <= 3000  # empty → full in 2 s, plus 1 s
    assert limiter.check("c", 1001.0) == pytest.approx(1.0)  # half a token back
    assert limiter.check("c", 1002.0) == 0
    assert limiter.check("off", 1002.0) == 0 and SharedRateLimiter(0, guard).check("x") == 0


def test_sign_in_script_doubles_caps_and_forgets_as_the_process_count(guard):
    kw = dict(free=2, base=1.0, cap=5.0, forget=60.0)
    shared, local = SharedSignIns(guard, **kw), FailedSignIns(**kw)
    times = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    got = [v for t in times for v in (shared.failed("c", 100 + t), shared.wait("c", 100 + t + 0.05))]
    want = [v for t in times for v in (local.failed("c", 100 + t), local.wait("c", 100 + t + 0.05))]
    assert got == pytest.approx(want, abs=1e-3)
    assert got[::2] == [0, 0, 1, 2, 4, 5, 5]  # the blocks: two free, then doubled up to the cap
    key = SharedSignIns.PREFIX + "c"
    assert guard.client.hget(key, "failures") == b"7"
    assert 60_000 < guard.client.pttl(key) <= 61_000  # forgotten after `forget` quiet seconds
    assert shared.wait("c", 103.0) == pytest.approx(2.6, abs=1e-3)  # blocked until 100.6 + 5
    assert shared.wait("c", 161.0) == 0  # quiet for longer than `forget`: afresh …
    assert shared.failed("c", 161.0) == 0  # … so this failure is a first one again
    shared.succeeded("c")
    assert not guard.client.exists(key)


def test_sign_in_block_outlasting_forget_keeps_the_key(guard):
    shared = SharedSignIns(guard, free=0, base=120.0, cap=120.0, forget=10.0)
    assert shared.failed("c", 0.0) == 120
    assert 120_000 < guard.client.pttl(SharedSignIns.PREFIX + "c") <= 121_000
    assert shared.wait("c", 60.0) == 60  # quiet past `forget`, still blocked


def test_two_processes_share_on_the_redis_clock(guard, redis_srv):
    """No `now`: the scripts read Redis's TIME, so objects with their own clients (as two processes)
    draw on one bucket and one failure count."""
    other = RedisGuard(redis_srv.url)
    one, two = SharedRateLimiter(0.2, guard), SharedRateLimiter(0.2, other)
    assert one.check("c") == 0
    assert 4.5 < two.check("c") <= 5.0
    assert 4.5 < one.check("c") <= 5.0
    assert two.check("d") == 0  # another client
    a, b = SharedSignIns(guard), SharedSignIns(other)
    assert [x.failed("c") for x in (a, b, a, b, a, b)] == [0, 0, 0, 0, 0, 1]  # one count: the sixth blocks
    assert a.wait("c") > 0.5 and b.wait("c") > 0.5
    a.clear()
    assert b.wait("c") == 0
    keys = guard.client.keys("*")
    assert keys and all(k.startswith(b"platehub:") and guard.client.pttl(k) > 0 for k in keys)


# ---- Redis away -----------------------------------------------------------------------------------------


def test_redis_down_falls_back_at_once_warns_once_and_comes_back(guard, redis_srv, caplog):
    limiter, signins = SharedRateLimiter(0.2, guard), SharedSignIns(guard, free=1)
    assert limiter.check("c") == 0
    redis_srv.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="platehub.core.redisguard"):
            started = time.monotonic()
            waits = [limiter.check("c") for _ in range(3)]
            blocks = [signins.failed("c") for _ in range(3)]
            took = time.monotonic() - started
            assert took < 0.5, took
            assert waits[0] == 0 and waits[1] > 4  # the process's own bucket, fresh: one call, then waits
            assert blocks == [0, 1, 2] and signins.wait("c") > 0  # and its own failure count
            time.sleep(0.4)  # past the breaker's retry: tried again, still down
            assert limiter.check("d") == 0
    finally:
        redis_srv.start()
    down = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(down) == 1, [r.getMessage() for r in caplog.records]  # once per outage, not per call
    time.sleep(0.4)
    with caplog.at_level(logging.WARNING, logger="platehub.core.redisguard"):
        assert limiter.check("c") == 0  # Redis again: it lost its buckets in the restart
        assert not guard.down
    assert any("is back" in r.getMessage() for r in caplog.records)
    assert SharedRateLimiter(0.2, RedisGuard(redis_srv.url)).check("c") > 4  # shared again


def test_redis_that_does_not_answer_stalls_a_call_once_per_retry(caplog):
    """A Redis that takes the connection and never replies: one call waits the socket timeout, the
    calls after it go straight to the process's own count until the retry."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        g = RedisGuard(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", timeout=0.3, retry=5.0)
        limiter = SharedRateLimiter(0.2, g)
        started = time.monotonic()
        assert limiter.check("c") == 0
        first = time.monotonic() - started
        assert limiter.check("c") > 4
        rest = time.monotonic() - started - first
    assert 0.25 < first < 1.0 and rest < 0.05, (first, rest)
    assert g.down


# ---- two real servers -----------------------------------------------------------------------------------


def read(srv: Server, client: str) -> httpx.Response:
    """A recognition call with no image: counted by the rate limit, then refused with a 400."""
    return httpx.post(srv.url + "/v1/plate-reader/", headers={"X-Forwarded-For": client}, timeout=30)


def sign_in(srv: Server, client: str, user: str, password: str) -> httpx.Response:
    return httpx.get(srv.url + "/api/auth", params={"login": b64(user, password)},
                     headers={"X-Forwarded-For": client}, timeout=30)


def test_rate_limit_is_counted_once_across_two_processes(pair):
    a, b = pair
    client = address()
    got = [read(srv, client) for srv in (a, b, a, b)]
    assert [r.status_code for r in got] == [400, 429, 429, 429]  # one call per 5 s, as one process allows
    assert got[1].json()["detail"] == "Request was throttled. Expected available in 5 seconds."
    assert read(b, address()).status_code == 400  # per client


def test_failed_sign_ins_in_one_process_block_the_client_in_the_other(pair):
    a, b = pair
    client = address()
    for srv in (a, a, a, a, a, b):  # five are free; the sixth, in the other process, blocks for 1 s
        assert sign_in(srv, client, "admin", "guess").status_code == 401
    r = sign_in(a, client, *ADMIN)
    assert r.status_code == 429 and r.headers["retry-after"] == "1", r.text
    r = sign_in(b, client, *ADMIN)
    assert r.status_code == 429 and r.headers["retry-after"] == "1", r.text
    assert sign_in(b, address(), *ADMIN).status_code == 200  # another client is not slowed down


def session(srv: Server, token: str) -> int:
    """The status /api/auth gives the session cookie alone (200 signed in, 401 not)."""
    return httpx.get(srv.url + "/api/auth", cookies={COOKIE: token}, timeout=30).status_code


def test_a_session_ended_anywhere_is_refused_by_every_process(pair):
    a, b = pair
    client, password = address(), "first-password"
    r = a.cli("user", "add", "operator", "--password", password, "--rights", "LPR")
    assert r.returncode == 0, r.stderr
    token = sign_in(a, client, "operator", password).cookies[COOKIE]
    assert session(b, token) == 200 and session(a, token) == 200
    r = httpx.get(a.url + "/api/auth", params={"logout": ""}, cookies={COOKIE: token}, timeout=30)
    assert r.status_code == 200 and r.json()["code"] == 0
    assert session(b, token) == 401 and session(a, token) == 401
    token = sign_in(b, client, "operator", password).cookies[COOKIE]
    assert session(a, token) == 200
    r = b.cli("user", "passwd", "operator", "--password", "second-password")
    assert r.returncode == 0, r.stderr
    assert session(a, token) == 401 and session(b, token) == 401
    token = sign_in(a, client, "operator", "second-password").cookies[COOKIE]
    assert session(b, token) == 200
    r = a.cli("user", "remove", "operator")
    assert r.returncode == 0, r.stderr
    assert session(a, token) == 401 and session(b, token) == 401


def test_redis_down_each_process_limits_for_itself_then_they_share_again(pair, redis_srv):
    a, b = pair
    redis_srv.stop()
    try:
        client = address()
        started = time.monotonic()
        got = [read(srv, client).status_code for srv in (a, a, b, b)]
        assert got == [400, 429, 400, 429]  # each process its own bucket; never a 500
        assert sign_in(a, client, *ADMIN).status_code == 200  # sign-in works, slowed down per process
        for _ in range(6):
            assert sign_in(b, client, "admin", "guess").status_code == 401
        assert sign_in(b, client, *ADMIN).status_code == 429
        assert time.monotonic() - started < 5
    finally:
        redis_srv.start()
    deadline = time.monotonic() + 20  # each process tries Redis again 5 s after its last failure
    while True:
        client = address()
        got = [read(srv, client).status_code for srv in (a, b)]
        if got == [400, 429]:
            break
        assert time.monotonic() < deadline, got
        time.sleep(1)
    client = address()
    assert [read(srv, client).status_code for srv in (b, a)] == [400, 429]  # both ways
    for srv in (a, b):
        log = srv.log.read_text()
        assert log.count("unavailable") == 1 and "is back" in log, log[-3000:]
