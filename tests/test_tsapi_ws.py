"""TS-API real-time events (spec 004, "Real-time event monitoring"): the message formats as pure
functions, and `/wsapi/subscribeEvents` / `/api/subscribeEvents` on a real server with a real
WebSocket client — subscriberId first, LPR messages for push and snapshot reads, emergency calls,
sign-in failures, unknown and silent topics, pings, several sockets and a stalled one."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from helpers import Server, next_event
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from platehub.core.read import Box, Read
from platehub.protocols.tsapi import events

ADMIN = ("admin", "admin-test")
VIEWER = ("viewer", "viewer-pass")  # no LPR right
PING = 1.0  # PLATEHUB_WS_PING of the test server
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
EST = timezone(timedelta(hours=-5))


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# ---------------------------------------------------------------- pure formatting


def test_lpr_message_has_the_guides_fields_in_its_order():
    read = Read(plate="DSP963", plate_raw="DSP-963", protocol="ffjson", source="1-1-7", score=0.981,
                box=Box(964, 560, 1151, 611), direction="in",
                first_seen=datetime(2018, 6, 27, 15, 42, 2, 573000, UTC),
                last_seen=datetime(2018, 6, 27, 15, 42, 6, 575000, UTC))
    msg = events.lpr(read, "B1 Parking Lot")
    assert list(msg) == ["timestamp", "deviceCode", "deviceName", "linkedChannel", "plateNo", "score", "roi",
                         "timeBegin", "topic", "direction"]
    assert msg["deviceCode"] == "1-1-7" and msg["deviceName"] == "B1 Parking Lot"
    assert msg["linkedChannel"] == [] and msg["plateNo"] == "DSP963" and msg["score"] == 98
    assert msg["roi"] == {"offset": [964, 560], "size": [187, 51]}
    assert msg["topic"] == "LPR" and msg["direction"] == "entry"
    assert TS.match(msg["timestamp"]) and TS.match(msg["timeBegin"])
    assert datetime.fromisoformat(msg["timestamp"]) == read.last_seen
    assert datetime.fromisoformat(msg["timeBegin"]) == read.first_seen


def test_lpr_message_leaves_out_what_the_read_does_not_know():
    read = Read(plate="ab12cd", plate_raw="ab12cd", protocol="snapshot", box=Box.zero(), direction="unknown",
                first_seen=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
    msg = events.lpr(read)
    assert set(msg) == {"timestamp", "deviceCode", "deviceName", "linkedChannel", "plateNo", "timeBegin", "topic"}
    assert msg["plateNo"] == "AB12CD" and msg["deviceCode"] == "" and msg["deviceName"] == ""
    assert msg["timestamp"] == msg["timeBegin"]
    assert events.direction("OUT") == "exit" and events.direction(None) is None


def test_image_link_and_system_event():
    read = Read(plate="X1", plate_raw="X1", protocol="push", id="abc")
    assert events.image_url(read, "http://h:8080/") is None
    assert "image" not in events.lpr(read, base_url="http://h:8080")
    read = Read(plate="X1", plate_raw="X1", protocol="snapshot", id="abc", image_full="a.jpg", image_plate="b.jpg")
    assert events.image_url(read, "http://h:8080/") == "http://h:8080/api/image/abc/plate"
    assert list(events.lpr(read, base_url="http://h:8080"))[3:5] == ["linkedChannel", "image"]
    item = {"id": 7, "type": 0, "typeName": "System log", "code": 2, "codeName": "System shutdown",
            "timeRange": ["2018-12-26T15:29:20.013-05:00"]}
    assert events.system_event(item) == {"topic": "systemEvent", **item}
    assert next(iter(events.system_event(item))) == "topic"


def test_topics_channels_and_flags():
    assert events.parse_topics("LPR,emergencyCall,lpr") == ["LPR", "emergencyCall"]
    assert events.parse_topics(" channelstatus , object ") == ["channelStatus", "object"]
    # a name the guide does not use is left out and listed, not a reason to refuse the others
    assert events.parse_topics("LPR,bogus") == ["LPR"] and events.unsupported_topics("LPR,bogus") == ["bogus"]
    assert events.parse_topics("bodytemperature") == ["bodyTemperature"]
    with pytest.raises(events.UnknownTopic, match="required"):
        events.parse_topics(" , ")
    assert events.parse_channels("1,2") == {1, 2} and events.parse_channels(None) is None
    with pytest.raises(ValueError):
        events.parse_channels("1,x")
    assert events.parse_flag("true") and not events.parse_flag(None) and not events.parse_flag("false")
    hello = events.subscriber(["LPR"])
    assert list(hello) == ["subscriberId", "topics"] and len(hello["subscriberId"]) == 36


def test_ping_interval_from_the_environment(monkeypatch):
    from platehub.config import Settings

    monkeypatch.delenv("PLATEHUB_WS_PING", raising=False)
    assert Settings.from_env().ws_ping == 30.0
    monkeypatch.setenv("PLATEHUB_WS_PING", "0.5")
    assert Settings.from_env().ws_ping == 0.5


def test_emergency_call_message():
    payload = {"topic": "emergencyCall", "src": "0000002", "event": "callEnd", "device": "Sammul/Vizufon",
               "camera": "1,2", "when": "2018-06-27T10:59:26.322-05:00"}
    msg = events.emergency_call(payload)
    assert list(msg) == ["timestamp", "caller", "device", "event", "linkedChannel", "name", "topic"]
    assert msg["caller"] == "0000002" and msg["event"] == "callEnd" and msg["device"] == "Sammul/Vizufon"
    assert datetime.fromisoformat(msg["timestamp"]) == datetime(2018, 6, 27, 10, 59, 26, 322000, EST)
    assert events.emergency_call({**payload, "when": "not a time"})["timestamp"] == "not a time"


# ---------------------------------------------------------------- a real server


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    # TZ: the server's local offset is -05:00 like the guide's examples, so messages can be compared exactly
    s = Server(tmp_path_factory.mktemp("tsapi_ws") / "data", PLATEHUB_WS_PING=str(PING), TZ="EST5").start()
    r = subprocess.run([sys.executable, "-m", "platehub.cli", "user", "add", VIEWER[0], "--password",
                        VIEWER[1], "--rights", "Remote"], env=s.env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    yield s
    s.stop()


def ws_url(srv, path: str = "/wsapi/subscribeEvents", **params: str) -> str:
    return srv.url.replace("http://", "ws://") + path + ("?" + str(httpx.QueryParams(params)) if params else "")


@contextlib.contextmanager
def open_socket(srv, topics: str = "LPR", path: str = "/wsapi/subscribeEvents", user=ADMIN, **params: str):
    """A signed-in socket and its first message."""
    with connect(ws_url(srv, path, topics=topics, auth=b64(*user), **params), open_timeout=10) as ws:
        yield ws, json.loads(ws.recv(timeout=10))


def refused(url: str, **kwargs) -> tuple[int, str]:
    """Connect, expect the server to close at once without a message; the close code and reason."""
    with connect(url, open_timeout=10, **kwargs) as ws:
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=10)
    assert e.value.rcvd is not None
    return e.value.rcvd.code, e.value.rcvd.reason


def push(srv, body) -> None:
    r = httpx.post(srv.url + "/api/push", json=body, auth=ADMIN, timeout=30)
    assert r.status_code == 200, r.text


def test_subscriber_id_comes_first_on_both_paths(srv):
    for path in ("/wsapi/subscribeEvents", "/api/subscribeEvents"):
        with open_socket(srv, "LPR,emergencyCall", path) as (_, hello):
            assert list(hello) == ["subscriberId", "topics"]
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", hello["subscriberId"])
            assert hello["topics"] == ["LPR", "emergencyCall"]


def test_lpr_message_for_a_push_read(srv):
    with open_socket(srv, "LPR") as (ws, _):
        push(srv, {"topic": "LPR", "src": "WS-DOOR-1", "plateNo": "WS1234", "when": "2018-02-01T14:30:15-05:00",
                   "timeBegin": "2018-02-01T14:30:14-05:00"})
        assert next_event(ws) == {
            "timestamp": "2018-02-01T14:30:15.000-05:00",
            "deviceCode": "WS-DOOR-1",
            "deviceName": "WS-DOOR-1",
            "linkedChannel": [],
            "plateNo": "WS1234",
            "timeBegin": "2018-02-01T14:30:14.000-05:00",
            "topic": "LPR",
        }


def test_lpr_message_for_a_snapshot_read(srv, photo):
    with open_socket(srv, "LPR", "/api/subscribeEvents") as (ws, _):
        r = httpx.post(srv.url + "/v1/plate-reader/", files={"upload": ("car.jpg", photo("hr-01.jpg"))},
                       data={"camera_id": "gate-1", "timestamp": "2024-05-06T07:08:09Z"}, timeout=120)
        assert r.status_code in (200, 201), r.text
        result = r.json()["results"][0]
        msg = next_event(ws, 60)
    box = result["box"]
    image = msg.get("image", "")
    assert re.fullmatch(re.escape(srv.url) + r"/api/image/[0-9a-f]{32}/(plate|full)", image), msg
    got = httpx.get(image, auth=ADMIN, timeout=30)  # the link works (signed in, as every TS-API resource)
    assert got.status_code == 200 and got.headers["content-type"].startswith("image/")
    assert msg == {
        "timestamp": "2024-05-06T02:08:09.000-05:00",
        "deviceCode": "gate-1",
        "deviceName": "gate-1",
        "linkedChannel": [],
        "image": image,
        "plateNo": "ZG9757HG",
        "score": round(result["score"] * 100),
        "roi": {"offset": [box["xmin"], box["ymin"]], "size": [box["xmax"] - box["xmin"], box["ymax"] - box["ymin"]]},
        "timeBegin": "2024-05-06T02:08:09.000-05:00",
        "topic": "LPR",
    }


def test_emergency_call_message_and_topic_filtering(srv):
    with open_socket(srv, "LPR") as (lpr, _), open_socket(srv, "emergencyCall", verbose="true") as (calls, _):
        push(srv, [{"topic": "emergencyCall", "device": "vendor/device", "src": "0000001", "event": "callStart",
                    "camera": "1,2,3,4", "when": "2018-02-01T14:30:15-05:00"},
                   {"topic": "LPR", "src": "WS-DOOR-2", "plateNo": "WS2222", "when": "2018-02-01T14:31:00-05:00"}])
        assert next_event(calls) == {"timestamp": "2018-02-01T14:30:15.000-05:00", "caller": "0000001",
                                     "device": "vendor/device", "event": "callStart", "linkedChannel": [],
                                     "name": "0000001", "topic": "emergencyCall"}
        assert next_event(lpr)["plateNo"] == "WS2222"  # the call went to the other socket only
        with pytest.raises(TimeoutError):
            next_event(calls, 2 * PING)


def test_sign_in_failures_disconnect_at_once(srv):
    assert refused(ws_url(srv, topics="LPR")) == (1008, "Sign-in required: the auth= parameter or a session.")
    assert refused(ws_url(srv, topics="LPR", auth=b64("admin", "wrong"))) == (1008, "Wrong user or password.")
    code, reason = refused(ws_url(srv, topics="LPR", auth="%%%not-base64"))
    assert code == 1008 and reason.startswith("Unreadable credentials")
    assert refused(ws_url(srv, topics="LPR", session="no-such-session")) == (
        1008, "The session has ended; sign in again.")
    # a user without the LPR right may not watch reads
    assert refused(ws_url(srv, topics="LPR", auth=b64(*VIEWER))) == (
        1008, "The LPR right is required for the LPR topic.")


def test_http_basic_on_the_handshake_signs_in(srv):
    header = {"Authorization": "Basic " + b64(*ADMIN)}
    with connect(ws_url(srv, topics="LPR"), additional_headers=header, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["topics"] == ["LPR"]


# the TS-API guide's own event viewer (ex3.html, the vendor's current version) asks for these
GUIDE_VIEWER_TOPICS = ("channelStatus,LPR,emergencyCall,systemEvent,motionChanges,parkingCount,packing,"
                       "recordingStatus,object,bodyTemperature")


def test_the_guides_event_viewer_topics_are_all_accepted(srv):
    """Spec 004: "If you request topics=bodyTemperature, you can receive real-time events when high
    temperatures are detected": a topic platehub has no source for stays silent, the others flow."""
    with open_socket(srv, GUIDE_VIEWER_TOPICS, verbose="true") as (ws, hello):
        assert hello["topics"] == GUIDE_VIEWER_TOPICS.split(",")
        assert "unsupportedTopics" not in hello
        push(srv, [{"topic": "LPR", "src": "WS-VIEWER", "plateNo": "WSV123", "when": "2018-02-01T14:30:15-05:00"}])
        deadline = time.monotonic() + 20
        while (msg := next_event(ws, max(0.1, deadline - time.monotonic())))["topic"] != "LPR":
            pass  # the current parking counts and system events come too
        assert msg["plateNo"] == "WSV123"


