"""The Snapshot API (specs 002/003) against a real `platehub serve`, with the spec's own client code."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time

import httpx
import pytest
import requests

URL = "/v1/plate-reader/"


def post(server, **kwargs) -> httpx.Response:
    return httpx.post(server.url + URL, timeout=60, **kwargs)


def test_spec_python_requests_example(server, photo, tmp_path):
    """Spec 002 "Python" tab, only the URL changed to the on-premise SDK's address."""
    path = tmp_path / "car.jpg"
    path.write_bytes(photo("hr-01.jpg"))
    regions = ["mx", "us-ca"]  # Change to your country
    with open(path, "rb") as fp:
        response = requests.post(
            server.url + "/v1/plate-reader/",
            data=dict(regions=regions),  # Optional
            files=dict(upload=fp),
            headers={"Authorization": "Token my-token******"},
        )
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"processing_time", "results", "filename", "version", "camera_id", "timestamp", "usage"}
    assert body["filename"] == "car.jpg" and body["version"] == 1 and body["camera_id"] is None
    assert [r["plate"] for r in body["results"]] == ["zg9757hg"]  # lower-case, as the spec's examples
    result = body["results"][0]
    assert set(result) == {"box", "plate", "region", "vehicle", "score", "candidates", "dscore"}
    assert set(result["box"]) == {"xmin", "ymin", "xmax", "ymax"}
    assert result["candidates"][0] == {"score": result["score"], "plate": "zg9757hg"}
    assert body["usage"]["calls"] >= 1

    # ... and "Calling with a custom engine configuration"
    with open(path, "rb") as fp:
        response = requests.post(
            server.url + "/v1/plate-reader/",
            data=dict(regions=["us-ca"], config=json.dumps(dict(region="strict"))),
            files=dict(upload=fp),
            headers={"Authorization": "Token my-token******"},
        )
    assert response.status_code == 200
    assert response.json()["results"] == []  # a Croatian plate fits no Californian template


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_spec_curl_examples(server, photo, tmp_path):
    """Spec 002 "Snapshot On-Premise API" shell examples, run by curl itself."""
    (tmp_path / "car.jpg").write_bytes(photo("hr-01.jpg"))

    def curl(*args: str) -> dict:
        out = subprocess.run(["curl", "-s", *args], cwd=tmp_path, capture_output=True, check=True, timeout=60)
        return json.loads(out.stdout)

    # curl -F "upload=@car.jpg" http://localhost:8080/v1/plate-reader/
    assert curl("-F", "upload=@car.jpg", server.url + "/v1/plate-reader/")["results"][0]["plate"] == "zg9757hg"
    # curl -F "upload=$(base64 'image.jpg')" ...  (base64 wraps lines at 76 characters)
    b64 = base64.encodebytes(photo("hr-01.jpg")).decode()
    assert curl("-F", f"upload={b64}", server.url + "/v1/plate-reader/")["results"][0]["plate"] == "zg9757hg"
    # the example with regions, mmc and config; `mx` in backticks is the spec's typo and expands to nothing
    body = curl("-F", "upload=@car.jpg", "-F", "regions=", "-F", "regions=us-ca", "-F", "mmc=true",
                "-F", 'config={"mode":"fast"}', server.url + "/v1/plate-reader/")
    assert "results" in body
    for r in body["results"]:  # no make/model model: the spec's "unknown" values with score 0
        assert r["model_make"] == [{"make": "Unknown", "model": "Unknown", "score": 0.0}]
        assert r["color"] == [{"color": "unknown", "score": 0.0}]
        assert r["orientation"] == [{"orientation": "Unknown", "score": 0.0}]
    # the cloud example's URL without the trailing slash answers too (no redirect for curl to miss)
    assert curl("-F", "upload=@car.jpg", server.url + "/v1/plate-reader")["results"][0]["plate"] == "zg9757hg"


