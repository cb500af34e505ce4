"""The TS-API guide's own example pages (tests/fixtures/tsapi_pages) in headless Chromium against a
real platehub: sign in through "Example 2", then the WebSocket event viewer "Ex3" shows LPR events
as reads arrive. Needs Playwright (test extras) and the system Chromium (CI installs it); when
either is missing the tests fail, they do not skip."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import Server
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

PAGES = Path(__file__).parent / "fixtures" / "tsapi_pages"
ADMIN = ("admin", "admin-test")
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("tsapi_pages") / "data").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pages(srv, tmp_path_factory) -> Iterator[str]:
    """The example pages with the platehub host templated in, served over HTTP from another port."""
    root = tmp_path_factory.mktemp("tsapi_pages_site")
    host = srv.url.removeprefix("http://")
    for page in PAGES.glob("*.html"):
        (root / page.name).write_text(page.read_text().replace("{{host}}", host))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    p = context.new_page()
    p.set_default_timeout(WAIT_MS)
    yield p
    context.close()


def sign_in(page, pages: str, user: str, password: str) -> str:
    """Example 2 as a user does it: the host is filled in, type the user and password, Connect.
    Returns the `auth=` value the page built."""
    page.goto(pages + "/signin.html")
    page.fill("#user-id", user)
    page.fill("#password", password)
    page.click("button:text-is('Connect')")
    page.wait_for_function("document.getElementById('result').innerText.length > 0")
    src = page.inner_text("#result")
    assert page.get_attribute("#player", "src") == src
    url = urllib.parse.urlsplit(src)
    assert url.path == "/watch"
    return urllib.parse.parse_qs(url.query)["auth"][0]


def event_socket_answer(srv, auth: str) -> dict | tuple[int, str]:
    """Open platehub's event socket with the page's `auth=`: its first message, or the close code."""
    url = srv.url.replace("http://", "ws://") + "/wsapi/subscribeEvents?topics=LPR&auth=" + urllib.parse.quote(auth)
    with connect(url, open_timeout=10) as ws:
        try:
            return json.loads(ws.recv(timeout=10))
        except ConnectionClosed as e:
            assert e.rcvd is not None
            return e.rcvd.code, e.rcvd.reason


def test_sign_in_page(srv, pages, page):
    auth = sign_in(page, pages, *ADMIN)
    assert page.get_attribute("#player", "src").startswith(srv.url + "/watch?ch=1&auth=")
    assert "subscriberId" in event_socket_answer(srv, auth)
    wrong = sign_in(page, pages, "admin", "not-the-password")
    assert event_socket_answer(srv, wrong) == (1008, "Wrong user or password.")


def connect_viewer(page, pages: str, user: str, password: str) -> None:
    page.goto(pages + "/events.html")
    page.fill("#user-id", user)
    page.fill("#password", password)
    page.click("button:text-is('Connect')")


def data_messages(page) -> list[dict]:
    return [json.loads(t) for t in page.locator("#messages li.data").all_inner_texts()]


def test_event_viewer_shows_reads_as_they_arrive(srv, pages, page):
    sign_in(page, pages, *ADMIN)
    connect_viewer(page, pages, *ADMIN)
    assert page.inner_text("#url").startswith(f"ws://{srv.url.removeprefix('http://')}/api/subscribeEvents?topics=")
    page.wait_for_selector("#messages li.open")
    page.wait_for_selector("#messages li.data")
    hello = data_messages(page)[0]
    assert hello["topics"] == ["channelStatus", "LPR", "emergencyCall", "systemEvent", "motionChanges",
                               "parkingCount", "packing", "recordingStatus", "object"]
    for plate in ("PAGE001", "PAGE002"):
        r = httpx.post(srv.url + "/api/push", json={"topic": "LPR", "src": "PAGE-DOOR", "plateNo": plate},
                       auth=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        time.sleep(0.2)
    page.wait_for_function("document.getElementById('messages').innerText.includes('PAGE002')")
    lpr = [m for m in data_messages(page) if m.get("topic") == "LPR"]
    assert [m["plateNo"] for m in lpr] == ["PAGE001", "PAGE002"]
    assert all(m["deviceCode"] == "PAGE-DOOR" for m in lpr)
    assert page.locator("#messages li.close").count() == 0  # still connected
    page.click("button:text-is('Disconnect')")
    page.wait_for_selector("#messages li.close")


def test_event_viewer_with_a_wrong_password_is_disconnected(srv, pages, page):
    connect_viewer(page, pages, "admin", "wrong-password")
    page.wait_for_selector("#messages li.close")
    assert page.inner_text("#messages li.close") == "Disconnected: 1008"
    assert data_messages(page) == []


def test_event_viewer_of_the_vendors_current_version_with_body_temperature(srv, pages, page):
    """The vendor's current ex3.html adds a bodyTemperature checkbox (the guide names
    `topics=bodyTemperature`); platehub closed such a socket with 1008 "Unsupported topic:
    bodyTemperature." and the page got nothing. Now the topic is accepted (silent) and reads arrive."""
    sign_in(page, pages, *ADMIN)
    page.goto(pages + "/events.html")
    page.evaluate("""() => {
        const box = document.createElement('input');
        box.className = 'topic'; box.type = 'checkbox'; box.value = 'bodyTemperature'; box.checked = true;
        document.querySelector('input.topic[value=object]').after(box, 'bodyTemperature');
    }""")
    page.fill("#user-id", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button:text-is('Connect')")
    assert page.inner_text("#url").split("topics=")[1].startswith(
        "channelStatus,LPR,emergencyCall,systemEvent,motionChanges,parkingCount,packing,recordingStatus,object,"
        "bodyTemperature")
    page.wait_for_selector("#messages li.data")
    assert data_messages(page)[0]["topics"][-1] == "bodyTemperature"
    r = httpx.post(srv.url + "/api/push", json={"topic": "LPR", "src": "PAGE-DOOR", "plateNo": "PAGE003"},
                   auth=ADMIN, timeout=30)
    assert r.status_code == 200, r.text
    page.wait_for_function("document.getElementById('messages').innerText.includes('PAGE003')")
    assert page.locator("#messages li.close").count() == 0  # still connected