def test_an_unknown_topic_is_named_in_the_first_message_and_the_others_served(srv):
    with open_socket(srv, "LPR,weather") as (ws, hello):
        assert hello["topics"] == ["LPR"] and hello["unsupportedTopics"] == ["weather"]
        assert "weather" in hello["message"]
        push(srv, [{"topic": "LPR", "src": "WS-WEATHER", "plateNo": "WSW123", "when": "2018-02-01T14:30:16-05:00"}])
        assert next_event(ws)["plateNo"] == "WSW123"
    with open_socket(srv, "weather") as (ws, hello):  # nothing known: open, silent but for pings
        assert hello["topics"] == [] and hello["unsupportedTopics"] == ["weather"]
        assert json.loads(ws.recv(timeout=5 * PING))["topic"] == "ping"


def test_missing_topics_disconnect(srv):
    auth = b64(*ADMIN)
    assert refused(ws_url(srv, auth=auth)) == (1008, "The topics parameter is required, e.g. topics=LPR.")
    code, reason = refused(ws_url(srv, topics="channelStatus", auth=auth, ch="one"))
    assert code == 1008 and "ch must be channel numbers" in reason


def test_topics_without_a_source_are_accepted_and_silent(srv):
    # parkingCount: test_parking.py; channelStatus (its current status first): test_tsapi_channels.py;
    # recordingStatus (every channel's first): test_video_playback.py
    silent = "motionChanges,packing,object"
    with open_socket(srv, silent, user=VIEWER, verbose="true", ch="1,2") as (ws, hello):
        assert hello["topics"] == silent.split(",")
        push(srv, [{"topic": "LPR", "src": "WS-DOOR-3", "plateNo": "WS3333"},
                   {"topic": "emergencyCall", "src": "0000003", "event": "callEnd"}])
        with pytest.raises(TimeoutError):
            next_event(ws, 3 * PING)


