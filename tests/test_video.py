"""Reading plates from video files: `POST /v1/video-reader/` and `platehub video FILE` on the shared test
clip (../shared/data/video/README.md: three vehicles pass a toll booth — 89C20339, 34A36837, 34A23126 —
and a parked van must not be reported again and again), bad uploads, and the channels' CLI and
`/v1/channels/` API. The real server and engine; fast mode, 5 frames a second, as a channel's default."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from helpers import DEV_DATA, REPO

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"
EXPECTED = {"89C20339", "34A36837", "34A23126"}  # one read each; the van none


def plates(passes: list[dict]) -> list[str]:
    return sorted(p["plate"] for p in passes)


def test_upload_gives_one_pass_per_vehicle_and_stores_them_under_the_camera_id(server):
    camera = f"booth-{uuid.uuid4().hex[:6]}"
    r = httpx.post(server.url + "/v1/video-reader/", files={"upload": ("cars.mp4", VIDEO.read_bytes(), "video/mp4")},
                   data={"camera_id": camera, "sample_rate": "5"}, timeout=1800)
    assert r.status_code == 200, r.text
    body = r.json()
    read = plates(body["passes"])
    assert read == sorted(EXPECTED), f"read from the file: {[(p['plate'], p['score']) for p in body['passes']]}"
    assert 18 < body["duration"] < 19.5 and (body["width"], body["height"]) == (1280, 720)
    assert body["frames"]["decoded"] >= 330 and 85 <= body["frames"]["processed"] <= 100
    for p in body["passes"]:
        assert p["first_seen"] <= p["frame_time"] <= p["last_seen"] and p["frames"] >= 2
        assert p["candidates"][0]["plate"] == p["plate"] and set(p["box"]) == {"xmin", "ymin", "xmax", "ymax"}
    # with a camera_id each pass went through the ingest path: stored with its best frame and crop
    stored = [json.loads(line) for line in server.cli("reads", "--limit", "100000").stdout.splitlines()]
    mine = [s for s in stored if s["source"] == camera]
    assert sorted(s["plate"] for s in mine) == read
    assert {s["protocol"] for s in mine} == {"video"}
    assert {s["id"] for s in mine} == {p["read"] for p in body["passes"]}
    assert all(s["image_full"] and s["image_plate"] for s in mine)


def test_cli_prints_the_same_passes():
    r = subprocess.run([sys.executable, "-m", "platehub.cli", "video", str(VIDEO)], capture_output=True, text=True,
                       timeout=1800)
    assert r.returncode == 0, r.stderr
    passes = json.loads(r.stdout)["passes"]
    assert plates(passes) == sorted(EXPECTED), f"read from the file: {[(p['plate'], p['score']) for p in passes]}"


@pytest.mark.parametrize("name, data, status, says", [
    ("empty.mp4", b"", 400, "empty"),
    ("notes.mp4", b"these are not the frames you are looking for\n" * 50, 400, "not a readable video"),
    ("cut.mp4", VIDEO.read_bytes()[:200_000], 400, "not a readable video"),  # the index (moov) is at the end
])
def test_bad_uploads_get_a_clear_400(server, name, data, status, says):
    r = httpx.post(server.url + "/v1/video-reader/", files={"upload": (name, data, "video/mp4")}, timeout=120)
    assert r.status_code == status and says in r.json()["detail"], r.text


def test_bad_fields_and_a_missing_file_get_a_400(server):
    r = httpx.post(server.url + "/v1/video-reader/", files={"other": ("x", b"x")}, timeout=60)
    assert r.status_code == 400 and "upload" in r.json()["detail"]
    r = httpx.post(server.url + "/v1/video-reader/", files={"upload": ("a.mp4", b"x")}, data={"sample_rate": "fast"},
                   timeout=60)
    assert r.status_code == 400 and "sample_rate" in r.json()["detail"]
    r = httpx.post(server.url + "/v1/video-reader/", content=b"raw", timeout=60)
    assert r.status_code == 400 and "multipart" in r.json()["detail"]


def test_a_video_over_the_upload_limit_gets_413(make_server):
    srv = make_server(PLATEHUB_UPLOAD_LIMIT=str(1_000_000))
    r = httpx.post(srv.url + "/v1/video-reader/", files={"upload": ("cars.mp4", VIDEO.read_bytes(), "video/mp4")},
                   timeout=120)
    assert r.status_code == 413, r.text


def test_cli_on_a_file_that_is_not_a_video_says_so(tmp_path: Path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"no video here")
    r = subprocess.run([sys.executable, "-m", "platehub.cli", "video", str(bad)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2 and "x.mp4" in r.stderr and "could not open" in r.stderr


def test_channels_api_and_cli(server):
    token = server.cli("token", "create", "channels-test").stdout.strip()
    name = f"gate-{uuid.uuid4().hex[:6]}"
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Token {token}"}, timeout=60) as api:
        assert httpx.get(server.url + "/v1/channels/").status_code == 403  # not signed in
        bad = api.post("/v1/channels/", json={"name": name, "url": "rtsp://127.0.0.1:1/x", "zones": [[[0, 0]]]})
        assert bad.status_code == 400 and "zones" in bad.json()["detail"]
        bad = api.post("/v1/channels/", json={"name": name, "url": "ftp://x/y"})
        assert bad.status_code == 400 and "url" in bad.json()["detail"]
        # nothing listens on port 1: the channel is tried, reported offline with the reason
        r = api.post("/v1/channels/", json={"name": name, "url": "rtsp://cam:secret@127.0.0.1:1/x",
                                            "sample_rate": 2, "direction": "in",
                                            "zones": [[[0, 2160], [7680, 2160], [7680, 4320], [0, 4320]]]})
        assert r.status_code == 201, r.text
        ch = r.json()
        assert ch["url"] == "rtsp://cam:***@127.0.0.1:1/x" and ch["mode"] == "fast" and ch["direction"] == "in"
        assert api.post("/v1/channels/", json={"name": name, "url": "rtsp://h/x"}).status_code == 409
        status = _wait(api, name, lambda s: s["state"] == "offline")
        assert status["last_error"] and "could not open" in status["last_error"]
        r = api.patch(f"/v1/channels/{name}/", json={"enabled": False, "sample_rate": 1})
        assert r.status_code == 200 and r.json()["sample_rate"] == 1
        assert _wait(api, name, lambda s: s["state"] == "disabled")
        # the CLI sees and changes the same channels (a running server follows within seconds)
        listed = server.cli("channels", "list").stdout
        assert name in listed and "secret" not in listed and "disabled" in listed
        r = server.cli("channels", "set", name, "--enable", "--mode", "regular", "--text-format", "^[0-9]{2}[A-Z]")
        assert r.returncode == 0, r.stderr
        got = api.get(f"/v1/channels/{name}/").json()
        assert got["enabled"] and got["mode"] == "regular" and got["text_formats"] == ["^[0-9]{2}[A-Z]"]
        _wait(api, name, lambda s: s["state"] != "disabled")
        assert server.cli("channels", "add", name, "x.mp4").returncode == 2  # the name is taken
        assert server.cli("channels", "remove", name).returncode == 0
        assert api.get(f"/v1/channels/{name}/").status_code == 404
        assert api.delete(f"/v1/channels/{name}/").status_code == 404


def _wait(api: httpx.Client, name: str, ok, timeout: float = 60) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while True:
        status = api.get(f"/v1/channels/{name}/").json()["status"]
        if ok(status) or time.monotonic() > deadline:
            assert ok(status), status
            return status
        time.sleep(0.5)
