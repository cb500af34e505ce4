"""Frame sources (platehub.video.sources) on real streams: an HTTP MJPEG server in the test process
(multipart/x-mixed-replace, as IP cameras' `video.mjpg`), sampled at a rate; a stream that goes quiet
fails after the read timeout instead of blocking for ever; `Reconnecting` reports each state and
reopens after a failure."""

from __future__ import annotations

import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import pytest
from helpers import DEV_DATA, REPO

from platehub.video.sources import Counters, Reconnecting, SourceError, VideoSource

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"


def jpegs(count: int) -> list[bytes]:
    cap = cv2.VideoCapture(str(VIDEO))
    out = []
    for _ in range(count):
        ok, img = cap.read()
        assert ok
        out.append(cv2.imencode(".jpg", cv2.resize(img, (320, 180)))[1].tobytes())
    return out


@pytest.fixture
def mjpeg():
    """An MJPEG server: `frames` at `fps`, then (`hang`) holding the connection open without a frame."""
    config = {"frames": jpegs(30), "fps": 10.0, "hang": 0.0}
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            for j in config["frames"]:
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j)
                                 + j + b"\r\n")
                self.wfile.flush()
                time.sleep(1 / config["fps"])
            release.wait(config["hang"])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/video.mjpg", config
    release.set()
    server.shutdown()


def test_mjpeg_over_http_is_read_and_sampled(mjpeg):
    url, _ = mjpeg
    counters = Counters()
    got = []
    with pytest.raises(SourceError, match="ended"):  # a live stream that ends is a failure (reconnect)
        for frame in VideoSource(url, 2.0, counters=counters, read_timeout=5).frames():
            got.append(frame)
    assert got and all(f.image.shape == (180, 320, 3) for f in got)
    assert counters.decoded >= 25 and counters.sampled == len(got) < counters.decoded
    assert all(b.t >= a.t for a, b in itertools.pairwise(got))


def test_a_quiet_stream_fails_after_the_read_timeout(mjpeg):
    url, config = mjpeg
    config["frames"], config["hang"] = config["frames"][:5], 60.0
    t0 = time.monotonic()
    with pytest.raises(SourceError):
        for _ in VideoSource(url, 5.0, read_timeout=3).frames():
            pass
    assert time.monotonic() - t0 < 30


def test_reconnecting_reports_states_and_reopens(mjpeg):
    url, config = mjpeg
    config["frames"] = config["frames"][:5]
    stop = threading.Event()
    states = []
    frames = 0
    source = Reconnecting(lambda: VideoSource(url, 5.0, read_timeout=5, stop=stop), stop,
                          lambda state, error: states.append(state), max_backoff=1)
    for _ in source.frames():
        frames += 1
        if states.count("online") >= 2:
            stop.set()
    assert states[:4] == ["connecting", "online", "offline", "connecting"] and states.count("online") >= 2
    assert frames >= 2


def test_a_missing_file_and_a_dead_address_fail_at_once():
    with pytest.raises(SourceError, match="no such file"):
        next(iter(VideoSource("/nonexistent/clip.mp4", 5.0).frames()))
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="could not open"):
        next(iter(VideoSource("rtsp://127.0.0.1:1/x", 5.0, open_timeout=5).frames()))
    assert time.monotonic() - t0 < 15