def test_camera_id_timestamp_and_cors(server, photo):
    r = post(server, files={"upload": ("a.jpg", photo("hr-01.jpg"))},
             data={"camera_id": "gate-1", "timestamp": "2019-08-19T13:11:25"},
             headers={"Origin": "http://example.com"})
    body = r.json()
    assert body["camera_id"] == "gate-1"
    assert body["timestamp"] == "2019-08-19T13:11:25.000000Z"
    assert r.headers["access-control-allow-origin"] == "*"
    pre = httpx.options(server.url + URL, headers={"Origin": "http://x.org", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] in ("*", "http://x.org")


def test_json_body_and_raw_image_body(server, photo):
    data = photo("hr-01.jpg")
    r = post(server, json={"upload": base64.b64encode(data).decode(), "regions": ["hr"], "config": {"mode": "fast"}})
    assert r.status_code == 200 and r.json()["results"][0]["plate"] == "zg9757hg"
    r = post(server, content=data, headers={"content-type": "image/jpeg"}, params={"regions": "hr"})
    assert r.status_code == 200 and r.json()["results"][0]["plate"] == "zg9757hg"


def test_vehicle_detection_mode_shape(server, photo):
    r = post(server, files={"upload": photo("hr-01.jpg")}, data={"config": '{"detection_mode":"vehicle"}'})
    result = r.json()["results"][0]
    assert result["plate"]["type"] == "Plate"
    assert result["plate"]["props"]["plate"][0]["value"] == "zg9757hg"
    assert result["vehicle"] == {"type": "Unknown", "score": 0.0,
                                 "box": {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0}, "props": {}}


def test_every_recognition_is_stored_as_a_read(server, photo):
    r = post(server, files={"upload": photo("ua-multiline-26.jpeg")}, data={"camera_id": "yard", "regions": "ua"})
    assert r.json()["results"][0]["plate"] == "10922bx"
    out = server.cli("reads", "--plate", "10922-BX")
    reads = [json.loads(x) for x in out.stdout.splitlines()]
    assert reads and reads[-1]["plate"] == "10922BX" and reads[-1]["source"] == "yard"
    assert reads[-1]["protocol"] == "snapshot"
    assert (server.data / "images" / reads[-1]["image_full"]).read_bytes() == photo("ua-multiline-26.jpeg")


PDF = b"%PDF-1.7\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF"
BAD = [
    ("empty upload", {"files": {"upload": ("x.jpg", b"")}}, 400, "empty"),
    ("truncated JPEG", "truncated", 400, "truncated"),
    ("a PDF", {"files": {"upload": ("x.pdf", PDF)}}, 400, "not a supported"),
    ("no upload", {"data": {"regions": "hr"}}, 400, "upload"),
    ("bad base64", {"data": {"upload": "this is not base64!!"}}, 400, "base64"),
    ("invalid config", {"config": "{mode: fast"}, 400, "config is not valid JSON"),
    ("config not object", {"config": "[1,2]"}, 400, "JSON object"),
    ("unknown config key", {"config": '{"speed": 3}'}, 400, "Unknown config key"),
    ("bad mode", {"config": '{"mode": "turbo"}'}, 400, "config.mode"),
    ("threshold out of range", {"config": '{"threshold_d": 7}'}, 400, "threshold_d"),
    ("bad regex", {"config": '{"text_formats": ["[a-"]}'}, 400, "text_formats"),
    ("unknown region", {"regions": "xx"}, 400, "Unknown region code: xx"),
    ("detection_rule strict", {"config": '{"detection_rule":"strict"}'}, 400, "vehicle detection"),
    ("bad timestamp", {"timestamp": "yesterday"}, 400, "timestamp"),
    ("upload_url off by default", {"data": {"upload_url": "http://127.0.0.1:22/x.jpg"}}, 400, "disabled"),
    ("malformed json body", {"content": b"{", "headers": {"content-type": "application/json"}}, 400, "JSON"),
]


@pytest.mark.parametrize(("case", "request_", "status", "detail"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_gets_a_clear_4xx_and_the_server_keeps_serving(server, photo, case, request_, status, detail):
    if request_ == "truncated":
        data = photo("hr-01.jpg")
        request_ = {"files": {"upload": ("t.jpg", data[: len(data) * 2 // 3])}}
    elif "files" not in request_ and "data" not in request_ and "content" not in request_:
        request_ = {"files": {"upload": ("car.jpg", photo("hr-01.jpg"))}, "data": request_}
    r = post(server, **request_)
    assert r.status_code == status, r.text
    assert detail in r.json()["detail"]
    ok = post(server, files={"upload": photo("hr-01.jpg")})
    assert ok.status_code == 200 and ok.json()["results"][0]["plate"] == "zg9757hg"


def test_50_mb_body_gets_413_and_the_server_keeps_serving(server, photo):
    r = post(server, files={"upload": ("big.jpg", b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024))})
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    # streamed without Content-Length (chunked): cut off while reading
    def chunks():
        for _ in range(50):
            yield b"\0" * (1024 * 1024)
    r = httpx.post(server.url + URL, content=chunks(), headers={"content-type": "application/octet-stream"},
                   timeout=60)
    assert r.status_code == 413
    assert post(server, files={"upload": photo("hr-01.jpg")}).status_code == 200


def test_fields_popular_clients_read(server, photo):
    """The Home Assistant Plate Recognizer integration (robmarkcole/HASS-plate-recognizer,
    image_processing.py) pointed at a local server: its request, then every field it reads, outside
    any `try` for `usage`: `stats["max_calls"] - stats["calls"]`. The spec's SDK example answers
    `"usage": {"max_calls": 1000, "calls": 44}`: integers (null raised a TypeError on every scan)."""
    response = requests.post(server.url + "/v1/plate-reader/",
                             data=dict(regions=None, camera_id="platerecognizer_gate", mmc=True,
                                       config=json.dumps({})),
                             files={"upload": photo("hr-01.jpg")}).json()
    stats = response["usage"]
    calls_remaining = stats["max_calls"] - stats["calls"]
    assert isinstance(stats["max_calls"], int) and isinstance(stats["calls"], int) and calls_remaining > 0
    results = response["results"]
    assert results and {c["plate"] for r in results for c in r["candidates"]} >= {"zg9757hg"}
    for r in results:
        vehicle = {"plate": r["plate"], "confidence": r["score"], "region_code": r["region"]["code"],
                   "vehicle_type": r["vehicle"]["type"],
                   "box_y_centre": r["box"]["ymin"] + (r["box"]["ymax"] - r["box"]["ymin"]) / 2,
                   "box_x_centre": r["box"]["xmin"] + (r["box"]["xmax"] - r["box"]["xmin"]) / 2}
        assert vehicle["region_code"] == "hr" and vehicle["box_x_centre"] > 0
        # no vehicle or make/model/orientation model: said as the spec's "unknown", score 0, not invented
        assert vehicle["vehicle_type"] == "Unknown" and r["vehicle"]["score"] == 0.0
        assert r["orientation"] == [{"orientation": "Unknown", "score": 0.0}]
        assert [o["orientation"] for o in r["orientation"] if o["score"] >= 0.7] == []  # get_orientations()
    statistics = httpx.get(server.url + "/v1/statistics/").json()  # its get_statistics()
    assert statistics["total_calls"] - statistics["usage"]["calls"] > 0
    info = httpx.get(server.url + "/info/").json()
    assert isinstance(info["total_calls"], int) and isinstance(info["usage"]["max_calls"], int)


def test_info_and_statistics(server):
    info = httpx.get(server.url + "/info/").json()
    assert info["version"] and info["webhooks"] == [] and info["usage"]["calls"] >= 0
    assert info["capabilities"]["vehicle_detection"] is False and info["capabilities"]["mmc"] is False
    stats = httpx.get(server.url + "/v1/statistics/").json()
    assert set(stats["usage"]) == {"month", "calls", "year", "resets_on"}
    assert stats["usage"]["resets_on"].endswith("-01T00:00:00Z")


def test_openapi_describes_the_endpoint(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    assert "/v1/plate-reader/" in spec["paths"]


def test_tokens_when_required(make_server, photo):
    srv = make_server(PLATEHUB_REQUIRE_TOKEN="1")
    key = srv.cli("token", "create", "tests").stdout.strip()
    assert len(key) == 40
    files = {"upload": photo("hr-01.jpg")}
    assert post(srv, files=files).status_code == 403
    bad = post(srv, files=files, headers={"Authorization": "Token 3a0effff73919f898b69ac65a32dc12347769564"})
    assert bad.status_code == 403 and bad.json() == {"detail": "Invalid token."}
    good = post(srv, files=files, headers={"Authorization": f"Token {key}"})
    assert good.status_code == 200
    assert "tests" in srv.cli("token", "list").stdout
    assert srv.cli("token", "revoke", "tests").returncode == 0
    assert post(srv, files=files, headers={"Authorization": f"Token {key}"}).status_code == 403


def test_rate_limit_answers_429_with_the_spec_body(make_server, photo):
    srv = make_server(PLATEHUB_RATE_LIMIT="1")
    codes = [post(srv, files={"upload": photo("hr-01.jpg")}) for _ in range(3)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert limited[0].json() == {"detail": "Request was throttled. Expected available in 1 second.",
                                 "status_code": 429}


def test_monthly_call_limit_answers_403(make_server, photo):
    srv = make_server(PLATEHUB_MAX_CALLS="1")
    first = post(srv, files={"upload": photo("hr-01.jpg")})
    assert first.status_code == 200 and first.json()["usage"] == {"calls": 1, "max_calls": 1}
    second = post(srv, files={"upload": photo("hr-01.jpg")})
    assert second.status_code == 403 and "credits" in second.json()["detail"]


def test_image_retention_plate_keeps_only_crops(make_server, photo):
    srv = make_server(PLATEHUB_IMAGE_RETENTION="plate")
    post(srv, files={"upload": photo("hr-01.jpg")})
    read = json.loads(srv.cli("reads").stdout.splitlines()[-1])
    assert read["image_full"] is None and read["image_plate"]
    crop = (srv.data / "images" / read["image_plate"]).read_bytes()
    assert crop[:3] == b"\xff\xd8\xff" and len(crop) < len(photo("hr-01.jpg"))


def test_upload_url_only_from_allowed_hosts(make_server, photo, tmp_path):
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "car.jpg").write_bytes(photo("hr-01.jpg"))
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *a: None
    web = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        srv = make_server(PLATEHUB_UPLOAD_URL_HOSTS="127.0.0.1")
        url = f"http://127.0.0.1:{web.server_port}/car.jpg"
        r = post(srv, data={"upload_url": url})
        assert r.status_code == 200 and r.json()["results"][0]["plate"] == "zg9757hg"
        assert r.json()["filename"] == "car.jpg"
        r = post(srv, data={"upload_url": f"http://localhost:{web.server_port}/car.jpg"})
        assert r.status_code == 400 and "allows" in r.json()["detail"]
        r = post(srv, data={"upload_url": f"http://127.0.0.1:{web.server_port}/missing.jpg"})
        assert r.status_code == 400 and "HTTP 404" in r.json()["detail"]
    finally:
        web.shutdown()


class _Trickle:
    """A real HTTP server that answers 200 and then one byte a second (for at most `seconds`)."""

    def __init__(self, seconds: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(seconds))
                self.end_headers()
                try:
                    for _ in range(seconds):
                        self.wfile.write(b"\xff")
                        self.wfile.flush()
                        time.sleep(1)
                except OSError:  # the client gave up
                    pass

            def log_message(self, *args) -> None:
                pass

        self.web = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.web.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.web.server_port}/slow.jpg"
        threading.Thread(target=self.web.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.web.shutdown()


def test_upload_url_has_an_overall_deadline(tmp_path, monkeypatch):
    """Issue 11 #15: a server sending one byte a second held a request 30 s (each byte reset the read
    timeout). PLATEHUB_UPLOAD_URL_DEADLINE bounds the whole fetch; over it the client gets a 400."""
    from helpers import InProcess

    from platehub.config import Settings

    monkeypatch.setenv("PLATEHUB_UPLOAD_URL_DEADLINE", "2.5")
    assert Settings.from_env().upload_url_deadline == 2.5
    trickle = _Trickle(seconds=40)
    srv = InProcess(tmp_path / "data", engine=object(), upload_url_hosts=("127.0.0.1",),
                    upload_url_deadline=2.0).start()
    try:
        started = time.monotonic()
        r = httpx.post(srv.url + URL, data={"upload_url": trickle.url}, timeout=60)
        took = time.monotonic() - started
        assert r.status_code == 400, r.text
        assert r.json() == {"detail": "upload_url took longer than 2 s to fetch."}
        assert took < 20, took  # not the 40 s the server would have trickled for
        assert httpx.get(srv.url + "/info/", timeout=10).status_code == 200  # and it keeps serving
    finally:
        srv.stop()
        trickle.close()
