"""TS-API push (spec 004 "Pushing events to the server") against a real server: the guide's own
curl commands, batches, sign-in failures and their slow-down, bad bodies, idempotent resends."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

DEMO = ("demo", "!1234qwer")
AUTH = "ZGVtbzohMTIzNHF3ZXI%3D"  # the guide's auth= value for demo:!1234qwer

# the guide's array example, as printed (its test.json)
GUIDE_JSON = """[
  {
    "topic": "LPR",
    "src": "F00001",
    "plateNo": "DSP963"
  },
  {
    "topic": "emergencyCall",
    "device": "vendor/device",
    "src": "0000001",
    "event": "callStart",
    "camera": "1,2,3,4",
    "when": "2018-02-01T14:30:15-05:00"
  }
]
"""


def users_cli(server, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`platehub user ...` against the server's data."""
    return subprocess.run([sys.executable, "-m", "platehub.cli", "user", *args], env=server.env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def add_demo(server) -> None:
    r = users_cli(server, "add", DEMO[0], "--password", DEMO[1], "--rights", "LPR,Control")  # Control: pushing
    assert r.returncode == 0 or "exists already" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def srv(server):
    add_demo(server)
    return server


def push(srv, body, *, auth=DEMO, params=None, headers=None) -> httpx.Response:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return httpx.post(srv.url + "/api/push", content=content, auth=auth, params=params, headers=headers, timeout=30)


def reads(srv, plate: str) -> list[dict]:
    r = srv.cli("reads", "--plate", plate)
    assert r.returncode == 0, r.stderr
    return [x for x in map(json.loads, r.stdout.splitlines()) if x["protocol"] == "push"]


def wait_for_log(srv, text: str, timeout: float = 5.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = srv.log.read_text()
        if text in log:
            return log
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the server log")


def curl(*args: str) -> tuple[int, str]:
    r = subprocess.run(["curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", *args], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return int(r.stdout), r.stderr


@pytest.mark.parametrize("how", ["basic", "auth-param"])
def test_the_guides_curl_commands(srv, tmp_path, how):
    (tmp_path / "test.json").write_text(GUIDE_JSON, encoding="utf-8")
    before = len(reads(srv, "DSP963"))
    url = srv.url + "/api/push"
    auth = ["-u", "demo:!1234qwer"] if how == "basic" else []
    if how == "auth-param":
        url += "?auth=" + AUTH
    status, body = curl(url, "-H", "Content-Type: application/json; charset=UTF-8", "-X", "POST", *auth,
                        "-d", "@" + str(tmp_path / "test.json"))
    assert (status, body) == (200, "")  # "no additional Contents data"
    stored = reads(srv, "DSP963")
    assert len(stored) == before + 1  # no `when`: a new read each time
    read = stored[-1]
    assert (read["source"], read["plate"], read["plate_raw"]) == ("F00001", "DSP963", "DSP963")
    assert read["raw"] == {"topic": "LPR", "src": "F00001", "plateNo": "DSP963"}
    received = datetime.fromisoformat(read["received_at"])
    assert abs(datetime.fromisoformat(read["first_seen"]) - received) < timedelta(seconds=1)
    wait_for_log(srv, "emergency call callStart from 0000001 (vendor/device)")


def test_single_lpr_event_with_times_in_another_offset(srv):
    event = {"topic": "LPR", "src": "F00002", "plateNo": "AB 123-CD", "when": "2018-02-01T14:30:15-05:00",
             "timeBegin": "2018-02-01T14:30:14-05:00"}
    r = push(srv, event, headers={"Content-Type": "application/json; charset=UTF-8"})
    assert (r.status_code, r.content) == (200, b"")
    [read] = reads(srv, "AB123CD")
    assert (read["plate"], read["plate_raw"], read["source"]) == ("AB123CD", "AB 123-CD", "F00002")
    assert read["first_seen"] == "2018-02-01T19:30:14+00:00" and read["last_seen"] == "2018-02-01T19:30:15+00:00"
    assert read["source_key"] == "F00002:2018-02-01T19:30:15+00:00:AB 123-CD"
    assert read["raw"] == event


def test_resending_an_event_stores_it_once(srv):
    event = {"topic": "LPR", "src": "F00003", "plateNo": "RESEND1", "when": "2026-03-01T08:00:00+02:00"}
    for _ in range(3):
        assert push(srv, event).status_code == 200
    same_instant = {**event, "when": "2026-03-01T06:00:00Z"}  # the same time written in UTC
    assert push(srv, [same_instant, event]).status_code == 200
    assert len(reads(srv, "RESEND1")) == 1
    assert push(srv, {**event, "when": "2026-03-01T08:00:01+02:00"}).status_code == 200  # a later read
    assert len(reads(srv, "RESEND1")) == 2


def test_missing_when_is_the_receive_time_and_content_type_does_not_matter(srv):
    t0 = datetime.now(UTC)
    kinds = [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}]
    for i, headers in enumerate(kinds):
        body = json.dumps({"topic": "LPR", "src": "F00004", "plateNo": f"NOWHEN{i}"}).encode()
        r = httpx.post(srv.url + "/api/push", content=body, auth=DEMO, headers=headers)
        assert r.status_code == 200, r.text
        [read] = reads(srv, f"NOWHEN{i}")
        assert t0 - timedelta(seconds=1) < datetime.fromisoformat(read["first_seen"]) < datetime.now(UTC)
        assert read["source_key"] is None
    bom = "\ufeff" + json.dumps({"topic": "LPR", "src": "F00004", "plateNo": "BOMÄ1"}, ensure_ascii=False)
    assert push(srv, bom.encode("utf-8")).status_code == 200  # a UTF-8 file saved by Notepad
    assert reads(srv, "BOMÄ1")


def test_array_with_lpr_and_emergency_events(srv):
    batch = [{"topic": "LPR", "src": "F00005", "plateNo": f"ARR{i}", "when": f"2026-03-01T08:00:0{i}+00:00"}
             for i in range(3)]
    batch.append({"topic": "emergencyCall", "device": "acme/sos", "src": "0000042", "event": "callEnd",
                  "camera": ""})
    assert push(srv, batch, auth=None, params={"auth": "ZGVtbzohMTIzNHF3ZXI="}).status_code == 200
    assert [len(reads(srv, f"ARR{i}")) for i in range(3)] == [1, 1, 1]
    wait_for_log(srv, "emergency call callEnd from 0000042 (acme/sos)")
    assert push(srv, []).status_code == 200  # an empty array is nothing to do


def test_push_registers_the_device(srv):
    assert push(srv, {"topic": "LPR", "src": "DEV-PUSH-1", "plateNo": "REG1"}).status_code == 200
    token = srv.cli("token", "create", "push-test").stdout.strip()
    r = httpx.get(srv.url + "/v1/devices/DEV-PUSH-1/", headers={"Authorization": f"Token {token}"})
    assert r.status_code == 200, r.text
    device = r.json()
    assert (device["code"], device["protocol"], device["address"], device["online"]) == (
        "DEV-PUSH-1", "push", "127.0.0.1", True)
    r = httpx.get(srv.url + "/v1/devices/0000042/", headers={"Authorization": f"Token {token}"})
    assert r.status_code == 404  # an emergency call's location is not an LPR device


def test_sign_in_failures_are_401(srv):
    event = {"topic": "LPR", "src": "F00006", "plateNo": "NOAUTH1"}
    assert push(srv, event).status_code == 200  # a success clears this client's failure count
    cases = {
        "none": {"auth": None},
        "wrong password": {"auth": ("demo", "wrong")},
        "unknown user": {"auth": ("nobody", "!1234qwer")},
        "malformed auth=": {"auth": None, "params": {"auth": "%%%not-base64"}},
        "auth= without colon": {"auth": None, "params": {"auth": "ZGVtbw=="}},
    }
    for name, kwargs in cases.items():
        r = push(srv, event, **kwargs)
        assert r.status_code == 401, name
        assert r.headers["www-authenticate"].startswith('Basic realm="platehub"'), name
        assert r.json()["code"] == -1 and r.json()["message"], name
    assert push(srv, event).status_code == 200
    assert len(reads(srv, "NOAUTH1")) == 2  # only the signed-in pushes


def test_repeated_failures_slow_the_client_down(make_server):
    srv = make_server()
    add_demo(srv)
    event = {"topic": "LPR", "src": "F00007", "plateNo": "SLOW1"}
    for _ in range(5):  # free failures
        assert push(srv, event, auth=("demo", "guess")).status_code == 401
    assert push(srv, event, auth=("demo", "guess")).status_code == 401  # this one blocks for 1 s
    blocked_at = time.monotonic()
    r = push(srv, event)  # blocked: even the right password is not checked
    assert r.status_code == 429 and r.json()["code"] == -1 and r.headers["retry-after"] == "1"
    time.sleep(max(0.0, 1.2 - (time.monotonic() - blocked_at)))
    assert push(srv, event, auth=("demo", "guess")).status_code == 401  # the next failure blocks for 2 s
    blocked_at = time.monotonic()
    r = push(srv, event)
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    time.sleep(max(0.0, 2.2 - (time.monotonic() - blocked_at)))
    assert push(srv, event).status_code == 200  # the right password clears the count
    assert push(srv, event, auth=("demo", "guess")).status_code == 401
    assert push(srv, event).status_code == 200
    assert "client blocked for 2 s" in srv.log.read_text()
    assert len(reads(srv, "SLOW1")) == 2


def test_bad_bodies_are_400_and_the_server_keeps_serving(srv):
    for body in [b"", b"{not json", b"\xff\xfe{}", b'"a string"', json.dumps([{}] * 1001).encode()]:
        r = push(srv, body)
        assert r.status_code == 400, body[:20]
        assert r.json()["code"] == -2 and r.json()["message"]
    assert "at most 1000" in push(srv, [{"topic": "LPR", "src": "F1", "plateNo": "X"}] * 1001).json()["message"]
    assert srv.alive()


def test_bad_events_are_reported_and_the_good_ones_kept(srv):
    good = {"topic": "LPR", "src": "F00008", "plateNo": "KEEP1", "when": "2026-03-01T09:00:00+01:00"}
    bad = [
        {"topic": "LPR", "src": "F00008"},  # no plateNo
        {"topic": "LPR", "plateNo": "NOSRC1"},
        {"topic": "LPR", "src": "F00008", "plateNo": "BADTIME1", "when": "yesterday"},
        {"topic": "LPR", "src": "F00008", "plateNo": "BADTIME2", "when": 1700000000},
        {"topic": "LPR", "src": "F00008", "plateNo": "---"},
        {"topic": "parking", "src": "F00008"},
        {"topic": "emergencyCall", "src": "0000001", "event": "ringing"},
        "LPR",
    ]
    r = push(srv, [good, *bad])
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == -2 and body["accepted"] == 1
    assert [x["index"] for x in body["rejected"]] == list(range(1, 9))
    messages = " | ".join(x["message"] for x in body["rejected"])
    for word in ("plateNo", "src", "when", "topic", "event", "JSON object"):
        assert word in messages
    assert len(reads(srv, "KEEP1")) == 1
    assert not reads(srv, "BADTIME1") and not reads(srv, "NOSRC1")
    r = push(srv, [good, *bad[:1]])  # the client resends after a fix: the good read is not doubled
    assert r.status_code == 400 and len(reads(srv, "KEEP1")) == 1
    assert srv.alive()


def test_emergency_call_is_published_on_the_bus(tmp_path):
    """In-process: the bus subscriber (the later WebSocket's seat) gets the event as TS-API sends it."""
    from fastapi.testclient import TestClient

    from platehub.app import create_app
    from platehub.config import Settings
    from platehub.core.bus import EMERGENCY_CALL, READ_STORED

    app = create_app(Settings(data_dir=tmp_path / "data", workers=1), engine=object())
    app.state.platehub.store.users.create(*DEMO, rights=("Control",))
    sub = app.state.platehub.bus.subscribe(EMERGENCY_CALL, READ_STORED)
    guide = json.loads(GUIDE_JSON)
    with TestClient(app) as client:
        r = client.post(f"/api/push?auth={AUTH}", content=GUIDE_JSON.encode())
        assert r.status_code == 200
        r = client.post("/api/push", auth=DEMO, content=json.dumps(
            {"topic": "emergencyCall", "src": "0000001", "event": "callEnd"}))
        assert r.status_code == 200
        events = []
        deadline = time.time() + 5
        while len(events) < 3 and time.time() < deadline:
            if sub.queue.empty():
                time.sleep(0.02)
            else:
                events.append(sub.queue.get_nowait())
    assert [e.topic for e in events] == [READ_STORED, EMERGENCY_CALL, EMERGENCY_CALL]
    assert events[0].payload.plate == "DSP963" and events[0].payload.protocol == "push"
    assert events[1].payload == guide[1]
    end = events[2].payload
    assert (end["event"], end["src"], end["device"], end["camera"]) == ("callEnd", "0000001", None, None)
    assert datetime.fromisoformat(end["when"]).tzinfo is not None  # the receive time, with the server's offset


def test_push_simulator(srv):
    r = srv.cli("simulate", "push", "--to", srv.url, "--user", "demo", "--password", "!1234qwer",
                "--src", "SIM001", "--plates", "SIMA1,SIMB2", "--batch", "--emergency")
    assert r.returncode == 0, r.stderr
    assert "push 4 events: 200" in r.stdout
    assert [len(reads(srv, p)) for p in ("SIMA1", "SIMB2")] == [1, 1]
    wait_for_log(srv, "emergency call callStart from 0000001 (vendor/device)")
    r = srv.cli("simulate", "push", "--to", srv.url, "--user", "demo", "--password", "!1234qwer", "--auth-param",
                "--src", "SIM001", "--plates", "SIMC3", "--no-when")
    assert r.returncode == 0, r.stderr
    [read] = reads(srv, "SIMC3")
    assert read["raw"] == {"topic": "LPR", "src": "SIM001", "plateNo": "SIMC3"}
    r = srv.cli("simulate", "push", "--to", srv.url, "--user", "demo", "--password", "wrong", "--plates", "SIMD4")
    assert r.returncode == 1 and "401" in r.stderr
    assert push(srv, {"topic": "LPR", "src": "SIM001", "plateNo": "SIMD4"}).status_code == 200  # clear the count
