"""The console's Channels page in headless Chromium against a real platehub reading a video file as a
channel (../shared/data/video/cars.mp4, played in real time), on a phone (390×844) and a desktop
(1366×768): the list with each channel's status, kept live by the TS-API channelStatus topic (a change
made through the API shows without reloading), adding a channel with the form, its live view (the
newest frame, refreshed every second), deleting it, no sideways scrolling and no JavaScript error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from helpers import DEV_DATA, REPO, Server
from test_console import Console, until

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Server, httpx.Client]]:
    srv = Server(tmp_path_factory.mktemp("console-channels") / "data").start()
    token = srv.cli("token", "create", "console-channels").stdout.strip()
    api = httpx.Client(base_url=srv.url, headers={"Authorization": f"Token {token}"}, timeout=60)
    r = srv.cli("channels", "add", "booth", str(VIDEO))
    assert r.returncode == 0, r.stderr
    yield srv, api
    api.close()
    srv.stop()


def badge(page, name: str) -> str:
    sel = f"article.channel[data-name='{name}'] .channel-state"
    return page.inner_text(sel) if page.query_selector(sel) else ""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_channels_page(browser, site, viewport):
    srv, api = site
    c = Console(browser, srv, viewport).sign_in()
    page = c.page
    page.on("dialog", lambda d: d.accept())
    try:
        page.wait_for_selector("#who:not([hidden])")
        c.open("channels")
        page.wait_for_selector("article.channel[data-name='booth']")
        until(page, "document.querySelector('section.page-channels').dataset.subscribed === '1'")
        deadline_state = "document.querySelector(\"article.channel[data-name='booth'] .channel-state\")"
        until(page, f"{deadline_state} && {deadline_state}.textContent === 'online'", 60)
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"the list scrolls sideways at {viewport['width']} px: {width}"

        # add a channel with the form: the page then shows its live view
        name = f"cam-{uuid.uuid4().hex[:6]}"
        page.click("#channel-add-box > summary")
        page.fill("#channel-add input[name=name]", name)
        page.fill("#channel-add input[name=url]", str(VIDEO))
        page.fill("#channel-add input[name=sample_rate]", "2")
        page.click("#channel-add button[type=submit]")
        page.wait_for_selector(f"article.channel[data-name='{name}']")
        cid = page.get_attribute(f"article.channel[data-name='{name}']", "data-id")
        assert api.get(f"/v1/channels/{name}/").json()["sample_rate"] == 2.0
        page.wait_for_selector(f"#channel-view[data-id='{cid}']")
        assert page.query_selector("#channel-player[data-slot='recorded-player']")  # the recorded player's place
        # the newest frame shows, and is refreshed (a second frame loaded a second later)
        until(page, "Number(document.getElementById('channel-frame').dataset.loaded || 0) >= 2", 60)
        natural = page.evaluate("[document.getElementById('channel-frame').naturalWidth, "
                                "document.getElementById('channel-frame').getBoundingClientRect().width]")
        assert natural[0] > 0 and 0 < natural[1] <= viewport["width"], natural
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"the live view scrolls sideways at {viewport['width']} px: {width}"

        # edit it with the form
        page.click(f"article.channel[data-id='{cid}'] button.edit")
        page.fill("#channel-edit input[name=sample_rate]", "3")
        page.select_option("#channel-edit select[name=direction]", "in")
        page.click("#channel-edit details.more > summary")
        page.fill("#channel-edit textarea[name=zones]", "[[[0,2160],[7680,2160]")
        page.click("#channel-edit button[type=submit]")
        page.wait_for_selector("#channel-edit .error:text('zones: not JSON')")
        page.fill("#channel-edit textarea[name=zones]", "[[[0,2160],[7680,2160],[7680,9000]]]")
        page.click("#channel-edit button[type=submit]")  # the server's rule, in its words
        page.wait_for_selector("#channel-edit .error:text('8K logical coordinates')")
        page.fill("#channel-edit textarea[name=zones]", "[[[0,2160],[7680,2160],[7680,4320],[0,4320]]]")
        page.click("#channel-edit button[type=submit]")
        page.wait_for_selector("#channel-edit", state="detached")
        edited = api.get(f"/v1/channels/{cid}/").json()
        assert (edited["sample_rate"], edited["direction"], edited["url"]) == (3.0, "in", str(VIDEO))
        assert edited["zones"] == [[[0, 2160], [7680, 2160], [7680, 4320], [0, 4320]]] and edited["masks"] == []
        page.click(f"article.channel[data-id='{cid}'] button.edit")  # the form shows what is stored
        assert page.input_value("#channel-edit textarea[name=zones]") == "[[[0,2160],[7680,2160],[7680,4320],[0,4320]]]"
        assert page.input_value("#channel-edit input[name=sample_rate]") == "3"
        page.click("#channel-edit button[type=submit]")  # saved unchanged: the zones stay
        page.wait_for_selector("#channel-edit", state="detached")
        assert api.get(f"/v1/channels/{cid}/").json()["zones"] == edited["zones"]

        # a change made elsewhere (the API) shows live: the channelStatus topic, no reload
        page.evaluate("window.notReloaded = true")
        assert api.patch(f"/v1/channels/{cid}/", json={"enabled": False}).status_code == 200
        until(page, f"document.querySelector(\"article.channel[data-id='{cid}'] .channel-state\")?.textContent"
                    " === 'disabled'", 30)
        assert page.evaluate("window.notReloaded === true")
        until(page, "!document.getElementById('channel-frame-note').hidden", 15)  # no frame of a disabled one

        # enable it again and delete it from the page
        page.click(f"article.channel[data-id='{cid}'] button.toggle")
        until(page, f"document.querySelector(\"article.channel[data-id='{cid}'] .channel-state\")?.textContent"
                    " !== 'disabled'", 30)
        page.click(f"article.channel[data-id='{cid}'] button.delete")
        page.wait_for_selector(f"article.channel[data-id='{cid}']", state="detached")
        assert api.get(f"/v1/channels/{cid}/").status_code == 404
        page.wait_for_selector("article.channel[data-name='booth'] .channel-state")
        assert badge(page, "booth") in ("online", "offline", "connecting")  # a file channel replays its file
    finally:
        c.context.close()
    assert not c.errors, c.errors
