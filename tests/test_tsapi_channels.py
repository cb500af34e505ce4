"""TS-API channel calls (spec 004) against a real `platehub serve` reading a real RTSP stream (GStreamer's
RTSP server on loopback, tests/rtsp_server.py, serving ../shared/data/video/cars.mp4): `/api/status`,
`/api/enum?what=channel`, `/api/channel/info`, adding and deleting channels (`POST` / `DELETE
/api/channel`), device control, the `channelStatus` topic over a real WebSocket (the RTSP server killed:
"No network connection"; back: "Connected"; paused: "No video input"), rights, and the live frame
(`/v1/channels/{id}/frame.jpg`).
The guide's examples are the fixtures; where they are not valid JSON the repair is noted."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Iterator

import cv2
import httpx
import numpy as np
import pytest
from helpers import DEV_DATA, REPO, Server, free_port
from rtsp_server import RtspServer
from websockets.sync.client import connect

from platehub.protocols.tsapi import channelcodec
from platehub.video.status import ChannelStatus

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"
ADMIN = ("admin", "admin-test")
VIEWER = ("viewer", "viewer-pass")  # signed in, no right
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")

# the guide's examples ("Channel list @0.9.4", "Request channel status @0.3.0", "Channel status change
# events"); comments dropped, as JSON has none
GUIDE_ENUM = json.loads('[{"chid": 1, "title": "Front door", "displayName": "CH1. Front door"},'
                        ' {"chid": 2, "title": "", "displayName": "CH2"}]')
GUIDE_STATUS_VERBOSE = json.loads('[{"chid": 1, "status": {"code": 200, "message": "Connected"}}]')
GUIDE_STATUS_CHANGED = json.loads('{"timestamp": "2018-07-20T16:05:45.956-05:00", "topic": "channelStatus",'
                                  ' "event": "statusChanged", "chid": 1,'
                                  ' "status": {"code": 200, "message": "Connected"}}')
# the guide's "When channel name changes" example misses a quote: `"displayName: "CH1. Camera1"` (repaired)
GUIDE_NAME_CHANGED = json.loads('{"timestamp": "2018-07-20T16:05:45.956-05:00", "topic": "channelStatus",'
                                ' "event": "nameChanged", "chid": 1, "name": "Camera1",'
                                ' "displayName": "CH1. Camera1"}')
GUIDE_ADDED = json.loads('{"timestamp": "2018-07-20T16:05:45.956-05:00", "topic": "channelStatus",'
                         ' "event": "channelAdded", "chid": 1}')
# "Request Device Information and Support Function List": the example misses the commas after
# `"type": "onvif"` and `"zoom": true` and has trailing ones (repaired); platehub's channels are no
# ONVIF devices, so its `onvif` part is left out
GUIDE_INFO = json.loads('[{"chid": 1, "type": "onvif", "caps": {"pantilt": true, "zoom": true, "focus": false,'
                        ' "iris": false, "home": true, "maxPreset": 255, "aux": 0, "digitalInputs": 2,'
                        ' "relayOutputs": 2, "reboot": true}}]')
# "Channel status change events", the first channel of its currentStatus message (src: one of its items)
GUIDE_CURRENT_ITEM = json.loads('{"chid": 1, "title": "Camera1", "displayName": "CH1. Camera1",'
                                ' "status": {"code": 200, "message": "Connected"},'
                                ' "caps": {"pantilt": true, "zoom": true, "focus": false, "iris": false,'
                                ' "home": false, "maxPreset": 0, "aux": 0, "digitalInputs": 1, "relayOutputs": 0,'
                                ' "reboot": true}, "src": []}')
# "Vehicle number recognition device list", its TS-LPR zone entry (comments dropped)
GUIDE_LPR_ZONE = json.loads('{"id": 2, "code": "1-1-1", "name": "1-1-1", "linkedChannel": [], "tag": "Normal",'
                            ' "zone": {"id": 0, "chid": 1, "rect": [2622, 1499, 4297, 4297], "mode": "driving",'
                            ' "disabledOnly": false, "noParkingAllowed": false}}')
LOWER_HALF = [[0, 2160], [7680, 2160], [7680, 4320], [0, 4320]]
# "Adding channels @0.9.7", its "Request data example" (the ONVIF item's camera is not ours to reach;
# the video-stream item of the section above it has a trailing comma after "password", repaired here)
GUIDE_ADD_REQUEST = [
    {"name": "My video stream", "source": "rtsp://127.0.0.1:9/stream1", "uid": "admin", "password": "admin",
     "tcp": True},
    {"name": "My camera", "source": "rtsp://127.0.0.1:9/stream2", "tcp": True, "substream": False,
     "uid": "admin", "password": "admin", "device": {"name": "My camera", "url": "onvif://127.0.0.1:9"}},
    {"name": "Video file in my PC", "source": "C:\\video\\myVideo.mp4", "playback": "once"},
]


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def same_shape(ours, guide) -> None:
    """Same keys (recursively, for objects) and JSON types as the guide's example."""
    assert type(ours) is type(guide) or {type(ours), type(guide)} <= {int, float}, (ours, guide)
    if isinstance(guide, dict):
        assert set(ours) == set(guide), (sorted(ours), sorted(guide))
        for k in guide:
            if k != "timestamp":
                same_shape(ours[k], guide[k])
    elif isinstance(guide, list) and guide and ours:
        for item in ours:
            same_shape(item, guide[0])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[RtspServer, Server, httpx.Client]]:
    root = tmp_path_factory.mktemp("tsapi-channels")
    rtsp = RtspServer(free_port(), VIDEO, root / "rtsp.log").start()
    srv = Server(root / "data").start()
    token = srv.cli("token", "create", "channels-test").stdout.strip()
    api = httpx.Client(base_url=srv.url, headers={"Authorization": f"Token {token}"}, timeout=60)
    for args in (("channels", "add", "booth", rtsp.url),
                 ("channels", "add", "spare", str(VIDEO), "--disabled", "--zones", json.dumps([LOWER_HALF])),
                 ("user", "add", VIEWER[0], "--password", VIEWER[1])):
        r = srv.cli(*args)
        assert r.returncode == 0, r.stderr
    yield rtsp, srv, api
    api.close()
    srv.stop()
    rtsp.kill()