def test_channel_status_without_channels_sends_the_empty_current_status_then_nothing(srv):
    with open_socket(srv, "channelStatus", user=VIEWER, ch="1,2") as (ws, hello):
        assert hello["topics"] == ["channelStatus"]
        current = next_event(ws)
        assert (current["topic"], current["event"], current["channel"]) == ("channelStatus", "currentStatus", [])
        push(srv, {"topic": "LPR", "src": "WS-DOOR-4", "plateNo": "WS4444"})
        with pytest.raises(TimeoutError):
            next_event(ws, 3 * PING)


def test_system_event_when_an_lpr_device_comes_online(srv):
    with open_socket(srv, "systemEvent") as (ws, _):
        push(srv, {"topic": "LPR", "src": "WS-NEW-DEVICE", "plateNo": "WS5555"})
        msg = next_event(ws)
    assert (msg["topic"], msg["type"], msg["code"]) == ("systemEvent", 3, 50)
    assert list(msg)[:7] == ["topic", "id", "type", "typeName", "code", "codeName", "timeRange"]
    assert TS.match(msg["timeRange"][0]) and "WS-NEW-DEVICE" in json.dumps(msg)


def test_ping_when_idle(srv):
    with open_socket(srv, "LPR") as (ws, _):
        started = time.monotonic()
        msg = json.loads(ws.recv(timeout=10))
        waited = time.monotonic() - started
        assert msg["topic"] == "ping" and TS.match(msg["timestamp"]) and set(msg) == {"timestamp", "topic"}
        assert 0.5 * PING <= waited <= 5 * PING
        assert json.loads(ws.recv(timeout=10))["topic"] == "ping"  # and again


