"""The console's dashboard (issue 13 part 4): GET /v1/dashboard/ counts reads per hour per source
(SQL GROUP BY hour in the store) from reads an all-in-one camera really sent, and the page, first
after sign-in, draws them as an SVG bar chart beside the devices and the latest reads, in headless
Chromium at a phone size and a desktop size, without sideways scrolling on the phone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from helpers import Server

from platehub.config import Settings
from platehub.simulator.allinone import Record, plate_message

ADMIN = ("admin", "admin-test")
PLATE_PATH = Settings().allinone_plate_path
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
# (camera, hours ago, how many reads): two sources over three different hours of the last day
SENT = (("DASH-A", 0, 3), ("DASH-A", 2, 1), ("DASH-B", 0, 2), ("DASH-B", 5, 4))


def hour_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Server, dict[tuple[str, str], int]]]:
    s = Server(tmp_path_factory.mktemp("dashboard") / "data").start()
    expected: dict[tuple[str, str], int] = {}
    now = time.time()
    plateid = int(now) % 10**6
    try:
        for serial, hours_ago, n in SENT:
            for i in range(n):
                plateid += 1
                # the middle of the hour `hours_ago` back (or a few seconds ago for the current hour)
                ts = now - 5 - i if hours_ago == 0 else (now // 3600 - hours_ago) * 3600 + 1800 + i
                msg = plate_message(Record(plateid, f"DB{plateid % 10**4:04d}X", ts), serial=serial, name=serial)
                r = httpx.post(s.url + PLATE_PATH, json=msg, timeout=30)
                assert r.status_code == 200, r.text
                key = (serial, hour_of(ts))
                expected[key] = expected.get(key, 0) + 1
        yield s, expected
    finally:
        s.stop()


def test_reads_per_hour_per_source(site):
    server, expected = site
    token = server.cli("token", "create", "dash").stdout.strip()
    assert httpx.get(server.url + "/v1/dashboard/").status_code == 403  # rights as the other /v1 reads
    r = httpx.get(server.url + "/v1/dashboard/", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    d = r.json()
    assert len(d["hours"]) == 24 and d["hours"][-1] == hour_of(time.time())
    got = {(row["source"], hour): n for row in d["reads"] for hour, n in zip(d["hours"], row["counts"]) if n}
    assert got == expected
    assert {x["code"] for x in d["devices"]} == {"DASH-A", "DASH-B"}
    assert len(d["latest"]) == 10 and {x["source"] for x in d["latest"]} <= {"DASH-A", "DASH-B"}
    assert d["lots"] == [] and d["occupancy_history"] is False


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dashboard_page_first_after_sign_in(browser, site, viewport):
    server, expected = site
    context = browser.new_context(viewport=viewport)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)  # the 401 before sign-in
        page.goto(server.url + "/")
        page.fill("#signin-user", ADMIN[0])
        page.fill("#signin-password", ADMIN[1])
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("section.page-dashboard[data-ready='1']")
        # one bar per (hour, source) with reads, each as tall as its count
        bars = page.eval_on_selector_all("#dash-reads svg.chart rect.bar",
                                         "els => els.map(e => [e.dataset.series, +e.dataset.index, +e.dataset.value])")
        assert len(bars) == len(expected)
        assert sorted((s, n) for s, _, n in bars) == sorted((s, n) for (s, _), n in expected.items())
        assert page.locator("#dash-devices li").count() == 2
        assert page.locator("#dash-devices li[data-code='DASH-A'] .badge").inner_text() in ("online", "offline")
        assert page.locator("#dash-latest li").count() == 10
        width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], f"the dashboard scrolls sideways at {viewport['width']} px: {width}"
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_hour_buckets_in_both_databases(dialect, tmp_path, request):
    """The GROUP BY hour is dialect SQL (SQLite text, PostgreSQL timestamptz): the same reads give the
    same buckets in both, the hour's edges included, reads older than the window and sourceless ones too."""
    from platehub.core.dashboard import gather
    from platehub.core.read import Read
    from platehub.core.store import Store

    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if dialect == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url, tmp_path / "images")
    try:
        if dialect == "postgresql":
            from sqlalchemy import text

            with store.engine.begin() as conn:
                conn.execute(text("DELETE FROM reads"))
        def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
            return datetime(2026, 12, day, hour, minute, second, tzinfo=UTC)

        stamps = [("cam1", at(2, 10)), ("cam1", at(2, 9, 59, 59)), ("cam1", at(2, 9)), ("cam2", at(1, 11, 5)),
                  ("cam2", at(1, 10, 59)), (None, at(2, 10, 1))]
        store.reads.add(Read(plate=f"AB{i}", plate_raw=f"AB{i}", protocol="snapshot", source=src, first_seen=ts)
                        for i, (src, ts) in enumerate(stamps))
        d = gather(store, at(2, 10, 30))
        assert d.hours[0] == at(1, 11) and d.hours[-1] == at(2, 10) and len(d.hours) == 24
        got = {s.source: {d.hours[i].isoformat(): n for i, n in enumerate(s.counts) if n} for s in d.reads}
        assert got == {"cam1": {"2026-12-02T10:00:00+00:00": 1, "2026-12-02T09:00:00+00:00": 2},
                       "cam2": {"2026-12-01T11:00:00+00:00": 1},  # the read at 10:59 the day before is out
                       "snapshot": {"2026-12-02T10:00:00+00:00": 1}}  # no source: counted under its protocol
    finally:
        store.close()
