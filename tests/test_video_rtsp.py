"""A video channel on a real RTSP stream: GStreamer's RTSP server on loopback (tests/rtsp_server.py)
serves ../shared/data/video/cars.mp4 in real time; a real `platehub serve` reads it as a channel added
by the CLI (5 frames a second, fast mode: the defaults). Exactly one read per vehicle (89C20339,
34A36837, 34A23126), none for the parked van — also while the stream ends and is read again from the
start (Stream's memory_decay: a plate remembered is not a new pass). Then the outages: the server
stopped (SIGSTOP: connected, no frames) is reported "stalled" within seconds, killed is reported
"offline", and the channel recovers by itself when the server is back."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from helpers import DEV_DATA, REPO, free_port
from rtsp_server import RtspServer

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"
EXPECTED = sorted({"89C20339", "34A36837", "34A23126"})


@pytest.fixture(scope="module")
def site(tmp_path_factory, request):
    from helpers import Server

    root = tmp_path_factory.mktemp("rtsp")
    rtsp = RtspServer(free_port(), VIDEO, root / "rtsp.log").start()
    srv = Server(root / "data").start()
    token = srv.cli("token", "create", "rtsp-test").stdout.strip()
    api = httpx.Client(base_url=srv.url, headers={"Authorization": f"Token {token}"}, timeout=60)
    r = srv.cli("channels", "add", "booth", rtsp.url)
    assert r.returncode == 0, r.stderr
    yield rtsp, srv, api
    api.close()
    srv.stop()
    rtsp.kill()


def status(api: httpx.Client) -> dict:
    return api.get("/v1/channels/booth/").json()["status"]


def wait(api: httpx.Client, ok, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        s = status(api)
        if ok(s):
            return s
        assert time.monotonic() < deadline, f"{what}: the channel is {s}"
        time.sleep(0.5)


def video_reads(srv) -> list[dict]:
    lines = srv.cli("reads", "--limit", "1000").stdout.splitlines()
    return [r for r in map(json.loads, lines) if r["protocol"] == "video" and r["source"] == "booth"]


def test_one_read_per_vehicle_from_the_rtsp_stream(site):
    _, srv, api = site
    wait(api, lambda s: s["state"] == "online", 90, "connecting")
    # the clip is 18.7 s; wait for it to play through (the channel then reconnects and reads it again)
    deadline = time.monotonic() + 240
    while len(video_reads(srv)) < len(EXPECTED) and time.monotonic() < deadline:
        time.sleep(2)
    time.sleep(25)  # a second play of the clip (after the reconnect) adds no read
    reads = video_reads(srv)
    got = sorted(r["plate"] for r in reads)
    s = status(api)
    assert got == EXPECTED, f"read over RTSP: {[(r['plate'], r['score']) for r in reads]}; channel: {s}"
    assert all(r["image_full"] and r["image_plate"] and r["first_seen"] <= r["last_seen"] for r in reads)
    assert s["frames_read"] > 0 and s["frames_processed"] > 0 and s["reads"] >= len(EXPECTED)


def test_a_stall_and_an_outage_are_reported_and_the_channel_recovers(site):
    rtsp, _, api = site
    # the server plays the 18.7 s clip once per connection: pause it early in a play, not as it ends
    wait(api, lambda s: s["state"] == "online" and time.time() - s["since"] < 6, 120, "before the stall")
    rtsp.pause()  # connected, but no frame comes
    t0 = time.monotonic()
    try:
        s = wait(api, lambda s: s["state"] == "stalled", 30, "stopping the server")
        assert time.monotonic() - t0 < 15 and "no frame" in s["last_error"]
    finally:
        rtsp.resume()
    wait(api, lambda s: s["state"] == "online", 90, "after the stall")
    rtsp.kill()
    s = wait(api, lambda s: s["state"] in ("offline", "connecting") and s["last_error"]
             and "no frame" not in s["last_error"], 60, "killing the server")
    before = s["frames_read"]
    rtsp.start()  # same port: the channel finds it by itself (backoff at most 30 s)
    s = wait(api, lambda s: s["state"] == "online" and s["frames_read"] > before, 120, "restarting the server")
    assert s["frames_read"] > before
