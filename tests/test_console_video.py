"""The console's video player in headless Chromium against a real platehub recording a real RTSP
stream (GStreamer serving cars.mp4, tests/rtsp_server.py; ffmpeg records 2-second segments), on a
phone (390×844) and a desktop (1366×768): the Channels page plays the recording channel live (HLS:
the video advances), a read from that channel has its `video` in /v1/reads/{id}/, its detail page
and the search results have a "Video" link, and the link opens the player on the read's moment (a few
seconds before the vehicle was first seen), which plays; no sideways scrolling, no JavaScript error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from helpers import DEV_DATA, REPO, Server, free_port
from rtsp_server import RtspServer
from test_console import Console, until
from test_video_recording import wait_for

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
VIEWPORTS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Server, httpx.Client, dict]]:
    root = tmp_path_factory.mktemp("console-video")
    rtsp = RtspServer(free_port(), VIDEO, root / "rtsp.log").start()
    srv = Server(root / "data", PLATEHUB_RECORD_SEGMENT="2").start()
    r = srv.cli("channels", "add", "booth", rtsp.url, "--recording", "continuous")
    assert r.returncode == 0, r.stderr
    token = srv.cli("token", "create", "console-video").stdout.strip()
    api = httpx.Client(base_url=srv.url, headers={"Authorization": f"Token {token}"}, timeout=30)

    def recorded_read():  # a vehicle read from the channel whose moment the recording covers
        for line in srv.cli("reads", "--limit", "100").stdout.splitlines():
            read = json.loads(line)
            if read["protocol"] == "video":
                got = api.get(f"/v1/reads/{read['id']}/").json()
                if got["video"] and got["video"]["recorded"]:
                    return got
        return None

    read = wait_for(recorded_read, 120, "a video read covered by the recording")
    yield srv, api, read
    api.close()
    srv.stop()
    rtsp.kill()


def no_sideways_scroll(page, viewport: dict) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways at {viewport['width']} px: {width}"


def test_read_json_says_where_its_video_is(site):
    srv, api, read = site
    first = datetime.fromisoformat(read["first_seen"].replace("Z", "+00:00"))
    video = read["video"]
    assert video == {"channel_id": 1, "channel": "booth", "recording": "continuous", "recorded": True,
                     "start": (first - timedelta(seconds=3)).isoformat().replace("+00:00", "Z")}
    others = [json.loads(line) for line in srv.cli("reads", "--limit", "5").stdout.splitlines()]
    assert all(r["protocol"] == "video" for r in others)  # only the channel reads here
    gone = api.get(f"/v1/reads/{'0' * 32}/")
    assert gone.status_code == 404


@VIEWPORTS
def test_channels_page_plays_the_channel_live(browser, site, viewport):
    srv, _, _ = site
    c = Console(browser, srv, viewport).sign_in()
    page = c.page
    try:
        page.wait_for_selector("#who:not([hidden])")
        c.open("channels?ch=1")
        page.wait_for_selector("#channel-player[data-records='1'] .player[data-mode='live']")
        until(page, "(() => { const v = document.getElementById('channel-video');"
                    " return v && !v.hidden && v.videoWidth === 1280 && v.currentTime > 0; })()", 40)
        t0 = page.evaluate("document.getElementById('channel-video').currentTime")
        until(page, f"document.getElementById('channel-video').currentTime > {t0} + 1.5", 20)  # it plays on
        assert "protocol=hls" in page.evaluate("document.getElementById('channel-video').currentSrc")
        box = page.evaluate("document.getElementById('channel-video').getBoundingClientRect().width")
        assert 0 < box <= viewport["width"]
        no_sideways_scroll(page, viewport)
    finally:
        c.context.close()
    assert not c.errors, c.errors


@VIEWPORTS
def test_a_reads_video_link_plays_its_recorded_moment(browser, site, viewport):
    srv, _, read = site
    start = datetime.fromisoformat(read["video"]["start"].replace("Z", "+00:00"))
    c = Console(browser, srv, viewport).sign_in()
    page = c.page
    try:
        page.wait_for_selector("#who:not([hidden])")
        c.open(f"read/{read['id']}")
        page.wait_for_selector("#read-video")
        no_sideways_scroll(page, viewport)
        page.click("#read-video")
        page.wait_for_selector("#channel-player .player[data-mode='recorded']")
        assert "&at=" in page.evaluate("location.hash")
        until(page, "!!document.querySelector('#channel-player .player').dataset.position", 40)
        shown = page.get_attribute("#channel-player .player", "data-position")
        at = datetime.fromisoformat(shown.replace("Z", "+00:00"))
        assert start - timedelta(seconds=1) <= at <= start + timedelta(seconds=4), (at, start)
        until(page, "(() => { const v = document.getElementById('channel-video');"
                    " return !v.hidden && v.videoWidth === 1280 && !v.paused; })()", 20)
        until(page, f"new Date(document.querySelector('#channel-player .player').dataset.position) - "
                    f"new Date('{shown}') > 1500", 20)  # it plays on from there
        assert "/watch/rec/1/" in page.evaluate("document.getElementById('channel-video').currentSrc")
        no_sideways_scroll(page, viewport)
        # another moment, chosen in the form (local time, whole seconds)
        later = start + timedelta(seconds=6)
        local = page.evaluate("(iso) => { const d = new Date(iso), p = (n) => String(n).padStart(2, '0');"
                              " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T`"
                              " + `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }", later.isoformat())
        page.fill("#channel-player-at", local)
        page.click("#channel-play-at")
        wanted = later.replace(microsecond=0)
        until(page, f"new Date(document.querySelector('#channel-player .player')?.dataset.position || 0) >= "
                    f"new Date('{wanted.isoformat()}')", 40)
        moved = page.get_attribute("#channel-player .player", "data-position")
        assert datetime.fromisoformat(moved.replace("Z", "+00:00")) <= wanted + timedelta(seconds=4), (moved, wanted)
        # the search results link the same moment
        c.open(f"search?keyword={read['plate']}")
        page.wait_for_selector(f"#search-results tr[data-id='{read['id']}'] a.video-link")
        href = page.get_attribute(f"#search-results tr[data-id='{read['id']}'] a.video-link", "href")
        linked = datetime.fromisoformat(httpx.QueryParams(href.split("?", 1)[1])["at"].replace("Z", "+00:00"))
        assert abs((linked - start).total_seconds()) < 1.5, (linked, start)
        no_sideways_scroll(page, viewport)
    finally:
        c.context.close()
    assert not c.errors, c.errors


def test_without_recording_the_read_has_no_video_and_the_channel_shows_frames(browser, site):
    """Last (it stops the recording): the read's video is no longer `recorded`, its page says why and has
    no Video link, and the Channels page shows the channel's newest frames instead of the player."""
    srv, api, read = site
    r = srv.cli("channels", "set", "booth", "--recording", "off")
    assert r.returncode == 0, r.stderr
    video = api.get(f"/v1/reads/{read['id']}/").json()["video"]
    assert video["recording"] == "off" and video["recorded"] is False
    c = Console(browser, srv, DESKTOP).sign_in()
    page = c.page
    try:
        page.wait_for_selector("#who:not([hidden])")
        c.open(f"read/{read['id']}")
        page.wait_for_selector("dd:text('does not record video')")
        assert page.query_selector("#read-video") is None
        c.open("channels?ch=1")
        page.wait_for_selector("#channel-player[data-records='']")
        until(page, "Number(document.getElementById('channel-frame').dataset.loaded || 0) >= 2", 30)
        assert page.query_selector("#channel-video") is None
    finally:
        c.context.close()
    assert not c.errors, c.errors
