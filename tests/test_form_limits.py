"""Form bodies cannot stall the server: parsing is linear, runs off the event loop, and the number of
fields is bounded (issue 11). One anonymous 20 KB body to the all-in-one door used to freeze every
request for seconds (a backtracking regex on the event loop), a 9 MB body of a million fields for 4 s,
and a 19 MB url-encoded body of `%41`s blocked the loop for as long as Starlette took to unquote it.

The server gets an engine that finds nothing: these tests need no recognition models."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from helpers import InProcess

from platehub.protocols.allinone import form
from platehub.protocols.forms import FormError

REGISTER = "/devicemanagement/php/receivedeviceinfo.php"
FF = "/ff_post.php"
SNAPSHOT = "/v1/plate-reader/"
FIX = Path(__file__).parent / "fixtures" / "allinone"
TOO_MANY_AIO = "Too many form fields: at most 100 are accepted."

# the issue's reproduction, at 64 KB (the old parser: minutes) and at nearly the upload limit
BACKTRACKING = {
    "multipart first line, 64 KB": b"--a" + b" " * 65536 + b'name="',
    "multipart first line, 19 MB": b"--a" + b" " * 19_000_000 + b'name="',
    "printed shape, 64 KB": b'name="x"a' + b" " * 65536 + b"b",
    "printed shape, 19 MB": b'name="x"a' + b" " * 19_000_000 + b"b",
    "printed shape, many lines": b'name="x"a\n' * 90 + b"a\n" * 9_000_000,
    "printed shape, many dashes": b'name="x"a---' * 90 + b"-" * 19_000_000,
}


class NoPlates:
    def recognize(self, img, options=None):
        return []


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    server = InProcess(tmp_path_factory.mktemp("form-limits") / "data", engine=NoPlates(), comet_hold=0.2)
    yield server.start()
    server.stop()


def million_fields() -> bytes:
    return b"&".join(b"f%d=1" % i for i in range(1_000_000))  # 9.9 MB


def multipart(fields: dict[str, str] | list[tuple[str, str]], boundary: str = "xyz") -> tuple[bytes, dict]:
    items = fields.items() if isinstance(fields, dict) else fields
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                    for k, v in items) + f"--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


# ---------------------------------------------------------------------------------------- the parser


@pytest.mark.parametrize("name", list(BACKTRACKING))
def test_lenient_parsing_is_linear(name):
    t0 = time.perf_counter()
    form.lenient(BACKTRACKING[name])
    assert time.perf_counter() - t0 < 3  # quadratic parsing took 40 s on 64 KB


@pytest.mark.parametrize(
    "body",
    [million_fields(), b'name="x"1---' * 1_000_000, b"--b\r\n" + b'name="a"\r\n\r\n1\r\n--b\r\n' * 500_000],
    ids=["url-encoded", "printed shape", "multipart"],
)
def test_lenient_parsing_refuses_too_many_fields_at_once(body):
    t0 = time.perf_counter()
    with pytest.raises(FormError, match="Too many form fields") as e:
        form.lenient(body)
    assert e.value.status == 413 and time.perf_counter() - t0 < 3


def test_lenient_parsing_still_reads_the_printed_shapes():
    assert form.lenient(b'name="serialno"\r\n  d85b-1  -----cam\r\nname="port"80\nname="x"') == {
        "serialno": "d85b-1", "port": "80", "x": ""}
    assert form.lenient(b'\r\n--b \r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--') == {"a": "1"}
    assert form.lenient(b"a=1&b=%41+") == {"a": "1", "b": "A "}
    body, headers = multipart({"a": "1", "b": "2"})
    assert form.fields(body, headers["content-type"]) == {"a": "1", "b": "2"}


# ---------------------------------------------------------------------------------------- the server


def _timed(method, *args, **kwargs) -> tuple[httpx.Response, float]:
    t0 = time.perf_counter()
    r = method(*args, timeout=120, **kwargs)
    return r, time.perf_counter() - t0


def _while_busy(request, probe_url: str) -> tuple[httpx.Response, float, float]:
    """Send `request()` and, while the server works on it, time a GET of `probe_url`. Returns the
    response, the time it took, and how long the probe waited."""
    out = {}
    worker = threading.Thread(target=lambda: out.update(zip(("r", "took"), _timed(request))))
    worker.start()
    time.sleep(0.3)
    probe, waited = _timed(httpx.get, probe_url)
    worker.join()
    assert probe.status_code == 200
    return out["r"], out["took"], waited


def test_the_issue_reproduction_no_longer_freezes_the_server(inproc):
    body = BACKTRACKING["multipart first line, 64 KB"]
    r, took, waited = _while_busy(
        lambda **kw: httpx.post(inproc.url + REGISTER, content=body, headers={"content-type": "text/plain"}, **kw),
        inproc.url + "/info/")
    assert r.status_code == 200 and r.json()["Response_AlarmInfoPlate"]["info"] == "no"
    assert took < 2 and waited < 1


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_allinone_refuses_a_million_fields_with_413_and_keeps_serving(inproc, ctype):
    r, took = _timed(httpx.post, inproc.url + REGISTER, content=million_fields(),
                     headers={"content-type": ctype} if ctype else {})
    assert r.status_code == 413 and took < 5
    assert r.json() == {"Response_AlarmInfoPlate": {"info": "no", "error": TOO_MANY_AIO}}
    body, headers = multipart([(f"f{i}", "1") for i in range(101)])
    r = httpx.post(inproc.url + REGISTER, content=body, headers=headers, timeout=30)
    assert r.status_code == 413 and r.json()["Response_AlarmInfoPlate"]["error"] == TOO_MANY_AIO
    # a real camera's heartbeat still registers it
    heartbeat = (FIX / "register_heartbeat.multipart").read_bytes()
    r = httpx.post(inproc.url + REGISTER, content=heartbeat,
                   headers={"content-type": "multipart/form-data; boundary=---caa771fe4a61f3d9"}, timeout=30)
    assert r.status_code == 200 and r.json() == {"Response_AlarmInfoPlate": {}}
    assert inproc.hub.store.devices.get("d85b1269-8f942256").name == "IVS"


def test_ff_door_refuses_too_many_parts_with_413_and_keeps_serving(inproc):
    event = '{"plateText": "AB123CD", "sensorProviderID": "form-limits-ff"}'
    body, headers = multipart([("event", event)] + [(f"f{i}", "1") for i in range(100)])
    r = httpx.post(inproc.url + FF, content=body, headers=headers, timeout=30)
    assert r.status_code == 413
    assert r.json() == {"detail": "The form data could not be parsed: Too many fields. Maximum number of fields "
                                  "is 100."}
    body, headers = multipart([("event", event)])
    r = httpx.post(inproc.url + FF, content=body, headers=headers, timeout=30)
    assert r.status_code == 200 and r.json()["stored"] == "new"


def test_snapshot_api_refuses_too_many_fields_with_413_and_keeps_serving(inproc):
    r = httpx.post(inproc.url + SNAPSHOT, content=million_fields(),
                   headers={"content-type": "application/x-www-form-urlencoded"}, timeout=30)
    assert r.status_code == 413
    assert r.json() == {"detail": "The form data could not be parsed: Too many fields. Maximum number of fields "
                                  "is 100."}
    r = httpx.post(inproc.url + SNAPSHOT, content=b'{"upload": ' * 100_000, timeout=30,
                   headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json() == {"detail": "The JSON body could not be parsed."}


def test_a_big_url_encoded_body_is_parsed_off_the_event_loop(inproc):
    """19 MB of `%41`: seconds of unquoting, during which the server answers other requests."""
    body = b"upload=" + b"%41" * 6_300_000
    r, took, waited = _while_busy(
        lambda **kw: httpx.post(inproc.url + SNAPSHOT, content=body,
                                headers={"content-type": "application/x-www-form-urlencoded"}, **kw),
        inproc.url + "/info/")
    assert r.status_code == 400 and "not a supported image" in r.json()["detail"]
    assert waited < 1 and waited < took / 2, (waited, took)
