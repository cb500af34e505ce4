"""/metrics (core/metrics.py): reads pushed through real doors move the counters by exactly their number,
recognition calls fill the histogram, devices online match the registry, no plate is ever a label, the
access rule holds, and the Grafana dashboard in deploy/ uses only exported metric names."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from helpers import InProcess
from prometheus_client.parser import text_string_to_metric_families

from platehub.core.metrics import allowed
from platehub.core.webhooks import add_webhook
from platehub.simulator.allinone import Camera
from platehub.simulator.harness import free_port

REPO = Path(__file__).resolve().parent.parent
PLATES = ("沪A12345", "京B67890", "粤C13579")


def scrape(url: str, **headers: str) -> dict[tuple[str, tuple], float]:
    r = httpx.get(url + "/metrics", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(got: dict, name: str, **labels: str) -> float:
    return got.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, engine):
    """A real server with the real engine; webhooks fail fast (one attempt, 1 s timeout)."""
    server = InProcess(tmp_path_factory.mktemp("metrics") / "data", engine, webhook_retries=1,
                       webhook_backoff=0.01, webhook_timeout=1.0).start()
    yield server
    server.stop()


async def test_reads_through_the_allinone_door_move_the_counter_by_exactly_their_number(srv):
    serial = "cam-metrics-1"
    before = scrape(srv.url)
    async with httpx.AsyncClient(timeout=10) as client:
        cam = Camera(client, srv.url, serial)
        for plate in PLATES:
            await cam.push(cam.record(plate))
        offline = cam.record("沪A12345", offline=True, sec=time.time() - 60)
        for _ in range(2):  # sent twice, stored once (a duplicate is not a read)
            await cam.push(offline)
    after = scrape(srv.url)
    moved = (value(after, "platehub_reads_total", protocol="allinone", source=serial)
             - value(before, "platehub_reads_total", protocol="allinone", source=serial))
    assert moved == 4
    online = sum(d.online for d in srv.hub.store.devices.list() if d.protocol == "allinone")
    assert online >= 1
    assert value(after, "platehub_devices_online", protocol="allinone") == online
    assert value(after, "platehub_db_probe_seconds") > 0


def test_recognition_fills_the_histogram_and_counts_its_reads_and_failed_webhooks(srv, photo):
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every delivery fails
    add_webhook(srv.hub.store, dead)
    before = scrape(srv.url)
    for _ in range(2):
        r = httpx.post(srv.url + "/v1/plate-reader/", files={"upload": ("car.jpg", photo("hr-01.jpg"))},
                       data={"camera_id": "gate-east"}, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["plate"] == "zg9757hg"
    deadline = time.time() + 20
    while True:
        after = scrape(srv.url)
        failed = (value(after, "platehub_webhook_failures_total", event="recognition")
                  - value(before, "platehub_webhook_failures_total", event="recognition"))
        if failed >= 2 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert failed == 2
    assert (value(after, "platehub_recognition_seconds_count") - value(before, "platehub_recognition_seconds_count")
            == 2)
    assert value(after, "platehub_recognition_seconds_sum") > value(before, "platehub_recognition_seconds_sum")
    assert (value(after, "platehub_reads_total", protocol="snapshot", source="gate-east")
            - value(before, "platehub_reads_total", protocol="snapshot", source="gate-east")) == 2
    assert value(after, "platehub_queue_depth", queue="recognition") == 0
    assert ("platehub_queue_depth", (("queue", "webhook_deliveries"),)) in after
    assert value(after, "platehub_bus_subscribers") >= 1  # the event log


def test_no_plate_text_in_the_exposition(srv):
    text = httpx.get(srv.url + "/metrics", timeout=10).text
    for plate in (*PLATES, "zg9757hg", "ZG9757HG"):
        assert plate not in text
    labels = {k for fam in text_string_to_metric_families(text) for s in fam.samples for k in s.labels}
    assert labels <= {"protocol", "source", "event", "queue", "le"}


def test_a_proxied_request_is_not_local_and_needs_a_token(srv):
    r = httpx.get(srv.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    _, key = srv.hub.store.tokens.create("prometheus")
    r = httpx.get(srv.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9",
                                                 "Authorization": f"Bearer {key}"}, timeout=10)
    assert r.status_code == 200 and "platehub_reads_total" in r.text


@pytest.mark.parametrize("mode, peer, proxied, token, expected", [
    ("local", "127.0.0.1", False, False, True),
    ("local", "::1", False, False, True),
    ("local", "127.0.0.1", True, False, False),  # a reverse proxy on the same machine
    ("local", "192.0.2.7", False, False, False),
    ("local", "192.0.2.7", False, True, True),
    ("token", "127.0.0.1", False, False, False),
    ("token", "192.0.2.7", False, True, True),
    ("open", "192.0.2.7", True, False, True),
    ("off", "127.0.0.1", False, True, False),
])
def test_access_rule(mode, peer, proxied, token, expected):
    assert allowed(mode, peer, proxied, lambda: token) is expected


def test_token_mode_and_off_on_a_real_server(tmp_path):
    srv = InProcess(tmp_path / "t", engine=object(), metrics="token").start()
    try:
        assert httpx.get(srv.url + "/metrics", timeout=10).status_code == 401
        assert httpx.get(srv.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10).status_code \
            == 401
        _, key = srv.hub.store.tokens.create("prometheus")
        assert httpx.get(srv.url + "/metrics", headers={"Authorization": f"Token {key}"}, timeout=10).status_code \
            == 200
    finally:
        srv.stop()
    off = InProcess(tmp_path / "o", engine=object(), metrics="off").start()
    try:
        assert httpx.get(off.url + "/metrics", timeout=10).status_code == 404
        assert not off.hub.ingestor.observers or off.hub.metrics.on_read not in off.hub.ingestor.observers
    finally:
        off.stop()


def test_grafana_dashboard_uses_only_exported_metrics(srv):
    dashboard = json.loads((REPO / "deploy/grafana-platehub.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    used = {m for e in exprs for m in re.findall(r"\bplatehub_[a-z_]+", e)}
    exported = set(name for name, _ in scrape(srv.url))
    assert used and used <= exported, used - exported
