"""The operators' web console (src/platehub/console) in headless Chromium against a real platehub:
sign in, a read sent by an all-in-one camera arrives live, search finds it, its detail page shows
the frame with the plate box and the candidates, "Open gate" queues a command the camera receives,
list editing, the Try-it page, settings (users, tokens, webhooks), and no horizontal scrolling on a
phone-width viewport on any page. Needs Playwright (test extras) and the system Chromium (CI
installs it); when either is missing the tests fail, they do not skip."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from helpers import DEV_DATA, Server

from platehub.config import Settings
from platehub.simulator.allinone import Record, plate_message

ADMIN = ("admin", "admin-test")
WAIT_MS = 20_000
PLATE_PATH = Settings().allinone_plate_path
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 375, "height": 812}
PAGES = ("dashboard", "live", "channels", "search", "devices", "lists", "parking", "try", "settings")


@pytest.fixture(scope="module")
def srv(tmp_path_factory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("console") / "data").start()
    yield s
    s.stop()


class Console:
    """A browser tab on the console with its console errors collected."""

    def __init__(self, browser, srv: Server, viewport: dict) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.srv = srv
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # JS errors; failed requests are the pages' business (a 401 before sign-in, a 404 of an API not there)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" and
                     not m.text.startswith("Failed to load resource") else None)

    def sign_in(self, user: str = ADMIN[0], password: str = ADMIN[1]) -> Console:
        self.page.goto(self.srv.url + "/")
        self.page.fill("#signin-user", user)
        self.page.fill("#signin-password", password)
        self.page.click("#signin-form button[type=submit]")
        return self

    def open(self, hash_: str) -> None:
        self.page.goto(f"{self.srv.url}/#/{hash_}")
        self.page.wait_for_selector("section.page[data-ready='1']")

    def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in self.context.cookies()}


@pytest.fixture
def console(browser, srv) -> Iterator[Console]:
    c = Console(browser, srv, DESKTOP)
    c.sign_in()
    c.page.wait_for_selector("#who:not([hidden])")
    yield c
    c.context.close()


def photo_message(serial: str, plate: str, plateid: int) -> dict:
    """An all-in-one camera's plate result with a real photo and its plate box (dev set), else a
    generated frame."""
    image, rect = None, (611, 441, 751, 486)
    if DEV_DATA is not None:
        entry = json.loads((DEV_DATA / "manifest.jsonl").read_text().splitlines()[0])
        image = (DEV_DATA / entry["image"]).read_bytes()
        rect = tuple(entry["plates"][0]["box"])
    else:
        import cv2
        import numpy as np

        frame = np.full((720, 1280, 3), 90, np.uint8)
        image = cv2.imencode(".jpg", frame)[1].tobytes()
    return plate_message(Record(plateid, plate, time.time(), image=image, rect=rect), serial=serial,
                         name="Gate cam")


def camera_sends(srv: Server, serial: str, plate: str, plateid: int | None = None) -> dict:
    r = httpx.post(srv.url + PLATE_PATH, json=photo_message(serial, plate, plateid or int(time.time() * 1000) % 10**9),
                   timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def until(page, expression: str, timeout: float = WAIT_MS / 1000) -> None:
    """Poll a JS expression (page.wait_for_function evaluates strings, which the console's CSP forbids)."""
    deadline = time.time() + timeout
    while not page.evaluate(expression):
        if time.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        time.sleep(0.1)


def unique_plate() -> str:
    return "ZG" + str(uuid.uuid4().int % 10**4).zfill(4) + "CN"


def test_sign_in(browser, srv):
    c = Console(browser, srv, DESKTOP)
    try:
        c.sign_in("admin", "wrong-password")
        c.page.wait_for_selector("#signin-error:not(:empty)")
        assert "Wrong user or password" in c.page.inner_text("#signin-error")
        assert c.page.is_hidden("#nav")
        c.sign_in()
        c.page.wait_for_selector("#who:not([hidden])")
        assert c.page.inner_text("#who-name") == "admin"
        assert "platehub_session" in c.cookies()
        c.page.wait_for_selector("section.page-dashboard[data-ready='1']")
        c.page.click("#sign-out")
        c.page.wait_for_selector("#signin-form")
        assert httpx.get(srv.url + "/api/auth", cookies=c.cookies()).status_code == 401
    finally:
        c.context.close()
    assert not c.errors, c.errors


def test_read_arrives_live_then_search_and_detail(console, srv):
    page = console.page
    console.open("live")
    page.wait_for_selector("section.page-live[data-subscribed='1']")
    serial, plate = f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:8]}", unique_plate()
    camera_sends(srv, serial, plate)
    row = page.locator(f"#live-reads li.read[data-plate='{plate}']")
    row.wait_for()
    assert "Gate cam" in row.inner_text() or serial in row.inner_text()
    row.locator(".decision .badge").wait_for()  # the gate decision, from /v1/reads/{id}/
    until(page, "[...document.querySelectorAll('#live-reads img.thumb')].some(i => i.naturalWidth > 0)")

    # pause buffers, resume shows; the filter hides other plates
    page.click("#live-pause")
    other = unique_plate()
    camera_sends(srv, serial, other)
    page.wait_for_selector("#live-buffered:has-text('1 new')")
    assert page.locator(f"#live-reads li[data-plate='{other}']").count() == 0
    page.click("#live-pause")
    page.locator(f"#live-reads li[data-plate='{other}']").wait_for()
    page.fill("#live-filter", plate.lower())
    assert page.locator(f"#live-reads li[data-plate='{other}']").is_hidden()
    assert page.locator(f"#live-reads li[data-plate='{plate}']").is_visible()

    # search: the exact plate
    page.click("nav a[data-page=search]")
    page.wait_for_selector("#search-form")
    page.fill("#search-plate", plate)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(f"#search-table tr:has-text('{plate}')")
    assert page.inner_text("#search-total").endswith("of 1")
    assert f"keyword={plate}" in page.url
    # … filtered by the gate decision on the server: no list holds it, so it was not opened
    page.select_option("#search-decision", "unknown")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(f"#search-table tr:has-text('{plate}')")
    page.select_option("#search-decision", "open")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-total:has-text('No reads found')")
    page.select_option("#search-decision", "")

    # similar plates: one changed character finds it
    near = plate[:-1] + ("X" if plate[-1] != "X" else "Y")
    page.fill("#search-plate", near)
    page.select_option("#search-mode", "similar")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector(f"#similar-plates a:has-text('{plate}')")
    page.click(f"#similar-plates a:has-text('{plate}')")
    page.wait_for_selector(f"#search-table tr:has-text('{plate}')")

    # export: a download link to the spreadsheet
    page.click("#search-export")
    link = page.locator(".export a.download").first
    link.wait_for()
    assert httpx.get(srv.url + link.get_attribute("href"), cookies=console.cookies()).status_code == 200

    # the read's detail: frame with the plate box, candidates
    page.click(f"#search-table tr:has-text('{plate}') a.plate-link")
    page.wait_for_selector("section.page-read[data-ready='1']")
    assert re.search(r"#/read/[0-9a-f]+$", page.url)
    page.wait_for_selector("#read-frame[data-boxed='1'] #read-box")
    box = page.locator("#read-box").bounding_box()
    frame = page.locator("#read-image").bounding_box()
    assert box and frame and 0 < box["width"] < frame["width"] and frame["x"] <= box["x"]
    assert plate in page.inner_text("#read-candidates")
    assert page.locator("#read-decision").count() == 1
    assert not console.errors, console.errors


