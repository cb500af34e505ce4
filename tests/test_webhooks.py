"""Webhooks (spec 002 "WebHooks") delivered by a real server to a real HTTP receiver."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import httpx
import numpy as np
import pytest
from helpers import Server


class Receiver:
    """A webhook target: records every POST, answers `status` (`fail_first`: 500 to the first attempt of
    each delivery, told apart by its Idempotency-Key)."""

    def __init__(self, status: int = 200, port: int = 0, fail_first: bool = False) -> None:
        self.status = status
        self.requests: list[tuple[str, bytes]] = []
        self.keys: list[str | None] = []  # each request's Idempotency-Key
        self.answers: list[int] = []  # the status each request got
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                with lock:
                    status = 500 if fail_first and key not in outer.keys else outer.status
                    outer.requests.append((self.headers["Content-Type"], body))
                    outer.keys.append(key)
                    outer.answers.append(status)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def wait(self, n: int, timeout: float = 30) -> list[tuple[str, bytes]]:
        deadline = time.time() + timeout
        while len(self.requests) < n and time.time() < deadline:
            time.sleep(0.05)
        return self.requests

    def accepted(self) -> list[bytes]:
        """The bodies of the requests answered 2xx."""
        return [body for (_, body), status in zip(self.requests, self.answers, strict=True) if status < 300]

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in msg.iter_parts()}


def blank_jpeg() -> bytes:
    return cv2.imencode(".jpg", np.full((240, 320, 3), 200, np.uint8))[1].tobytes()


def test_data_only_webhook_one_per_call_even_without_plates(make_server, receiver, photo):
    srv = make_server()
    assert srv.cli("webhook", "add", receiver.url).returncode == 0
    httpx.post(srv.url + "/v1/plate-reader/", files={"upload": photo("hr-01.jpg")}, data={"camera_id": "c1"})
    httpx.post(srv.url + "/v1/plate-reader/", files={"upload": blank_jpeg()})
    got = receiver.wait(2)
    assert len(got) == 2
    payloads = [json.loads(body) for ctype, body in got]
    assert all(ctype.startswith("application/json") for ctype, _ in got)
    first = next(p for p in payloads if p["data"]["results"])
    assert first["hook"] == {"target": receiver.url, "id": 1, "event": "image.done"}
    assert set(first["data"]) == {"processing_time", "timestamp", "results", "filename", "version", "camera_id"}
    assert first["data"]["results"][0]["plate"] == "zg9757hg" and first["data"]["camera_id"] == "c1"
    assert any(p["data"]["results"] == [] for p in payloads)
    assert httpx.get(srv.url + "/info/").json()["webhooks"] == []  # targets are for admins only
    key = srv.cli("token", "create", "admin").stdout.strip()
    info = httpx.get(srv.url + "/info/", headers={"Authorization": f"Token {key}"}).json()
    assert info["webhooks"][0]["target"] == receiver.url  # nothing secret in it: shown as it is


def test_webhook_with_image_is_multipart_upload_and_json(make_server, receiver, photo):
    srv = make_server()
    srv.cli("webhook", "add", receiver.url, "--with-image")
    data = photo("hr-01.jpg")
    httpx.post(srv.url + "/v1/plate-reader/", files={"upload": ("car.jpg", data)})
    ctype, body = receiver.wait(1)[0]
    assert ctype.startswith("multipart/form-data")
    fields = multipart_fields(ctype, body)
    assert fields["upload"] == data  # boxes refer to this very image
    assert json.loads(fields["json"])["data"]["results"][0]["plate"] == "zg9757hg"


def test_failing_target_is_retried_then_disabled(make_server, photo):
    failing = Receiver(status=500)
    try:
        srv = make_server(PLATEHUB_WEBHOOK_RETRIES="3", PLATEHUB_WEBHOOK_BACKOFF="0.05",
                          PLATEHUB_WEBHOOK_DISABLE_AFTER="2")
        srv.cli("webhook", "add", failing.url)
        auth = {"Authorization": "Token " + srv.cli("token", "create", "admin").stdout.strip()}
        for _ in range(2):
            httpx.post(srv.url + "/v1/plate-reader/", files={"upload": blank_jpeg()})
        assert len(failing.wait(6)) == 6  # 2 calls x 3 attempts
        deadline = time.time() + 10
        while time.time() < deadline:
            hook = httpx.get(srv.url + "/info/", headers=auth).json()["webhooks"][0]
            if not hook["enabled"]:
                break
            time.sleep(0.1)
        assert hook["enabled"] is False and "HTTP 500" in hook["last_error"]
        assert "disabled after 2 failed deliveries" in srv.log.read_text()
        httpx.post(srv.url + "/v1/plate-reader/", files={"upload": blank_jpeg()})
        time.sleep(0.5)
        assert len(failing.requests) == 6  # a disabled target gets nothing more
    finally:
        failing.close()


def test_webhook_api_needs_a_token(make_server, receiver):
    srv = make_server()
    assert httpx.get(srv.url + "/v1/webhooks/").status_code == 403
    key = srv.cli("token", "create", "admin").stdout.strip()
    auth = {"Authorization": f"Token {key}"}
    r = httpx.post(srv.url + "/v1/webhooks/", json={"target": receiver.url, "with_image": True}, headers=auth)
    assert r.status_code == 201 and r.json()["with_image"] is True
    assert [h["target"] for h in httpx.get(srv.url + "/v1/webhooks/", headers=auth).json()] == [receiver.url]
    assert httpx.post(srv.url + "/v1/webhooks/", json={"target": "ftp://x"}, headers=auth).status_code == 400
    assert httpx.delete(srv.url + f"/v1/webhooks/{r.json()['id']}/", headers=auth).status_code == 204
    assert "1\t" not in srv.cli("webhook", "list").stdout


def outbox_rows(data) -> int:
    with sqlite3.connect(data / "platehub.db") as db:
        return db.execute("SELECT count(*) FROM webhook_outbox").fetchone()[0]


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_target_failing_first_gets_the_delivery_once_when_it_answers(make_server):
    flaky = Receiver(fail_first=True)
    try:
        srv = make_server(PLATEHUB_WEBHOOK_BACKOFF="0.2")
        srv.cli("webhook", "add", flaky.url)
        assert httpx.post(srv.url + "/v1/plate-reader/", files={"upload": blank_jpeg()},
                          data={"camera_id": "c1"}).status_code == 200
        wait_for(lambda: len(flaky.accepted()) == 1)
        time.sleep(1.5)  # more than a poll: nothing is posted again
        assert flaky.answers == [500, 200] and flaky.keys[0] == flaky.keys[1] and flaky.keys[0]
        assert json.loads(flaky.accepted()[0])["data"]["camera_id"] == "c1"
        assert outbox_rows(srv.data) == 0
    finally:
        flaky.close()


def test_a_pending_retry_survives_a_kill_9(make_server):
    down = Receiver()
    port = down.http.server_port
    down.close()  # nothing listens there now: every attempt is refused
    srv = make_server(PLATEHUB_WEBHOOK_RETRIES="30", PLATEHUB_WEBHOOK_BACKOFF="0.1")
    srv.cli("webhook", "add", down.url)
    assert httpx.post(srv.url + "/v1/plate-reader/", files={"upload": blank_jpeg()},
                      data={"camera_id": "before-crash"}).status_code == 200
    wait_for(lambda: "attempt 2/30" in srv.log.read_text())
    srv.proc.kill()  # SIGKILL: no shutdown, the retry was only in the outbox
    srv.proc.wait(10)
    assert outbox_rows(srv.data) == 1
    up = Receiver(port=port)
    try:
        srv.start()
        wait_for(lambda: len(up.requests) == 1)
        time.sleep(1.5)
        assert up.answers == [200] and json.loads(up.requests[0][1])["data"]["camera_id"] == "before-crash"
        assert outbox_rows(srv.data) == 0
    finally:
        up.close()


def test_two_servers_on_one_postgresql_deliver_each_event_once_and_a_dead_ones_events(tmp_path, pg_url):
    flaky = Receiver(fail_first=True)  # every delivery is retried: the retry is due for both servers
    env = {"PLATEHUB_DATABASE_URL": pg_url, "PLATEHUB_WEBHOOK_BACKOFF": "0.3", "PLATEHUB_WEBHOOK_RETRIES": "30",
           "PLATEHUB_WEBHOOK_TIMEOUT": "2"}
    servers = []

    def post(srv: Server, camera: str) -> None:
        assert httpx.post(srv.url + "/v1/plate-reader/", files={"upload": blank_jpeg()},
                          data={"camera_id": camera}).status_code == 200

    def cameras() -> list[str]:
        return sorted(json.loads(b)["data"]["camera_id"] for b in flaky.accepted())

    try:
        servers = a, b = [Server(tmp_path / name, **env).start() for name in ("a", "b")]
        a.cli("webhook", "add", flaky.url)
        events = [f"c{i}" for i in range(10)]
        for i, camera in enumerate(events):
            post(servers[i % 2], camera)
        wait_for(lambda: len(flaky.accepted()) == len(events))
        time.sleep(2)  # more than a poll of each: nothing is posted again
        assert cameras() == events
        assert len(flaky.requests) == 2 * len(events)  # one refused attempt and one accepted, each
        delivered = [srv.log.read_text().count("delivered recognition") for srv in servers]
        assert sum(delivered) == len(events) and all(delivered)  # both at work, none twice

        flaky.status = 503  # the target is down: a's events wait in the outbox
        for camera in ("dead1", "dead2", "dead3"):
            post(a, camera)
        wait_for(lambda: sum(srv.log.read_text().count("attempt 3/30") for srv in servers) == 3)
        a.proc.kill()  # SIGKILL
        a.proc.wait(10)
        flaky.status = 200
        wait_for(lambda: len(flaky.accepted()) == len(events) + 3)
        time.sleep(2)
        assert cameras() == sorted([*events, "dead1", "dead2", "dead3"])
        assert b.log.read_text().count("delivered recognition") == delivered[1] + 3  # b delivered what a owed
    finally:
        for srv in servers:
            srv.stop()
        flaky.close()