def status_of(srv: Server, chid: int, **params) -> dict:
    r = httpx.get(srv.url + "/api/status", params={"ch": str(chid), **params}, auth=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()[0]["status"]


def wait_code(srv: Server, chid: int, codes: tuple[int, ...], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while (s := status_of(srv, chid, verbose="true"))["code"] not in codes:
        assert time.monotonic() < deadline, f"channel {chid} is {s}, waited for {codes}"
        time.sleep(0.5)
    return s


def test_status_codes_of_platehub_states():
    def st(state, error=None, frames=0):
        return ChannelStatus(state, frames, 0, 0, 0, 0, error, 0.0)

    assert [channelcodec.status_code(s) for s in (
        st("disabled"), st("connecting"), st("connecting", "the stream ended", 10), st("online", frames=1),
        st("stalled", "no frame for 6 s"), st("offline", "could not open rtsp://h/x (not a video, or no answer)"),
        st("offline", "no such file: /x.mp4"), st("offline", "the stream ended or timed out"),
    )] == [-1, -3, -4, 200, 410, 404, 404, 408]
    assert set(channelcodec.CODES) == {-5, -4, -3, -2, -1, 0, 1, 2, 200, 401, 403, 404, 408, 410, 503, 1000, 1404}


def test_status_enum_and_info_in_the_guides_shapes(site):
    _, srv, _ = site
    s = wait_code(srv, 1, (200,), 90)
    assert s == {"code": 200, "message": "Connected"}
    c = httpx.Client(base_url=srv.url, auth=ADMIN, timeout=30)
    everything = c.get("/api/status").json()
    assert [x["chid"] for x in everything] == [1, 2]
    assert everything[1] == {"chid": 2, "status": {"code": -1}}  # disabled: "Not used"; no message unasked
    verbose = c.get("/api/status?verbose=true&ch=1").json()
    same_shape(verbose, GUIDE_STATUS_VERBOSE)
    assert c.get("/api/status?verbose=true&ch=2&lang=es-ES").json()[0]["status"]["message"] == "No utilizado"
    assert c.get("/api/status?ch=7").json() == [] and c.get("/api/status?ch=one").status_code == 400

    channels = c.get("/api/enum?what=channel").json()
    same_shape(channels, GUIDE_ENUM)
    assert channels == [{"chid": 1, "title": "booth", "displayName": "CH1. booth"},
                        {"chid": 2, "title": "spare", "displayName": "CH2. spare"}]
    caps = c.get("/api/enum?what=channel&caps&staticSrc&ch=1").json()
    assert len(caps) == 1 and caps[0]["src"] == [] and caps[0]["caps"]["pantilt"] is False
    info = c.get("/api/channel/info").json()
    same_shape(info, GUIDE_INFO)
    assert [(i["chid"], i["type"]) for i in info] == [(1, "rtsp"), (2, "file")]
    assert c.get("/api/channel/info?caps&ch=2").json() == [{"chid": 2, "caps": channelcodec.CAPS}]
    # each channel is an LPR source with its zone (8K logical coordinates), as TS-LPR's own recognition
    sources = {x["code"]: x for x in c.get("/api/enum?what=lprSrc").json()}
    for name in ("booth", "spare"):
        same_shape({k: v for k, v in sources[name].items() if k not in ("online", "protocol")}, GUIDE_LPR_ZONE)
    assert sources["booth"]["linkedChannel"] == [1] and sources["booth"]["zone"]["rect"] == [0, 0, 7680, 4320]
    assert sources["spare"]["zone"] == {"id": 0, "chid": 2, "rect": [0, 2160, 7680, 4320], "mode": "driving",
                                        "disabledOnly": False, "noParkingAllowed": False}
    assert sources["spare"]["tag"] == "NotUsed" and sources["booth"]["tag"] == "Normal"
    # the licence no longer says "no channels"
    assert c.get("/api/info?license").json()["license"]["maxChannels"] >= 2


def test_rights_follow_the_guide(site):
    _, srv, _ = site
    anon = httpx.Client(base_url=srv.url, timeout=30)
    for path in ("/api/status", "/api/enum?what=channel", "/api/channel/info", "/api/channel/ptz?ch=1&home"):
        assert anon.get(path).status_code == 401, path
    viewer = httpx.Client(base_url=srv.url, auth=VIEWER, timeout=30)
    assert viewer.get("/api/status").status_code == 200  # reading channels: signed in is enough
    assert viewer.get("/api/enum?what=channel").status_code == 200
    # device control without the Control right: the guide's code -1 in a 200 reply
    assert viewer.get("/api/channel/ptz?ch=1&home").json() == {"code": -1, "message": "No user rights"}
    r = viewer.post("/api/channel", json=[{"source": "rtsp://127.0.0.1:9/x"}])
    assert r.status_code == 403 and r.json() == {"code": -1, "message": "The Settings right is required."}
    assert viewer.delete("/api/channel/1").status_code == 403
    admin = httpx.Client(base_url=srv.url, auth=ADMIN, timeout=30)
    assert admin.get("/api/channel/ptz?ch=1&move=0.5,0.5").json() == {
        "code": -2, "message": "Features not supported by the device"}
    assert admin.get("/api/channel/reboot?ch=99").json()["code"] == -5  # "Invalid channel"
    assert admin.get("/api/channel/preset?list").json()["code"] == -2
    # the /v1 live frame needs the LPR right (a token, or a signed-in user holding it)
    assert httpx.get(srv.url + "/v1/channels/1/frame.jpg").status_code == 403


def test_adding_and_deleting_channels_with_the_guides_request(site):
    _, srv, api = site
    admin = httpx.Client(base_url=srv.url, auth=ADMIN, timeout=30)
    r = admin.post("/api/channel", json=GUIDE_ADD_REQUEST)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == {"code": 0, "message": "Channels were added successfully."}
    added = body["added"]
    assert [(a["name"], a["type"]) for a in added] == [
        ("My video stream", "rtsp"), ("My camera", "rtsp"), ("Video file in my PC", "file")]
    assert added[0]["source"] == "rtsp://admin:***@127.0.0.1:9/stream1" and added[0]["tcp"] is True
    assert added[2]["playback"] == "repeat"  # a file channel plays again and again
    stored = {c["name"]: c for c in api.get("/v1/channels/").json()["channels"]}
    assert stored["My video stream"]["url"] == "rtsp://admin:***@127.0.0.1:9/stream1"  # the login went into the URL
    ids = [a["chid"] for a in added]

    partly = admin.post("/api/channel", json=[{"source": "rtsp://127.0.0.1:9/s3", "name": "third"},
                                              {"name": "no source"}, {"chid": 1, "source": "rtsp://127.0.0.1:9/s4"},
                                              {"source": "rtsp://h/x", "device": {"name": "cam"}}]).json()
    assert partly["status"]["code"] == -5 and [a["name"] for a in partly["added"]] == ["third"]
    assert [f["code"] for f in partly["failed"]] == [-2, -1, -3]
    ids.append(partly["added"][0]["chid"])
    assert admin.post("/api/channel", json=[{"name": "x"}]).json()["status"]["code"] == -6
    assert admin.post("/api/channel", content=b"{not json").status_code == 400

    gone = admin.delete(f"/api/channel/{ids[0]},{ids[1]},999").json()
    assert gone == {"status": {"code": -9, "message": "Only some channels have been deleted."},
                    "deleted": ids[:2], "failed": [999]}
    assert admin.delete("/api/channel/999").json()["status"]["code"] == -8
    assert admin.delete("/api/channel/,").json()["status"]["code"] == -7
    assert admin.delete(f"/api/channel/{ids[2]},{ids[3]}").json() == {
        "status": {"code": 0, "message": "Channels were deleted successfully."}, "deleted": ids[2:]}
    assert [c["chid"] for c in admin.get("/api/enum?what=channel").json()] == [1, 2]


def test_the_live_frame_is_the_streams_newest_frame(site):
    _, srv, api = site
    wait_code(srv, 1, (200,), 90)
    first = api.get("/v1/channels/booth/frame.jpg")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(first.content, np.uint8), cv2.IMREAD_COLOR)
    probe = cv2.VideoCapture(str(VIDEO))
    size = (int(probe.get(cv2.CAP_PROP_FRAME_WIDTH)), int(probe.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    probe.release()
    assert image is not None and (image.shape[1], image.shape[0]) == size
    assert abs(float(first.headers["x-frame-time"]) - time.time()) < 10
    time.sleep(1.5)
    later = api.get("/v1/channels/1/frame.jpg")
    assert later.status_code == 200 and float(later.headers["x-frame-time"]) > float(first.headers["x-frame-time"])
    disabled = api.get("/v1/channels/spare/frame.jpg")
    assert disabled.status_code == 503 and disabled.headers["retry-after"] == "1"
    assert api.get("/v1/channels/nope/frame.jpg").status_code == 404


def receive(ws, timeout: float = 30.0) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def until_event(ws, ok, timeout: float, what: str) -> list[dict]:
    """Messages until one satisfies `ok` (all of them, that one last)."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"{what}: got {seen}"
        try:
            msg = receive(ws, left)
        except TimeoutError:
            continue
        if msg.get("topic") == "ping":
            continue
        seen.append(msg)
        if ok(msg):
            return seen


def test_channel_status_topic_reports_an_outage_and_the_recovery(site):
    rtsp, srv, api = site
    wait_code(srv, 1, (200,), 90)
    url = srv.url.replace("http", "ws") + f"/wsapi/subscribeEvents?topics=channelStatus&verbose=true&auth={b64(*ADMIN)}"
    with connect(url, open_timeout=30) as ws:
        assert receive(ws)["topics"] == ["channelStatus"]
        current = receive(ws)
        assert current["topic"] == "channelStatus" and current["event"] == "currentStatus" and TS.match(
            current["timestamp"])
        by_id = {c["chid"]: c for c in current["channel"]}
        assert by_id[1]["title"] == "booth" and by_id[1]["displayName"] == "CH1. booth"
        assert by_id[2]["status"] == {"code": -1, "message": "Not used"}
        same_shape(by_id[1], GUIDE_CURRENT_ITEM)

        rtsp.kill()  # the camera goes away: it cannot even be connected to ("No network connection")
        seen = until_event(ws, lambda m: m.get("chid") == 1 and m.get("status", {}).get("code") == 404, 90,
                           "the RTSP server killed")
        for m in seen:
            same_shape(m, GUIDE_STATUS_CHANGED)
        codes = [m["status"]["code"] for m in seen if m["chid"] == 1]
        assert all(a != b for a, b in itertools.pairwise(codes)), codes  # only changes of code
        rtsp.start()  # back on the same port: the channel finds it by itself
        until_event(ws, lambda m: m.get("chid") == 1 and m.get("status") == {"code": 200, "message": "Connected"},
                    120, "the RTSP server back")

        # a stall (the server alive, no frame comes): "No video input"; pause early in a play of the clip,
        # not as it ends (each play ends the stream: 408, then a reconnect)
        deadline = time.monotonic() + 120
        while not ((st := api.get("/v1/channels/1/").json()["status"])["state"] == "online"
                   and time.time() - st["since"] < 6):
            assert time.monotonic() < deadline, st
            time.sleep(0.3)
        rtsp.pause()
        t0 = time.monotonic()
        try:
            until_event(ws, lambda m: m.get("chid") == 1 and m.get("status", {}).get("code") == 410, 30, "stall")
            assert time.monotonic() - t0 < 15
        finally:
            rtsp.resume()
        until_event(ws, lambda m: m.get("chid") == 1 and m.get("status", {}).get("code") == 200, 60, "after the stall")

        # settings changes (from any door) are events too: added, renamed, source changed, removed
        cid = api.post("/v1/channels/", json={"name": "gate", "url": "rtsp://127.0.0.1:9/gate",
                                               "enabled": False}).json()["id"]
        added = until_event(ws, lambda m: m.get("event") == "channelAdded", 30, "channel added")[-1]
        same_shape(added, GUIDE_ADDED)
        assert added["chid"] == cid
        api.patch(f"/v1/channels/{cid}/", json={"name": "gate 2", "url": "rtsp://127.0.0.1:9/gate2"})
        renamed = until_event(ws, lambda m: m.get("event") == "nameChanged", 30, "channel renamed")[-1]
        same_shape(renamed, GUIDE_NAME_CHANGED)
        assert (renamed["name"], renamed["displayName"]) == ("gate 2", f"CH{cid}. gate 2")
        until_event(ws, lambda m: m.get("event") == "videoSrcModified" and m["chid"] == cid, 30, "source changed")
        assert api.delete(f"/v1/channels/{cid}/").status_code == 204
        until_event(ws, lambda m: m.get("event") == "channelRemoved" and m["chid"] == cid, 30, "channel removed")

    # ch= picks channels: only channel 2's status comes
    with connect(url + "&ch=2", open_timeout=30) as ws:
        receive(ws)
        assert [c["chid"] for c in receive(ws)["channel"]] == [2]
