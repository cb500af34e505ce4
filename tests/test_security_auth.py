"""Issue 11, the rights and sign-in defects (#5, #6, #7, #12, #13, #14), each reproduced against a real
server: uvicorn serving the app in this process (`Site`, with `platehub` commands as processes of
their own) or `platehub serve` itself where its uvicorn options are the subject (#12, #14), and
headless Chromium where what matters is what a browser does (#7, #13)."""

from __future__ import annotations

import base64
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
from helpers import InProcess, Server, Site, next_event
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from platehub.core import eventlog as core_eventlog
from platehub.core.eventlog import record_setting
from platehub.protocols.tsapi.session import COOKIE

ADMIN = ("admin", "admin-test")
LPR_ONLY = ("lpr-only", "lpr-only-pass")  # LPR: searches plates, may not push
PUSHER = ("pusher", "pusher-pass")  # Control
NO_LPR = ("remote-only", "remote-only-pass")  # Remote: signed in, nothing else
SETTINGS = ("settings-only", "settings-pass")  # Settings
USERS = {LPR_ONLY: "LPR", PUSHER: "Control", NO_LPR: "Remote", SETTINGS: "Settings"}
WAIT_MS = 20_000


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    s = Site(tmp_path_factory.mktemp("security_auth") / "data")
    for (login, password), right in USERS.items():
        r = s.cli("user", "add", login, "--password", password, "--rights", right)
        assert r.returncode == 0, r.stderr
    yield s
    s.server.stop()


def reads(site: Site, plate: str) -> list[dict]:
    r = site.cli("reads", "--plate", plate)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def ws_url(base: str, **params: str) -> str:
    return base.replace("http://", "ws://") + "/wsapi/subscribeEvents?" + urllib.parse.urlencode(params)


def first_answer(url: str, **kwargs) -> dict | tuple[int, str]:
    """Open an event socket: its first message, or (close code, reason) when the server closes it."""
    with connect(url, open_timeout=10, **kwargs) as ws:
        try:
            return json.loads(ws.recv(timeout=10))
        except ConnectionClosed as e:
            assert e.rcvd is not None
            return e.rcvd.code, e.rcvd.reason


def session_cookie(base: str, user=ADMIN) -> str:
    r = httpx.get(base + "/api/auth", params={"login": b64(*user)}, timeout=30)
    assert r.status_code == 200, r.text
    return r.cookies[COOKIE]


@pytest.fixture(scope="module")
def other_site(tmp_path_factory) -> Iterator[str]:
    """A web server on another port, serving pages written by the tests (the attacker's site)."""
    root = tmp_path_factory.mktemp("other_site")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield str(root), httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


# ---- #5: pushing needs a right ---------------------------------------------------------------------


def test_push_needs_the_control_right(site):
    """#5: any signed-in user could push reads, and a pushed allow-listed plate opened the barrier
    (`open_gate` queued for the camera wired to it). The guide names no right for `/api/push`;
    platehub asks for `Control` ("Pan tilt, relay control"): opening a barrier is relay control."""
    for args in (("devices", "add", "PUSH-GATE", "--protocol", "push"), ("devices", "add", "GATE-CAM"),
                 ("devices", "set", "PUSH-GATE", "--gate-device", "GATE-CAM"), ("lists", "add", "allow", "PUSHOPEN1")):
        r = site.cli(*args)
        assert r.returncode == 0, r.stderr
    event = {"topic": "LPR", "src": "PUSH-GATE", "plateNo": "PUSHOPEN1"}
    for user in (LPR_ONLY, NO_LPR, SETTINGS):
        r = httpx.post(site.url + "/api/push", json=event, auth=user, timeout=30)
        assert r.status_code == 403, user
        assert r.json() == {"code": -1, "message": "The Control right is required to push events."}
    r = httpx.post(site.url + "/api/push", params={"auth": b64(*LPR_ONLY)}, json=event, timeout=30)
    assert r.status_code == 403  # the guide's auth= parameter: the same
    assert reads(site, "PUSHOPEN1") == [] and site.server.status("GATE-CAM") == []  # nothing stored, no gate

    r = httpx.post(site.url + "/api/push", json=event, auth=PUSHER, timeout=30)
    assert (r.status_code, r.content) == (200, b"")
    assert len(reads(site, "PUSHOPEN1")) == 1
    assert [kind for kind, *_ in site.server.status("GATE-CAM")] == ["open_gate"]


# ---- #6: the event log by rights, without secrets ------------------------------------------------------


