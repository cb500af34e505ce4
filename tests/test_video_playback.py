"""Recording and playback through a real `platehub serve`: a channel added by the CLI with recording on
(2-second segments) records GStreamer's RTSP stream (tests/rtsp_server.py, cars.mp4) with the real
ffmpeg; the TS-API then finds the recorded dates and minutes (`/api/find?what=recDays|recMinutes`),
lists the video sources (`/api/vod`, live and recorded), and `/watch` gives HLS playlists (recorded:
byte ranges of the fMP4 segments, each of which decodes; live: ffmpeg's, which ffmpeg plays), and an
MJPEG view; `recordingStatus` comes over the WebSocket; everything needs a sign-in (recorded video the
Playback right). Last, platehub is SIGKILLed while recording: its ffmpeg dies with it, the segment
being written still plays, and the next start records again."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import pytest
from helpers import DEV_DATA, REPO, Server, free_port, next_event
from rtsp_server import RtspServer
from test_video_recording import decoded_frames, probe, wait_for
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from platehub.video.mp4 import scan
from platehub.video.recordings import Recordings

VIDEO = (DEV_DATA or REPO.parent / "shared/data/video/x").parent / "video" / "cars.mp4"
ADMIN = ("admin", "admin-test")
VIEWER = ("viewer", "viewer-pass")  # Remote only: live video, not recordings


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("playback")
    rtsp = RtspServer(free_port(), VIDEO, root / "rtsp.log").start()
    srv = Server(root / "data", PLATEHUB_RECORD_SEGMENT="2").start()
    r = srv.cli("channels", "add", "booth", rtsp.url, "--recording", "continuous", "--sample-rate", "1")
    assert r.returncode == 0, r.stderr
    r = srv.cli("user", "add", VIEWER[0], "--password", VIEWER[1], "--rights", "Remote")
    assert r.returncode == 0, r.stderr
    api = httpx.Client(base_url=srv.url, auth=ADMIN, timeout=30)
    recordings = Recordings(srv.data / "recordings")
    wait_for(lambda: len(recordings.segments(1)) >= 3, 90, "three recorded segments")
    yield rtsp, srv, api, recordings
    api.close()
    if srv.proc.poll() is None:
        srv.stop()
    rtsp.kill()


def test_recorded_days_and_minutes(site):
    _, _, api, recordings = site
    segments = recordings.segments(1)
    today = segments[0].start.astimezone()
    days = api.get("/api/find", params={"what": "recDays"}).json()
    assert {"year": today.year, "month": today.month, "days": [today.day]} in days["data"]
    per = api.get("/api/find", params={"what": "recDays", "ch": "1"}).json()
    assert per["data"][0]["chid"] == 1 and per["data"][0]["data"][0]["days"] == [today.day]
    assert api.get("/api/find", params={"what": "recDays", "ch": "2"}).json()["data"] == []
    begin = (segments[0].start - timedelta(minutes=2)).replace(microsecond=0)
    got = api.get("/api/find", params={"what": "recMinutes", "timeBegin": begin.isoformat().replace("+00:00", "Z"),
                                       "timeEnd": (begin + timedelta(hours=1)).isoformat().replace("+00:00", "Z")})
    assert got.status_code == 200, got.text
    hours = got.json()["data"][0]["data"]
    recorded = {datetime(h["year"], h["month"], h["day"], h["hour"], m, tzinfo=UTC)
                for h in hours for m in h["minutes"]}
    assert segments[0].start.replace(second=0) in recorded  # UTC asked, UTC answered
    assert begin.replace(second=0) not in recorded  # two minutes before the first segment: nothing
    too_long = api.get("/api/find", params={"what": "recMinutes", "timeBegin": "2026-01-01T00:00:00Z",
                                            "timeEnd": "2026-01-05T00:00:00Z"})
    assert too_long.status_code == 400 and too_long.json()["code"] == -2


def test_vod_lists_live_and_recorded_sources(site):
    _, _, api, recordings = site
    live = api.get("/api/vod").json()
    assert [c["chid"] for c in live] == [1] and live[0]["title"] == "booth"
    kinds = {s["protocol"]: s for s in live[0]["src"]}
    assert set(kinds) == {"hls", "mjpeg"} and kinds["hls"]["size"] == [1280, 720]
    assert api.get("/api/vod", params={"protocol": "hls"}).json()[0]["src"] == [kinds["hls"]]
    assert "src" not in api.get("/api/vod", params={"nameonly": ""}).json()[0]
    first = recordings.segments(1)[0]
    assert api.get("/api/vod", params={"when": first.start.isoformat()}).status_code == 400  # ch is required
    items = api.get("/api/vod", params={"ch": "1", "when": first.start.isoformat(), "duration": "1h"}).json()
    assert len(items) >= 3 and items[0]["fileId"] == first.file_id
    src = items[0]["src"][0]
    assert src["type"] == "video/mp4" and src["size"] == [1280, 720]
    assert datetime.fromisoformat(src["timeRange"][0]) == first.start
    nxt = api.get("/api/vod", params={"id": str(first.file_id), "next": ""}).json()
    assert nxt[0]["fileId"] == items[1]["fileId"]
    prev = api.get("/api/vod", params={"id": str(items[1]["fileId"]), "prev": "true"}).json()
    assert prev[0]["fileId"] == first.file_id
    before = first.start - timedelta(hours=1)
    assert api.get("/api/vod", params={"ch": "1", "when": before.isoformat()}).json() == []
    near = api.get("/api/vod", params={"ch": "1", "when": before.isoformat(), "otherwise": "nearAfter"}).json()
    assert near[0]["fileId"] == first.file_id
    # the file itself, with Basic auth (as the guide says for files) and byte ranges
    r = httpx.get(src["src"], auth=ADMIN, headers={"Range": "bytes=0-7"})
    assert r.status_code == 206 and r.content[4:8] == b"ftyp"


def test_watch_plays_recorded_video_as_hls(site, tmp_path):
    _, srv, api, recordings = site
    segments = recordings.segments(1)
    n = next(i for i, s in enumerate(segments) if i and s.layout.duration >= 2)  # a whole one
    when = segments[n].start + timedelta(seconds=1)
    r = api.get("/watch", params={"ch": "1", "when": when.isoformat(), "duration": "10m"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    lines = r.text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    links = [line for line in lines if line.startswith("/watch/rec/1/")]
    first = next(s for s in segments if links[0].startswith(f"/watch/rec/1/{s.name}?t="))
    assert first.start <= when < first.end and first.start >= segments[n - 1].start
    assert f"#EXT-X-START:TIME-OFFSET={(when - first.start).total_seconds():.3f},PRECISE=YES" in lines
    # the recorder goes on while the test runs: list the segments again, after the playlist was made, so
    # that a segment begun meanwhile is known (the playlist's last one may be newer than `segments`)
    segments = recordings.segments(1)
    n = segments.index(next(s for s in segments if s.start == first.start))
    # every entry is what it says: its MAP range + its media range is an MP4 that decodes as the file
    entries = _entries(lines)
    assert len(entries) == len(links) >= 2
    for k, (init, media, extinf, url) in enumerate(entries):
        assert url.split("?")[0] == f"/watch/rec/1/{segments[n + k].name}"
        body = b""
        for start, length in (init, media):
            part = httpx.get(srv.url + url, headers={"Range": f"bytes={start}-{start + length - 1}"})
            assert part.status_code == 206 and len(part.content) == length
            body += part.content
        (tmp_path / f"{k}.mp4").write_bytes(body)
        on_disk = tmp_path / f"{k}-disk.mp4"  # the file as far as the playlist lists it (the last one grows)
        on_disk.write_bytes(segments[n + k].path.read_bytes()[:media[0] + media[1]])
        assert decoded_frames(tmp_path / f"{k}.mp4") == decoded_frames(on_disk) > 10
        assert abs(extinf - scan(on_disk).duration) < 0.001  # the duration of the bytes listed
    # a link without its token, or with another channel's, needs a sign-in
    bare = links[0].split("?")[0]
    assert httpx.get(srv.url + bare).status_code == 401
    assert httpx.get(srv.url + bare, auth=ADMIN).status_code == 200
    forged = links[0].replace("/watch/rec/1/", "/watch/rec/2/")
    assert httpx.get(srv.url + forged).status_code == 401
    gone = api.get("/watch", params={"ch": "1", "when": "2001-01-01T00:00:00Z"})
    assert gone.status_code == 404 and gone.json()["code"] == 1404


def _entries(lines: list[str]) -> list[tuple[tuple[int, int], tuple[int, int], float, str]]:
    """(init (offset, length), media (offset, length), EXTINF, link) of each entry of a recorded playlist."""
    out, init, media, extinf = [], (0, 0), (0, 0), 0.0
    for line in lines:
        if line.startswith("#EXT-X-MAP:"):
            length, _, offset = line.split('BYTERANGE="')[1].rstrip('"').partition("@")
            init = (int(offset), int(length))
        elif line.startswith("#EXTINF:"):
            extinf = float(line[8:].rstrip(","))
        elif line.startswith("#EXT-X-BYTERANGE:"):
            length, _, offset = line[17:].partition("@")
            media = (int(offset), int(length))
        elif line and not line.startswith("#"):
            out.append((init, media, extinf, line))
    return out


def test_watch_live_hls_mjpeg_and_the_player_page(site, tmp_path):
    _, srv, api, _ = site
    r = api.get("/watch", params={"ch": "1"})
    assert r.status_code == 200 and "#EXT-X-ENDLIST" not in r.text
    link = next(line for line in r.text.splitlines() if line.startswith("/watch/live/1/"))
    seg = httpx.get(srv.url + link)
    assert seg.status_code == 200 and seg.content[:1] == b"\x47"  # an MPEG-TS packet
    live = f"{srv.url}/watch?ch=1&auth={b64(*VIEWER)}"  # live video needs no Playback right
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", live, "-t", "2", "-c", "copy", str(tmp_path / "live.ts")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert decoded_frames(tmp_path / "live.ts") > 30
    with httpx.stream("GET", f"{srv.url}/watch", params={"ch": "1", "protocol": "mjpeg"}, auth=VIEWER) as m:
        assert m.headers["content-type"].startswith("multipart/x-mixed-replace")
        head = b""
        for chunk in m.iter_bytes():
            head += chunk
            if head.count(b"\xff\xd8") >= 2:
                break
    assert b"Content-Type: image/jpeg" in head
    page = api.get("/watch", params={"ch": "1"}, headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self';" in page.headers["content-security-policy"]  # its script is /console/watch.js


def test_the_watch_page_plays_recorded_and_live_video_in_chromium(site, browser):
    """The guide's iframe player in headless Chromium: its own HLS player plays the recorded playlist
    from the moment asked and across a segment boundary (a discontinuity) and the live playlist; in a
    browser without HLS the page plays the MP4 segments one after the other, and live video as MJPEG."""
    _, srv, _, recordings = site
    segments = _at_least(recordings, 4)
    n = next(i for i, s in enumerate(segments) if i and s.layout.duration >= 2)
    when = segments[n].start + timedelta(seconds=1)
    recorded = f"{srv.url}/watch?ch=1&when={quote(when.isoformat())}&auth={quote(b64(*ADMIN))}"
    live = f"{srv.url}/watch?ch=1&auth={quote(b64(*VIEWER))}"
    playing = ("(t) => { const v = document.getElementById('v');"
               " return !v.hidden && v.currentTime > t && v.videoWidth === 1280; }")
    native = browser.new_page()
    try:
        native.goto(recorded)
        if native.evaluate("document.getElementById('v').canPlayType('application/vnd.apple.mpegurl')"):
            past_first = segments[n].layout.duration + 0.5  # beyond the first segment's end
            native.wait_for_function(playing, arg=past_first, timeout=30000)
            assert "protocol=hls" in native.evaluate("document.getElementById('v').currentSrc")
            native.goto(live)
            native.wait_for_function(playing, arg=1, timeout=30000)
    finally:
        native.close()
    page = browser.new_page()
    page.add_init_script("HTMLMediaElement.prototype.canPlayType = () => '';")  # a browser without HLS
    try:
        page.goto(recorded)
        page.wait_for_function(playing, arg=1.5, timeout=30000)
        assert "/watch/rec/1/" in page.evaluate("document.getElementById('v').currentSrc")
        page.goto(live)
        page.wait_for_function("() => { const i = document.getElementById('i');"
                               " return !i.hidden && i.naturalWidth === 1280; }", timeout=30000)
    finally:
        page.close()


def test_sign_in_and_the_playback_right_are_required(site):
    _, srv, _, recordings = site
    first = recordings.segments(1)[0]
    when = first.start.isoformat()
    for path, params in (("/api/vod", {}), ("/watch", {"ch": "1"}), ("/api/find", {"what": "recDays"}),
                         (f"/watch/rec/1/{first.name}", {})):
        assert httpx.get(srv.url + path, params=params).status_code == 401, path
    viewer = httpx.Client(base_url=srv.url, auth=VIEWER)
    assert viewer.get("/api/vod").status_code == 200
    assert viewer.get("/api/vod", params={"ch": "1", "when": when}).status_code == 403
    assert viewer.get("/watch", params={"ch": "1", "when": when}).status_code == 403
    assert viewer.get("/api/find", params={"what": "recDays"}).status_code == 403
    assert viewer.get(f"/watch/rec/1/{first.name}").status_code == 403


def test_recording_status_over_the_websocket(site):
    rtsp, srv, api, _ = site
    status = api.get("/api/status", params={"recordingStatus": ""}).json()
    assert status[0]["chid"] == 1 and status[0]["recordingStatus"] == {"streaming": True, "recording": True}
    assert "recordingStatus" not in api.get("/api/status").json()[0]
    url = srv.url.replace("http://", "ws://") + f"/wsapi/subscribeEvents?topics=recordingStatus&auth={b64(*ADMIN)}"
    with connect(url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["topics"] == ["recordingStatus"]
        current = next_event(ws)
        assert (current["topic"], current["event"]) == ("recordingStatus", "currentStatus")
        assert current["channel"] == [{"chid": 1, "streaming": True, "recording": True}]
        rtsp.kill()  # the camera goes away: recording fails
        changed = next_event(ws, 60)
        assert changed["event"] == "statusChanged" and changed["channel"][0]["recording"] is False
        assert changed["channel"][0]["timestampRecordingFailure"]
        rtsp.start()
        back = next_event(ws, 90)
        while not back["channel"][0]["recording"]:
            back = next_event(ws, 90)
        assert back["channel"][0] == {"chid": 1, "streaming": True, "recording": True}


def _at_least(recordings: Recordings, n: int) -> list:
    def enough():
        segments = recordings.segments(1)
        return segments if len(segments) >= n else None

    return wait_for(enough, 60, f"{n} segments")


def _export(srv, user=ADMIN, **params: str):
    query = str(httpx.QueryParams({"auth": b64(*user), **params}))
    return connect(srv.url.replace("http://", "ws://") + "/wsapi/dataExport?" + query, open_timeout=10)


def _until(ws, stage: str) -> list[dict]:
    """Messages up to and including the first of `stage`."""
    got = []
    while not got or got[-1].get("stage") != stage:
        got.append(json.loads(ws.recv(timeout=60)))
    return got


def test_data_export_of_a_time_range_to_one_mp4(site, tmp_path):
    _, srv, _, recordings = site
    segments = _at_least(recordings, 5)
    since, until = segments[1].start, segments[3].start + timedelta(seconds=1)
    with _export(srv, timeBegin=since.isoformat(), timeEnd=until.isoformat(), ch="1", statusInterval="100ms",
                 md5="true") as ws:
        ready = json.loads(ws.recv(timeout=20))
        assert ready["stage"] == "ready" and ready["status"]["code"] == 0 and ready["task"]["ch"] == [1]
        stages = _until(ws, "fileEnd")
        assert [m["stage"] for m in stages[:3]] == ["begin", "channelBegin", "fileBegin"]
        name = stages[2]["channel"]["file"]["name"]
        assert name == f"CH1.{since:%Y-%m-%dT%H.%M.%S}.mp4"
        end = stages[-1]["channel"]["file"]
        link = end["download"][0]
        assert link["fileName"] == name and end["ttl"] == 10000
        assert httpx.get(link["src"]).status_code == 401
        got = httpx.get(link["src"], auth=ADMIN, timeout=30)
        body = got.content
        assert got.status_code == 200, got.text[:300]
        assert hashlib.md5(body).hexdigest() == link["md5"]
        (tmp_path / name).write_bytes(body)
        ws.send(json.dumps({"task": ready["task"]["id"], "cmd": "next"}))
        rest = _until(ws, "end")
        assert [m["stage"] for m in rest] == ["channelEnd", "end"] and rest[-1]["status"]["code"] == 0
        assert rest[-1]["overallProgress"] == "100%"
    wanted = (until - since).total_seconds()
    got = float(probe(tmp_path / name)["format"]["duration"])
    assert wanted - 4 <= got <= wanted + 4, (got, wanted)  # cut at key frames (3.4 s apart in cars.mp4)
    assert decoded_frames(tmp_path / name) > 0
    assert not any((srv.data / "exports").iterdir())  # nothing left behind


def test_data_export_split_by_size_cancelled_refused_and_empty(site):
    _, srv, _, recordings = site
    segments = _at_least(recordings, 5)
    since, until = segments[0].start.isoformat(), segments[3].end.isoformat()
    with _export(srv, timeBegin=since, timeEnd=until, mediaSize="1B") as ws:  # each segment a file of its own
        ready = json.loads(ws.recv(timeout=20))
        first = _until(ws, "fileEnd")[-1]["channel"]["file"]["download"][0]
        assert httpx.get(first["src"], auth=ADMIN).status_code == 200
        ws.send(json.dumps({"task": ready["task"]["id"], "cmd": "next"}))
        second = _until(ws, "fileEnd")[-1]["channel"]["file"]
        assert second["fid"] == 2 and httpx.get(first["src"], auth=ADMIN).status_code == 404  # deleted
        ws.send(json.dumps({"task": ready["task"]["id"], "cmd": "cancel"}))
        assert _until(ws, "end")[-1]["status"]["code"] == -1003
    assert httpx.get(second["download"][0]["src"], auth=ADMIN).status_code == 404
    with _export(srv, timeBegin="2001-01-01T00:00:00Z", timeEnd="2001-01-01T01:00:00Z") as ws:
        assert json.loads(ws.recv(timeout=20))["status"]["code"] == -1
    with _export(srv, timeBegin="yesterday-ish", timeEnd=until) as ws:
        assert json.loads(ws.recv(timeout=20))["status"]["code"] == -2
    with _export(srv, user=VIEWER, timeBegin=since, timeEnd=until) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=20)
    assert closed.value.rcvd.code == 1008


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _ffmpeg_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid,ppid,comm"], capture_output=True, text=True).stdout.split("\n")[1:]
    return [int(p) for p, pp, comm in (line.split(None, 2) for line in out if line.strip())
            if int(pp) == pid and comm.startswith("ffmpeg")]


def test_sigkill_of_platehub_leaves_the_last_segment_playable_and_recording_resumes(site):
    _, srv, _, recordings = site
    wait_for(lambda: _ffmpeg_children(srv.proc.pid), 60, "platehub's ffmpeg")
    ffmpeg = _ffmpeg_children(srv.proc.pid)[0]

    wait_for(lambda: recordings.segments(1), 30, "a recorded segment")
    srv.proc.send_signal(signal.SIGKILL)
    killed_at = datetime.now(UTC)
    srv.proc.wait(10)
    wait_for(lambda: not _alive(ffmpeg), 10, "ffmpeg to die with platehub")
    last = recordings.segments(1)[-1]  # the newest segment with a complete fragment
    # lost: the fragment being written (≤ 1 s), the time it takes to arrive (names are whole seconds), and
    # how far ffmpeg runs behind the camera: about 3 s on a busy machine, 4.5 s once in CI with the
    # channel's engine and the whole suite on 2 cores. So the bound only catches several segments lost;
    # that the segment being written keeps its fragments is tested on ffmpeg itself, without a platehub
    # to share the cores with (test_video_recording.py, SIGKILL of ffmpeg).
    assert last.end >= killed_at - timedelta(seconds=8), (last, killed_at)
    assert decoded_frames(last.path, clean=False) > 0
    again = Server(srv.data, PLATEHUB_RECORD_SEGMENT="2")
    again.port, again.url = srv.port, srv.url
    again.start()
    srv.proc = again.proc
    wait_for(lambda: recordings.segments(1)[-1].start > killed_at, 90, "recording after the restart")
    repaired = recordings.by_id(last.file_id)  # cut back to its last complete fragment before ffmpeg started
    tail = repaired.path.read_bytes()[repaired.layout.media_end:]
    assert tail == b"" or tail[4:8] == b"mfra", tail[:16]  # a partial fragment gone (or a finished file's index)
    assert decoded_frames(repaired.path) > 0  # to its end, without a decoding error
    assert len(_ffmpeg_children(again.proc.pid)) == 1