def stalled_socket(srv) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads (tiny receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.connect(("127.0.0.1", srv.port))
    key = base64.b64encode(b"0123456789abcdef").decode()
    s.sendall((f"GET /wsapi/subscribeEvents?topics=LPR&auth={b64(*ADMIN)} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def test_several_sockets_and_a_stalled_one(srv):
    stalled = stalled_socket(srv)
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(open_socket(srv, "LPR"))[0] for _ in range(3)]
        n = 300
        base = datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC)
        push(srv, [{"topic": "LPR", "src": "WS-MANY", "plateNo": f"MANY{i:04d}",
                    "when": (base + timedelta(seconds=i)).isoformat()} for i in range(n)])
        for ws in sockets:
            plates = [next_event(ws, 30)["plateNo"] for _ in range(n)]
            assert plates == [f"MANY{i:04d}" for i in range(n)]
    stalled.close()
    # the server is still fine
    with open_socket(srv, "LPR") as (ws, _):
        push(srv, {"topic": "LPR", "src": "WS-DOOR-4", "plateNo": "WS4444"})
        assert next_event(ws)["plateNo"] == "WS4444"


def test_disconnect_closes_the_subscription(srv):
    with open_socket(srv, "LPR") as (_, hello):
        sid = hello["subscriberId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and f"event socket {sid} closed" not in srv.log.read_text():
        time.sleep(0.1)
    assert f"event socket {sid} closed" in srv.log.read_text()


def test_lpr_messages_for_a_camera_vehicle_pass(srv):
    """An FF camera's `new` then `updated` events of one car: read.stored, then read.updated — both
    sent as LPR messages (a later recognition of the same car), with the camera's name."""
    from platehub.simulator import ff as sim

    t0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
    with open_socket(srv, "LPR") as (ws, _):
        for state, text, score, seconds in (("new", "AA7564M", 0.61, 0), ("updated", "AA7564MX", 0.93, 1.5)):
            event = sim.make_event(text, 77, state, 1, t0 + timedelta(seconds=seconds), sensor="ws-gate",
                                   name="Office", confidence=score, direction="out", box=(100, 200, 120, 40))
            r = httpx.post(srv.url + "/ff_post.php", timeout=30,
                           files={"event": ("e.json", sim.encode_event(event), "application/json")})
            assert r.status_code == 200, r.text
        first, second = next_event(ws), next_event(ws)
    for msg in (first, second):
        assert (msg["deviceCode"], msg["deviceName"], msg["direction"], msg["topic"]) == (
            "ws-gate", "Office", "exit", "LPR")
        assert msg["timeBegin"] == "2024-05-01T05:00:00.000-05:00"
        assert msg["roi"]["size"][0] > 0 and msg["roi"]["size"][1] > 0
    assert (first["plateNo"], first["score"], first["timestamp"]) == ("AA7564M", 61, "2024-05-01T05:00:00.000-05:00")
    assert (second["plateNo"], second["score"], second["timestamp"]) == (
        "AA7564MX", 93, "2024-05-01T05:00:01.500-05:00")


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_in_process_session_sign_in_and_system_events(tmp_path):
    """A signed-in session (cookie after /api/auth?login=, or session=) is enough; and event log
    entries become systemEvent messages. In-process, to open sessions and publish log entries directly."""
    from starlette.testclient import TestClient

    from platehub.app import create_app
    from platehub.config import Settings
    from platehub.core.bus import READ_STORED
    from platehub.core.eventlog import EVENT_LOGGED
    from platehub.core.store.eventlog import LogEntry
    from platehub.protocols.tsapi.session import COOKIE

    app = create_app(Settings.from_env(data_dir=tmp_path / "data"), engine=object())
    state = app.state.platehub
    sessions = state.store.sessions  # in the database
    token = sessions.open(state.store.users.get("admin"))
    with TestClient(app) as client:
        with client.websocket_connect(f"/wsapi/subscribeEvents?topics=LPR&session={token}") as ws:
            assert ws.receive_json()["topics"] == ["LPR"]
        client.cookies.set(COOKIE, token)
        with client.websocket_connect("/api/subscribeEvents?topics=LPR") as ws:
            assert ws.receive_json()["topics"] == ["LPR"]
            state.bus.publish(READ_STORED, Read(plate="SESS1", plate_raw="SESS1", protocol="push", source="x"))
            assert ws.receive_json()["plateNo"] == "SESS1"
        # systemEvent: event log entries of the System log and LPR device types
        with client.websocket_connect("/api/subscribeEvents?topics=systemEvent") as ws:
            assert ws.receive_json()["topics"] == ["systemEvent"]
            at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
            state.bus.publish(EVENT_LOGGED, LogEntry(1, "privacy", "signIn", at, "admin", None, {}))  # not sent
            state.bus.publish(EVENT_LOGGED, LogEntry(2, "device", "online", at, None, "gate-9", {"name": "Gate 9"}))
            msg = ws.receive_json()
            assert (msg["topic"], msg["id"], msg["type"], msg["code"]) == ("systemEvent", 2, 3, 50)
            assert datetime.fromisoformat(msg["timeRange"][0]) == at and msg["param"] == {"name": "Gate 9"}
        sessions.close(token)
        with client.websocket_connect("/api/subscribeEvents?topics=LPR") as ws:
            message = ws.receive()
            assert message["type"] == "websocket.close" and message["code"] == 1008