def test_open_gate_by_hand(console, srv):
    page = console.page
    serial = f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:8]}"
    camera_sends(srv, serial, unique_plate())
    console.open("devices")
    card = page.locator(f"article.device[data-code='{serial}']")
    card.wait_for()
    assert "allinone" in card.inner_text() and "online" in card.inner_text()
    card.locator("button[data-command=open_gate]").click()
    pending = card.locator("ul.commands li[data-kind=open_gate][data-status=pending]")
    pending.wait_for()
    # the camera's next plate result carries the command; the page shows it delivered
    reply = camera_sends(srv, serial, unique_plate())["Response_AlarmInfoPlate"]
    assert reply["info"] == "ok", reply  # the barrier opens
    card.locator("ul.commands li[data-kind=open_gate][data-status=delivered]").wait_for()
    # the lane's gate policy, set from the card: the camera's next read opens by itself
    card.locator("select.policy").select_option("always")
    card.locator("select.policy[data-saved=always]").wait_for()
    assert camera_sends(srv, serial, unique_plate())["Response_AlarmInfoPlate"]["info"] == "ok"
    card.locator("select.policy").select_option("")
    card.locator("select.policy[data-saved=default]").wait_for()
    assert camera_sends(srv, serial, unique_plate())["Response_AlarmInfoPlate"]["info"] == "no"
    assert not console.errors, console.errors