def event_log(base: str, user, **params) -> dict:
    r = httpx.get(base + "/api/find", params={"what": "eventLog", "maxCount": "1000", **params}, auth=user,
                  timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_event_log_entries_only_for_the_rights_that_read_them(site):
    """#6: the event log was readable by any signed-in user: gate alerts (plates), settings changes
    and sign-ins with their addresses. Now each entry type needs its right (core/rights.py)."""
    log = site.server.app.state.platehub.eventlog
    log.record(core_eventlog.ACCESS, "denied", source="LOG-GATE", details={"plate": "LOGDENY1", "why": "deny list"})
    log.signed_in("admin", "203.0.113.77", "login")
    log.settings_changed("device LOG-GATE", "admin", after={"gate_policy": "never"})
    log.record(core_eventlog.DEVICE, "online", source="LOG-GATE", details={"code": "LOG-GATE"})
    log.record(core_eventlog.SYSTEM, "startup")
    # TS-API type numbers: 0 system, 1 privacy, 2 settings, 3 LPR device, 4 emergency, 5 access, 6 parking
    expected = {NO_LPR: {0}, LPR_ONLY: {0, 3, 5}, SETTINGS: {0, 2}, ADMIN: {0, 1, 2, 3, 5}}
    for user, types in expected.items():
        found = event_log(site.url, user)
        assert {e["type"] for e in found["data"]} == types, user
        assert found["totalCount"] == len(found["data"])  # the count is of what the user may see
        text = json.dumps(found)
        assert ("LOGDENY1" in text) == (5 in types) and ('"Sign in"' in text) == (1 in types), user
    assert event_log(site.url, NO_LPR, type="5") == {"totalCount": 0, "at": 0, "data": []}
    assert {e["type"] for e in event_log(site.url, LPR_ONLY, type="1,5")["data"]} == {5}


def test_system_event_topic_sends_alerts_and_devices_only_to_lpr_holders(site):
    """#6, the same through the `systemEvent` WebSocket topic: its gate alerts (plates) and LPR
    device entries reach only users holding LPR; the system log reaches every subscriber."""
    log = site.server.app.state.platehub.eventlog
    with connect(ws_url(site.url, topics="systemEvent", auth=b64(*NO_LPR)), open_timeout=10) as viewer, \
            connect(ws_url(site.url, topics="systemEvent", auth=b64(*LPR_ONLY)), open_timeout=10) as lpr:
        assert json.loads(viewer.recv(timeout=10))["topics"] == ["systemEvent"]
        assert json.loads(lpr.recv(timeout=10))["topics"] == ["systemEvent"]
        log.record(core_eventlog.ACCESS, "denied", source="WS-GATE", details={"plate": "WSDENY1", "why": "deny"})
        log.record(core_eventlog.DEVICE, "offline", source="WS-GATE", details={"code": "WS-GATE"})
        log.record(core_eventlog.SYSTEM, "shutdown")
        assert [next_event(lpr)["type"] for _ in range(3)] == [5, 3, 0]
        assert next_event(viewer)["type"] == 0  # the alert and the device entry were not sent to it


def test_no_secret_reaches_the_event_log_whoever_records_it(site):
    """#6, "never secrets in the log": the event log scrubs a settings change itself, so a caller
    that forgets to redact a webhook URL (or passes a password) still stores no secret."""
    target = "https://hookuser:pa55word@hooks.example/in?api_key=K3YVALUE&site=7"
    record_setting(site.server.hub.store, "webhook", user="admin", before={"password": "hunter2x"},
                   after={"id": 99, "target": target})
    text = json.dumps(event_log(site.url, ADMIN, type="2"))
    assert "hooks.example/in" in text and "site=7" in text  # the admin still recognises the target
    for secret in ("pa55word", "K3YVALUE", "hunter2x"):
        assert secret not in text


# ---- #7: cross-site WebSocket hijacking -------------------------------------------------------------


def test_event_socket_takes_the_cookie_only_from_platehubs_own_pages(site):
    """#7: `/wsapi/subscribeEvents` accepted the session cookie whatever the Origin, so a page of
    another site (or another port of this host, which browsers count as the same site) read the
    stream as the signed-in user. The cookie now counts only with platehub's own Origin or none (not
    a browser); the guide's `auth=` and `session=` parameters keep working from anywhere."""
    token = session_cookie(site.url)
    cookie = {"Cookie": f"{COOKIE}={token}"}
    url = ws_url(site.url, topics="LPR")
    foreign = "http://127.0.0.1:1"  # another port of the same host
    assert "subscriberId" in first_answer(url, additional_headers=cookie)  # no Origin: not a browser
    assert "subscriberId" in first_answer(url, origin=site.url, additional_headers=cookie)
    for origin, extra in ((foreign, {}), ("http://evil.example", {}), ("null", {}),
                          (foreign, {"Sec-Fetch-Site": "same-site"})):
        code, reason = first_answer(url, origin=origin, additional_headers={**cookie, **extra})
        assert code == 1008 and "another site" in reason, origin
    # explicit credentials, as the guide writes them, whatever page sends them
    assert "subscriberId" in first_answer(ws_url(site.url, topics="LPR", session=token), origin=foreign)
    assert "subscriberId" in first_answer(ws_url(site.url, topics="LPR", auth=b64(*ADMIN)), origin=foreign)


def test_allowed_origins_may_use_the_cookie(tmp_path):
    """PLATEHUB_ALLOWED_ORIGINS: the console's public address behind a proxy that rewrites Host."""
    srv = InProcess(tmp_path / "data", engine=object(), allowed_origins=("https://Console.example:8443/",)).start()
    try:
        cookie = {"Cookie": f"{COOKIE}={session_cookie(srv.url)}"}
        url = ws_url(srv.url, topics="LPR")
        assert "subscriberId" in first_answer(url, origin="https://console.example:8443", additional_headers=cookie)
        assert first_answer(url, origin="https://console.example:9999", additional_headers=cookie)[0] == 1008
    finally:
        srv.stop()


def test_a_page_on_another_port_cannot_read_the_stream_in_a_browser(site, browser, other_site):
    """#7 as the review found it, in Chromium: signed in to platehub, the user opens a page served
    from another port of the same host; its script opens the event socket (the browser sends the
    cookie: same site) and must get nothing but the close."""
    root, port = other_site
    Path(root, "hijack.html").write_text(f"""<!doctype html><script>
window.got = [];
const ws = new WebSocket("{ws_url(site.url, topics='LPR')}");
ws.onmessage = e => window.got.push(e.data);
ws.onclose = e => window.got.push("closed " + e.code);
</script>""")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{site.url}/api/auth?login={urllib.parse.quote(b64(*ADMIN))}")  # typed in: signs in
        assert any(c["name"] == COOKIE for c in context.cookies(site.url))
        page.goto(f"http://127.0.0.1:{port}/hijack.html")
        page.wait_for_function("window.got.length > 0")
        r = httpx.post(site.url + "/api/push", json={"topic": "LPR", "src": "HIJACK", "plateNo": "HIJACK1"},
                       auth=ADMIN, timeout=30)
        assert r.status_code == 200
        time.sleep(1.0)  # time for the read to reach an open socket
        assert page.evaluate("window.got") == ["closed 1008"]
    finally:
        context.close()


# ---- #13: login CSRF -----------------------------------------------------------------------------


def test_cross_site_sign_in_and_sign_out_are_refused(site):
    """#13: `GET /api/auth?login=` from another site's page (a link, a redirect, an <img>) signed the
    browser in as whoever the attacker chose (login CSRF). The guide mandates GET for sign-in
    ("GET /api/auth?login=…", its clients use it), so GET stays; what is refused is a request a
    browser says comes from another site's page: `Sec-Fetch-Site` other than same-origin / none
    (typed in), else an `Origin` or `Referer` not platehub's own. Clients that are not browsers send
    none of these headers and keep working, and the cookie is SameSite=Strict."""
    login = {"login": b64(*ADMIN)}
    own = {"Referer": site.url + "/"}
    cases = [({}, 200), ({"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}, 200),
             ({"Sec-Fetch-Site": "same-origin", "Origin": site.url}, 200), (own, 200),
             ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, 403),
             ({"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}, 403),
             ({"Origin": "http://evil.example"}, 403), ({"Referer": "http://127.0.0.1:1/page.html"}, 403)]
    for headers, status in cases:
        r = httpx.get(site.url + "/api/auth", params=login, headers=headers, timeout=30)
        assert r.status_code == status, headers
        if status == 403:
            assert COOKIE not in r.cookies and "set-cookie" not in r.headers, headers
            assert r.json() == {"code": -1, "message": "Sign-in and sign-out are refused from another site's page."}
        else:
            cookie = r.headers["set-cookie"].lower()
            assert "samesite=strict" in cookie and "httponly" in cookie
    cross = {"Sec-Fetch-Site": "cross-site"}
    r = httpx.get(site.url + "/api/auth", params={"auth": b64(*ADMIN)}, headers=cross, timeout=30)
    assert r.status_code == 403 and COOKIE not in r.cookies  # auth= on /api/auth opens a session too
    with httpx.Client(base_url=site.url, timeout=30) as c:
        assert c.get("/api/auth", params=login).status_code == 200
        assert c.get("/api/auth?logout", headers=cross).status_code == 403  # no forced sign-out either
        assert c.get("/api/auth").status_code == 200  # still signed in
        assert c.get("/api/auth", headers=cross).status_code == 200  # "am I signed in?" changes nothing
        assert c.get("/api/auth?logout", headers=own).status_code == 200
        assert c.get("/api/auth").status_code == 401


def test_a_cross_site_page_cannot_sign_the_browser_in(site, browser, other_site):
    """#13 in Chromium: a page of another site (localhost is another site than 127.0.0.1) sends the
    browser to `/api/auth?login=<the attacker's account>`; no session cookie may result."""
    root, port = other_site
    attacker = urllib.parse.quote(b64(*LPR_ONLY))
    Path(root, "login-csrf.html").write_text(
        f'<!doctype html><script>location.href = "{site.url}/api/auth?login={attacker}";</script>')
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(f"http://localhost:{port}/login-csrf.html")
        page.wait_for_url(f"{site.url}/api/auth*")
        page.wait_for_load_state()
        assert json.loads(page.inner_text("body"))["code"] == -1
        assert not [c for c in context.cookies(site.url) if c["name"] == COOKIE]
    finally:
        context.close()


# ---- #12: forwarded headers ---------------------------------------------------------------------------


def failing_sign_ins(srv, forwarded_for) -> httpx.Response:
    """Six wrong passwords (five are free, the sixth blocks), each from the address `forwarded_for(i)`
    claims; then the right password with a fresh claimed address."""
    for i in range(6):
        r = httpx.get(srv.url + "/api/auth", params={"login": b64("admin", "guess")},
                      headers={"X-Forwarded-For": forwarded_for(i)}, timeout=30)
        assert r.status_code == 401
    return httpx.get(srv.url + "/api/auth", params={"login": b64(*ADMIN)},
                     headers={"X-Forwarded-For": "198.51.100.250"}, timeout=30)


def test_forwarded_for_counts_only_from_a_trusted_proxy(make_server):
    """#12: uvicorn believes X-Forwarded-For from loopback by default, so anything on the host could
    claim a fresh address per request and never be slowed down. `platehub serve` now believes it
    only from PLATEHUB_TRUSTED_PROXIES (default: nobody)."""
    srv = make_server()
    r = failing_sign_ins(srv, lambda i: f"198.51.100.{i + 1}")
    assert r.status_code == 429 and r.headers["retry-after"] == "1"  # one client, the TCP peer
    proxied = make_server(PLATEHUB_TRUSTED_PROXIES="127.0.0.1")
    r = failing_sign_ins(proxied, lambda i: "203.0.113.5")  # behind the proxy: one client guessing …
    assert r.status_code == 200  # … blocks that client only, not the proxy's other clients
    r = httpx.get(proxied.url + "/api/auth", params={"login": b64(*ADMIN)},
                  headers={"X-Forwarded-For": "203.0.113.5"}, timeout=30)
    assert r.status_code == 429


# ---- #14: credentials in the access log ---------------------------------------------------------


def test_access_log_has_no_credentials(tmp_path):
    """#14: with --access-log, uvicorn logged `login=` (base64 of user:password), `auth=` and the
    event socket's `session=` token verbatim. They are masked; the rest of the line stays."""
    srv = Server(tmp_path / "data")
    srv.serve_args = ("--access-log",)
    srv.start()
    try:
        secret = b64(*ADMIN)
        r = httpx.get(srv.url + "/api/auth", params={"login": secret, "lang": "en-US"}, timeout=30)
        assert r.status_code == 200
        token = r.cookies[COOKIE]
        assert httpx.get(srv.url + "/api/info", params={"whoAmI": "", "auth": secret}, timeout=30).status_code == 200
        assert "subscriberId" in first_answer(ws_url(srv.url, topics="LPR", session=token))
        deadline = time.monotonic() + 10
        while "session=***" not in srv.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = srv.log.read_text()
    finally:
        srv.stop()
    assert '"GET /api/auth?login=***&lang=en-US HTTP/1.1" 200' in text
    assert "auth=***" in text and "/wsapi/subscribeEvents?topics=LPR&session=***" in text
    for needle in (secret[:16], urllib.parse.quote(secret)[:16], token[:16]):
        assert needle not in text
