"""Three platehub processes on one PostgreSQL and one Redis, behind a real HAProxy (issue 14), all from
Debian's packages: what one process learns, the others know.

- a TS-API WebSocket on process 1 hears every read pushed through processes 2 and 3, each once;
- a command queued through process 1 wakes the comet poll held on process 3 at once;
- signing out, or a password changed by the CLI, ends the session on all three;
- a process killed (-9) while cameras push through the balancer loses no acknowledged read and stores
  none twice, and the alert webhook of each read is delivered by one process (the outbox), once; a socket
  through the balancer connects again and hears the reads;
- Redis restarted while cameras push: every acknowledged read is stored (the database is the source of
  truth), and the live stream across processes comes back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import Counter
from contextlib import contextmanager
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
from helpers import Server, free_port, next_event
from test_webhooks import Receiver
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from platehub.simulator.allinone import Camera
from platehub.simulator.daemons import Balancer, RedisServer

ADMIN = ("admin", "admin-test")


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


class Cluster:
    def __init__(self, root, pg_url: str) -> None:
        self.pg_url = pg_url
        self.redis = RedisServer(free_port()).start()
        env = {"PLATEHUB_DATABASE_URL": pg_url, "PLATEHUB_REDIS_URL": self.redis.url, "PLATEHUB_COMET_HOLD": "10",
               "PLATEHUB_ALERT_UNKNOWN": "1"}  # every read of a vehicle on no list: an alert webhook
        # one data directory for all three: the shared volume of the images
        self.procs = [Server(root / "data", **env) for _ in range(3)]
        for p in self.procs:  # one after the other: the first creates the schema and the admin user
            p.start()
        self.balancer = Balancer([p.url for p in self.procs]).start()  # deploy/haproxy.cfg itself
        self.hook = Receiver()
        r = self.procs[0].cli("webhook", "add", self.hook.url, "--events", "alert")
        assert r.returncode == 0, r.stderr

    def close(self) -> None:
        self.hook.close()
        self.balancer.close()
        for p in self.procs:
            if p.proc.poll() is None:
                p.stop()
        self.redis.close()

    def _query(self, sql: str, *args) -> list[tuple]:
        with psycopg.connect(self.pg_url.replace("postgresql+psycopg://", "postgresql://")) as db:
            return db.execute(sql, args).fetchall()

    def stored(self, serial: str) -> Counter:
        """How many reads of the camera each of its records became (by its serialno:plateid)."""
        rows = self._query("SELECT source_key FROM reads WHERE source_key LIKE %s", f"{serial}:%")
        return Counter(int(key.split(":")[1]) for (key,) in rows)

    def read_ids(self, serial: str) -> set[str]:
        return {rid for (rid,) in self._query("SELECT id FROM reads WHERE source_key LIKE %s", f"{serial}:%")}

    def alerts(self) -> dict[str, set[str]]:
        """The Idempotency-Keys of the alert deliveries the target accepted, by read id."""
        out: dict[str, set[str]] = {}
        for (_, body), key, status in zip(self.hook.requests, self.hook.keys, self.hook.answers, strict=True):
            if status < 300:
                out.setdefault(json.loads(body)["read"]["id"], set()).add(key)
        return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, pg_url):
    c = Cluster(tmp_path_factory.mktemp("cluster"), pg_url)
    yield c
    c.close()


def socket_url(base: str, **params: str) -> str:
    return base.replace("http://", "ws://") + "/wsapi/subscribeEvents?" + urlencode(params)


@contextmanager
def lpr_socket(base: str):
    with connect(socket_url(base, topics="LPR", auth=b64(*ADMIN)), open_timeout=10) as ws:
        assert "subscriberId" in next_event(ws)
        yield ws


def heard(ws, plates: set[str], timeout: float = 20.0, extra: float = 1.0) -> Counter:
    """The plates of the LPR events until every one of `plates` came (and `extra` seconds more)."""
    got: Counter = Counter()
    deadline = time.monotonic() + timeout
    while not plates <= set(got):
        assert time.monotonic() < deadline, f"missing: {sorted(plates - set(got))}"
        got[next_event(ws, deadline - time.monotonic())["plateNo"]] += 1
    end = time.monotonic() + extra
    try:
        while (left := end - time.monotonic()) > 0:
            got[next_event(ws, left)["plateNo"]] += 1
    except TimeoutError:
        pass
    return got


async def push(base: str, plates: list[str], serial: str | None = None) -> Camera:
    async with httpx.AsyncClient(timeout=30) as client:
        cam = Camera(client, base, serial)
        for plate in plates:
            await cam.push(cam.record(plate))
    return cam


def test_a_socket_on_one_process_hears_the_reads_of_the_others_once(cluster):
    one, two, three = cluster.procs
    plates = [f"CL{i:04d}X" for i in range(12)]
    with lpr_socket(one.url) as ws:
        asyncio.run(push(two.url, plates[:6]))
        asyncio.run(push(three.url, plates[6:]))
        got = heard(ws, set(plates))
    assert got == Counter({p: 1 for p in plates})


async def _comet_woken_across(cluster) -> float:
    one, _, three = cluster.procs
    async with httpx.AsyncClient(timeout=30) as client, httpx.AsyncClient(base_url=one.url, timeout=30) as admin:
        cam = Camera(client, three.url)
        assert await cam.register() == {"Response_AlarmInfoPlate": {}}  # first post: answered at once
        poll = asyncio.create_task(cam.register())
        await asyncio.sleep(1.0)
        assert not poll.done()  # held on process 3 (PLATEHUB_COMET_HOLD 10 s)
        assert (await admin.get("/api/auth", auth=ADMIN)).status_code == 200
        t0 = time.monotonic()
        r = await admin.post(f"/v1/devices/{cam.serial}/commands/", json={"kind": "open_gate", "channel": 1})
        assert r.status_code == 201, r.text
        await asyncio.wait_for(poll, 5)
        woken = time.monotonic() - t0
        assert cam.gate_openings == [1] and not cam.errors
        return woken


def test_a_command_queued_on_one_process_wakes_the_poll_held_on_another(cluster):
    assert asyncio.run(_comet_woken_across(cluster)) < 1.0  # not the 10 s hold


def _signed_in(base: str, login: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=30)
    assert c.get("/api/auth", params={"login": b64(login, password)}).status_code == 200
    return c


def _who(proc: Server, cookies) -> int:
    return httpx.get(proc.url + "/api/info?whoAmI", cookies=cookies, timeout=30).status_code


def test_signing_out_or_a_cli_password_change_ends_the_session_everywhere(cluster):
    one, two, three = cluster.procs
    r = one.cli("user", "add", "clusterop", "--password", "first-password", "--rights", "LPR")
    assert r.returncode == 0, r.stderr
    c = _signed_in(one.url, "clusterop", "first-password")
    assert [_who(p, c.cookies) for p in cluster.procs] == [200, 200, 200]
    assert httpx.get(two.url + "/api/auth", params={"logout": ""}, cookies=c.cookies).status_code == 200
    assert [_who(p, c.cookies) for p in cluster.procs] == [401, 401, 401]

    c = _signed_in(three.url, "clusterop", "first-password")
    assert [_who(p, c.cookies) for p in cluster.procs] == [200, 200, 200]
    r = two.cli("user", "passwd", "clusterop", "--password", "second-password")
    assert r.returncode == 0, r.stderr
    assert [_who(p, c.cookies) for p in cluster.procs] == [401, 401, 401]


async def _cameras_pushing(base: str, stop: asyncio.Event, cameras: int = 4) -> list[tuple[Camera, set[int]]]:
    """Cameras pushing through `base` until `stop`, each record sent again until it is acknowledged (as
    the cameras do); returns each camera with the plateids acknowledged."""
    async def run(cam: Camera, acked: set[int]) -> None:
        while not stop.is_set():
            rec = cam.record()
            while True:
                try:
                    await cam.push(rec)
                    acked.add(rec.plateid)
                    break
                except (httpx.HTTPError, ValueError):
                    await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        out = [(Camera(client, base), set()) for _ in range(cameras)]
        await asyncio.gather(*(run(cam, acked) for cam, acked in out))
    return out


async def _load_while(base: str, act, seconds: float) -> list[tuple[Camera, set[int]]]:
    stop = asyncio.Event()
    load = asyncio.create_task(_cameras_pushing(base, stop))
    await act()
    await asyncio.sleep(seconds)
    stop.set()
    return await load


def _every_acknowledged_read_stored_once(cluster, cameras) -> int:
    total = 0
    for cam, acked in cameras:
        stored = cluster.stored(cam.serial)
        assert acked and acked <= set(stored), f"acknowledged but not stored: {sorted(acked - set(stored))}"
        assert max(stored.values()) == 1, "a read stored twice"
        total += len(acked)
    return total


def test_a_process_killed_under_load_loses_and_doubles_no_read(cluster):
    _, two, _ = cluster.procs

    async def kill() -> None:
        await asyncio.sleep(2.0)
        two.proc.kill()  # SIGKILL: no shutdown, requests in flight cut off
        two.proc.wait(10)

    cameras = asyncio.run(_load_while(cluster.balancer.url, kill, 4.0))
    assert _every_acknowledged_read_stored_once(cluster, cameras) > 20
    # every stored read's alert reaches the target, from one process: one delivery (one Idempotency-Key)
    # per read; a key seen twice would be the one delivery repeated after the kill (at least once)
    stored = set().union(*(cluster.read_ids(cam.serial) for cam, _ in cameras))
    deadline = time.monotonic() + 60  # the killed process's claimed rows wait for their lease to end
    while not stored <= set(alerts := cluster.alerts()):
        assert time.monotonic() < deadline, f"{len(stored - set(alerts))} alerts not delivered"
        time.sleep(0.5)
    assert all(len(alerts[r]) == 1 for r in stored)
    # a client through the balancer connects again (to a live process) and hears every process's reads
    with lpr_socket(cluster.balancer.url) as ws:
        plates = [f"KL{i:04d}X" for i in range(4)]
        asyncio.run(push(cluster.balancer.url, plates))
        assert heard(ws, set(plates)) == Counter({p: 1 for p in plates})
    two.start()  # back on its port; the balancer's health check takes it in again
    with lpr_socket(cluster.procs[0].url) as ws:
        asyncio.run(push(two.url, ["KLBACK1"]))
        assert heard(ws, {"KLBACK1"}) == Counter({"KLBACK1": 1})


def test_redis_restarted_under_load_loses_no_read_and_live_events_come_back(cluster):
    one, two, _ = cluster.procs

    async def restart() -> None:
        await asyncio.sleep(1.0)
        cluster.redis.stop()
        await asyncio.sleep(2.0)
        cluster.redis.start()

    cameras = asyncio.run(_load_while(cluster.balancer.url, restart, 3.0))
    assert _every_acknowledged_read_stored_once(cluster, cameras) > 20
    deadline = time.monotonic() + 30
    with lpr_socket(one.url) as ws:
        while True:  # the relay reconnects with backoff (≤ 5 s): a read pushed on process 2 reaches process 1
            plate = f"RS{int(time.monotonic() * 10) % 10000:04d}X"
            asyncio.run(push(two.url, [plate]))
            try:
                if heard(ws, {plate}, timeout=3, extra=0)[plate] == 1:
                    break
            except (AssertionError, TimeoutError, ConnectionClosed):
                assert time.monotonic() < deadline, "live events across processes did not come back"