def _lists_mounted(srv: Server, cookies: dict) -> bool:
    r = httpx.get(srv.url + "/v1/lists/entries/", cookies=cookies)
    return r.status_code != 404 or r.json().get("detail") != "Not Found"


def test_edit_a_list(console, srv):
    if not _lists_mounted(srv, console.cookies()):
        pytest.skip("access lists API (/v1/lists/) is not mounted yet; the Lists page says so (lead: remove "
                    "this skip when lists land)")
    page = console.page
    plate = unique_plate()
    console.open("lists")
    page.click("#lists-add summary")
    form = page.locator("#entry-add")
    form.locator("[name=plate]").fill(plate)
    form.locator("[name=comment]").fill("visitor")
    form.locator("button[type=submit]").click()
    row = page.locator(f"#lists-table tr[data-plate='{plate}']")
    row.wait_for()
    assert "visitor" in row.inner_text()
    row.locator("[data-action=edit]").click()
    edit = page.locator("tr.editing form")
    edit.locator("[name=comment]").fill("contractor")
    edit.locator("[name=list]").select_option("deny")
    edit.locator("button[type=submit]").click()
    page.wait_for_selector(f"#lists-table tr[data-plate='{plate}']:has-text('contractor')")
    assert "deny" in page.locator(f"#lists-table tr[data-plate='{plate}']").inner_text()
    page.once("dialog", lambda d: d.accept())
    page.locator(f"#lists-table tr[data-plate='{plate}'] [data-action=delete]").click()
    page.locator(f"#lists-table tr[data-plate='{plate}']").wait_for(state="detached")
    assert not console.errors, console.errors


def test_try_it_draws_the_result(console, srv, dev_data):
    page = console.page
    console.open("try")
    entry = json.loads((dev_data / "manifest.jsonl").read_text().splitlines()[0])
    page.set_input_files("#try-file", str(dev_data / entry["image"]))
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-frame[data-boxed='1'] .box")
    assert entry["plates"][0]["text"] in page.inner_text("#try-plates")
    assert not console.errors, console.errors


def test_settings_users_tokens_webhooks(console, srv):
    page = console.page
    console.open("settings")
    page.wait_for_selector("#users li[data-login=admin]")
    login = "op" + uuid.uuid4().hex[:6]
    page.click("#settings-users details:has(#user-add) > summary")
    page.fill("#user-add [name=login]", login)
    page.fill("#user-add [name=password]", "operator-pass")
    page.click("#user-add button[type=submit]")
    page.wait_for_selector(f"#users li[data-login={login}]")
    r = httpx.get(srv.url + "/api/info?whoAmI", auth=(login, "operator-pass"))
    assert r.status_code == 200 and r.json()["whoAmI"]["accessRights2"]["LPR"] is True

    page.fill("#token-add [name=name]", "console-test")
    page.click("#token-add button[type=submit]")
    key = page.inner_text("#token-key code.key").strip()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    assert httpx.get(srv.url + "/v1/devices/", headers={"Authorization": f"Token {key}"}).status_code == 200

    page.fill("#webhook-add [name=target]", "http://127.0.0.1:9/hook")
    page.click("#webhook-add button[type=submit]")
    page.wait_for_selector("#webhooks li:has-text('http://127.0.0.1:9/hook')")

    # a user without admin rights sees the console, not the settings
    other = Console(page.context.browser, srv, DESKTOP).sign_in(login, "operator-pass")
    try:
        other.page.wait_for_selector("#who:not([hidden])")
        other.open("settings")
        other.page.wait_for_selector("#settings-users :text('Administrator rights required')")
    finally:
        other.context.close()
    assert not console.errors, console.errors


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_horizontal_scrolling(browser, srv, viewport):
    camera_sends(srv, f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:8]}", unique_plate())
    c = Console(browser, srv, viewport).sign_in()
    try:
        c.page.wait_for_selector("#who:not([hidden])")
        hits = httpx.get(srv.url + "/api/find?what=carNo&maxCount=1", auth=ADMIN).json()["data"]
        for name in (*PAGES, "search?keyword=ZG", f"read/{hits[0]['id']}"):
            c.open(name)
            c.page.wait_for_timeout(300)  # images and late content
            width = c.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert width[0] <= width[1], f"#{name} scrolls sideways at {viewport['width']} px: {width}"
        if viewport is PHONE:  # the menu opens and navigates
            c.page.click("#menu")
            c.page.click("nav a[data-page=devices]")
            c.page.wait_for_selector("section.page-devices[data-ready='1']")
            assert c.page.is_hidden("nav a[data-page=live]")
    finally:
        c.context.close()
    assert not c.errors, c.errors


def test_console_is_served_beside_the_apis(srv):
    index = httpx.get(srv.url + "/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert "script-src 'self'" in index.headers["content-security-policy"]
    for asset in re.findall(r'(?:href|src)="(/console/[^"]+)"', index.text):
        assert httpx.get(srv.url + asset).status_code == 200, asset
    assert httpx.get(srv.url + "/console/pages/live.js").headers["content-type"].startswith(
        ("text/javascript", "application/javascript"))
    assert httpx.get(srv.url + "/openapi.json").status_code == 200
    assert httpx.get(srv.url + "/info/").json()
    assert httpx.get(srv.url + "/api/info?apiVersion").status_code == 200
    missing = httpx.get(srv.url + "/no-such-page")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    size = sum(len(httpx.get(srv.url + p).content) for p in ("/", "/console/app.js", "/console/lib.js",
                                                            "/console/style.css", "/console/pages/live.js"))
    assert size < 60_000, size  # the first page stays small


def test_accounts_api(srv):
    """The HTTP API behind Settings: admin only, the rules of the CLI, sessions of a changed user end."""
    admin = httpx.Client(base_url=srv.url)
    assert admin.get("/api/auth", auth=ADMIN).status_code == 200  # session cookie
    login = "u" + uuid.uuid4().hex[:6]
    r = admin.post("/v1/users/", json={"login": login, "password": "short", "rights": ["LPR"]})
    assert r.status_code == 400 and "8 characters" in r.json()["detail"]
    assert admin.post("/v1/users/", json={"login": login, "password": "long-enough", "rights": ["nope"]}
                      ).status_code == 400
    r = admin.post("/v1/users/", json={"login": login, "password": "long-enough", "rights": ["lpr"]})
    assert r.status_code == 201 and r.json() == {"login": login, "admin": False, "rights": ["LPR"]}
    assert admin.post("/v1/users/", json={"login": login, "password": "long-enough"}).status_code == 400
    user = httpx.Client(base_url=srv.url)
    assert user.get("/api/auth", auth=(login, "long-enough")).status_code == 200
    assert user.get("/v1/users/").status_code == 403
    r = admin.put(f"/v1/users/{login}/", json={"rights": ["LPR", "Control"]})
    assert r.status_code == 200 and r.json()["rights"] == ["LPR", "Control"]
    assert user.get("/api/auth").status_code == 401  # the changed user's session ended
    assert admin.put("/v1/users/admin/", json={"admin": False}).status_code == 400  # the last admin
    assert admin.delete("/v1/users/admin/").status_code == 400
    assert admin.delete(f"/v1/users/{login}/").status_code == 204
    assert admin.delete(f"/v1/users/{login}/").status_code == 404
    r = admin.post("/v1/tokens/", json={"name": "t-" + login})
    assert r.status_code == 201 and len(r.json()["key"]) == 40
    tid = r.json()["id"]
    listed = admin.get("/v1/tokens/").json()
    assert all("key" not in t for t in listed) and any(t["id"] == tid for t in listed)
    assert admin.delete(f"/v1/tokens/{tid}/").status_code == 204
    assert admin.delete(f"/v1/tokens/{tid}/").status_code == 404
    cross = admin.post("/v1/tokens/", json={"name": "x"}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    log = admin.get("/api/find?what=eventLog&maxCount=200").json()
    assert "user rights" in json.dumps(log) or "user" in json.dumps(log)
