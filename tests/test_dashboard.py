"""The console's dashboard (issue 13 part 4): GET /v1/dashboard/ counts reads per hour per source
(SQL GROUP BY hour in the store) and gives each parking lot's occupancy every 15 minutes over the same
day (its stored counter changes, core/occupancy.py), from reads all-in-one cameras really sent and an
operator's correction; the page, first after sign-in, draws them as SVG bar and step charts beside
the devices and the latest reads, in headless Chromium at a phone size and a desktop size, without
sideways scrolling on the phone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pytest
from helpers import Server
from sqlalchemy import create_engine, update

from platehub.config import Settings
from platehub.core.store.schema import parking_lots
from platehub.simulator.allinone import Record, plate_message

ADMIN = ("admin", "admin-test")
PLATE_PATH = Settings().allinone_plate_path
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
# (camera, hours ago, how many reads), sent in this order: two sources over three different hours of
# the last day, and the entrance and exit of lot P1 (3 in six hours ago, 1 out, 4 in, 2 out now)
SENT = (("DASH-A", 0, 3), ("DASH-A", 2, 1), ("DASH-B", 0, 2), ("DASH-B", 5, 4),
        ("LOT-IN", 6, 3), ("LOT-OUT", 4, 1), ("LOT-IN", 1, 4), ("LOT-OUT", 0, 2))
MOVES = {"LOT-IN": +1, "LOT-OUT": -1}
CORRECTED = 9  # the operator's count for P1 after the reads


def hour_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).replace(minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


def parse(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Site:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.token = server.cli("token", "create", "dash").stdout.strip()
        self.per_hour: dict[tuple[str, str], int] = {}  # (source, hour) -> reads
        self.moves: list[tuple[float, int]] = []  # (epoch seconds, +1 / -1 / correction) of lot P1
        self.lot = 0

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.server.url + path, headers={"Authorization": f"Token {self.token}"}, timeout=30)

    def occupancy_at(self, t: float) -> int:
        return sum(delta for at, delta in self.moves if at <= t)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    # lanes without a barrier (policy `always`): every read at LOT-IN goes in
    s = Server(tmp_path_factory.mktemp("dashboard") / "data", PLATEHUB_GATE_POLICY="always").start()
    site = Site(s)
    now = time.time()
    plateid = int(now) % 10**6
    try:
        r = s.cli("lots", "add", "P1", "--max", "20")
        assert r.returncode == 0, r.stderr
        site.lot = int(r.stdout.split("\t")[0])
        for code, end in (("LOT-IN", "--entrance"), ("LOT-OUT", "--exit")):
            r = s.cli("lots", "source", code, "--add", "allinone", end, str(site.lot))
            assert r.returncode == 0, r.stderr
        engine = create_engine(f"sqlite:///{s.data / 'platehub.db'}")
        with engine.begin() as conn:  # a lot counted since two days ago: its history covers the whole day
            conn.execute(update(parking_lots).values(history_since=datetime.now(UTC) - timedelta(days=2)))
        engine.dispose()
        for serial, hours_ago, n in SENT:
            for i in range(n):
                plateid += 1
                # the middle of the hour `hours_ago` back (or a few seconds ago for the current hour)
                ts = now - 5 - i if hours_ago == 0 else (now // 3600 - hours_ago) * 3600 + 1800 + i
                msg = plate_message(Record(plateid, f"DB{plateid % 10**4:04d}X", ts), serial=serial, name=serial)
                r = httpx.post(s.url + PLATE_PATH, json=msg, timeout=30)
                assert r.status_code == 200, r.text
                key = (serial, hour_of(ts))
                site.per_hour[key] = site.per_hour.get(key, 0) + 1
                if serial in MOVES:
                    site.moves.append((ts, MOVES[serial]))
        before = site.occupancy_at(time.time())
        r = httpx.put(f"{s.url}/v1/lots/{site.lot}/count/", json={"count": CORRECTED},
                      headers={"Authorization": f"Token {site.token}"}, timeout=30)
        assert r.status_code == 200 and r.json()["count"] == CORRECTED, r.text
        site.moves.append((time.time(), CORRECTED - before))  # at most a few ms after the server's own stamp
        yield site
    finally:
        s.stop()


def test_reads_per_hour_per_source(site):
    server, expected, token = site.server, site.per_hour, site.token
    assert httpx.get(server.url + "/v1/dashboard/").status_code == 403  # rights as the other /v1 reads
    r = httpx.get(server.url + "/v1/dashboard/", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    d = r.json()
    assert len(d["hours"]) == 24 and d["hours"][-1] == hour_of(time.time())
    got = {(row["source"], hour): n for row in d["reads"] for hour, n in zip(d["hours"], row["counts"]) if n}
    assert got == expected
    cameras = {serial for serial, _, _ in SENT}
    assert {x["code"] for x in d["devices"]} == cameras
    assert len(d["latest"]) == 10 and {x["source"] for x in d["latest"]} <= cameras
    assert [(x["name"], x["count"]) for x in d["lots"]] == [("P1", CORRECTED)]


def test_occupancy_every_quarter_hour_from_the_reads_and_the_correction(site):
    """Each sample is what the reads sent so far (at their own times) and the operator's correction make
    it: 0 in the morning, 3 after the three entries six hours ago, 2, then 6, then 4, then the 9 set by
    hand; every 15 minutes from the first hour of the window, then now."""
    d = site.get("/v1/dashboard/").json()
    times = [parse(t) for t in d["occupancy"]["times"]]
    assert d["occupancy"]["times"][0] == d["hours"][0]
    assert all(b - a == 900 for a, b in pairwise(times[:-1])) and 0 < times[-1] - times[-2] <= 900
    assert abs(times[-1] - time.time()) < 60  # the last sample is now
    (lot,) = d["occupancy"]["lots"]
    assert lot["id"] == site.lot and lot["name"] == "P1"
    assert lot["counts"] == [site.occupancy_at(t) for t in times]
    assert lot["counts"][-1] == CORRECTED and {0, 3, 2, 6} <= set(lot["counts"])  # every level the reads made


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_dashboard_page_first_after_sign_in(browser, site, viewport):
    server, expected = site.server, site.per_hour
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
        assert page.locator("#dash-devices li").count() == len({serial for serial, _, _ in SENT})
        assert page.locator("#dash-devices li[data-code='DASH-A'] .badge").inner_text() in ("online", "offline")
        # the occupancy of lot P1 over the day: one step line through every sample, ending at the corrected 9
        lines = page.eval_on_selector_all("#dash-occupancy svg.chart path.step",
                                          "els => els.map(e => [e.dataset.series, e.dataset.values, "
                                          "e.getTotalLength()])")
        api = site.get("/v1/dashboard/").json()["occupancy"]["lots"][0]["counts"]
        assert [(name, values.split(",")[-1]) for name, values, _ in lines] == [("P1", str(CORRECTED))]
        assert [int(v) for v in lines[0][1].split(",")][:-1] == api[:-1]  # the page's, polled a moment earlier
        assert lines[0][2] > 100  # drawn: steps across the chart, not a dot
        assert page.locator("#dash-occupancy").is_visible()
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


def test_counter_counts_rule():
    """The pure rule: the current count minus the changes after each time; None before the history
    begins; never below 0; a group sums its members' known counts."""
    from platehub.core.occupancy import counter_counts, series
    from platehub.core.store.parking import Lot

    def at(h: int) -> datetime:
        return datetime(2026, 12, 2, h, tzinfo=UTC)

    times = [at(h) for h in range(8, 14)]
    changes = [(at(9), +1), (at(10), +1), (at(11), -1), (at(12), +5)]  # the last one: a correction
    assert counter_counts(6, at(8), changes, times) == (0, 1, 2, 1, 6, 6)
    assert counter_counts(6, at(10), changes, times) == (None, None, 2, 1, 6, 6)  # no history before 10:00
    assert counter_counts(0, None, [(at(9), -1), (at(10), +1)], times) == (0, 0, 0, 0, 0, 0)  # a dip shows as 0
    a, b = Lot(1, "A", "counter", 6, 10, history_since=at(8)), Lot(2, "B", "counter", 1, 10, history_since=at(11))
    g = Lot(3, "AB", "group", 7, 20, members=(1, 2))
    got = series([a, b, g], [(1, t, d) for t, d in changes] + [(2, at(12), +1)], times)
    assert [x.counts for x in got] == [(0, 1, 2, 1, 6, 6), (None, None, None, 0, 1, 1), (0, 1, 2, 1, 7, 7)]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_occupancy_history_in_both_databases(dialect, tmp_path, request):
    """Entries and exits counted by the parking service at their reads' times, an exit at 0 (no change),
    an operator's correction now: the samples at known times are exact in both databases; retention
    then prunes the changes older than its limit and moves the lot's history_since there, and the day's
    samples stay the same."""
    from sqlalchemy import func, select, text

    from platehub.config import Settings
    from platehub.core.bus import Bus
    from platehub.core.dashboard import gather
    from platehub.core.occupancy import STEP
    from platehub.core.parking import ParkingService
    from platehub.core.read import Read, new_id, utcnow
    from platehub.core.retention import Retention
    from platehub.core.store import Store
    from platehub.core.store.schema import occupancy_changes

    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if dialect == "sqlite" else request.getfixturevalue("pg_url")
    store = Store(url, tmp_path / "images")
    try:
        if dialect == "postgresql":
            with store.engine.begin() as conn:
                for table in ("occupancy_changes", "visits", "parking_lots", "devices", "reads"):
                    conn.execute(text(f"DELETE FROM {table}"))
        svc = ParkingService(store, Bus())
        lot = svc.add_lot("P1", "counter", 10).id
        for code, kw in (("IN", {"entrance": lot}), ("OUT", {"exit": lot})):
            store.devices.add(code, "push")
            svc.map_source(code, **kw)
        hour = utcnow().replace(minute=0, second=0, microsecond=0)

        def ago(hours: float) -> datetime:
            return hour - timedelta(hours=hours)

        with store.engine.begin() as conn:  # counted since three days ago
            conn.execute(update(parking_lots).values(history_since=ago(72)))
        reads = [("IN", ago(50)), ("IN", ago(49)), ("OUT", ago(20)), ("OUT", ago(20) + timedelta(seconds=1)),
                 ("OUT", ago(19)),  # at 0: changes nothing
                 ("IN", ago(10)), ("IN", ago(10) + timedelta(minutes=14, seconds=59)), ("IN", ago(3.5)),
                 ("OUT", ago(1))]
        for code, when in reads:
            svc.on_read(Read(id=new_id(), plate="", plate_raw="", protocol="push", source=code, first_seen=when))
        assert svc.get(lot).count == 2
        svc.set_count(lot, 7)
        d = gather(store)
        (got,) = d.occupancy
        samples = dict(zip(d.occupancy_times, got.counts))
        assert d.occupancy_times[0] == ago(23) and ago(0) in samples
        assert all(b - a == STEP for a, b in pairwise(d.occupancy_times[:-1]))
        assert samples[ago(23)] == 2 and samples[ago(20)] == 1 and samples[ago(19.75)] == 0  # a change at a sample
        assert samples[ago(10.25)] == 0 and samples[ago(10)] == 1 and samples[ago(9.75)] == 2  # counts there
        assert samples[ago(3.75)] == 2 and samples[ago(3.5)] == 3 and samples[ago(1.25)] == 3
        assert samples[ago(1)] == 2 and samples[ago(0)] == 2 and got.counts[-1] == 7  # the correction, now
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(occupancy_changes)).scalar_one() == 9

        settings = Settings(data_dir=tmp_path, retain_reads_days=1)
        counts = Retention(settings, store, pause=0).run()
        assert counts.occupancy == 2  # the two entries of two days ago
        since = store.lots.get(lot).history_since
        assert since is not None and ago(25) < since < ago(23)  # the limit: a day before the run
        assert gather(store, d.occupancy_times[-1]).occupancy[0].counts == got.counts
        Retention(Settings(data_dir=tmp_path, retain_reads_days=0.5), store, pause=0).run()  # inside the day
        after = dict(zip(d.occupancy_times, gather(store, d.occupancy_times[-1]).occupancy[0].counts))
        assert after[ago(13)] is None and after[ago(10)] == 1 and after[ago(1)] == 2  # not known before the limit
    finally:
        store.close()


def test_lots_from_before_the_history_have_none_before_the_migration(tmp_path):
    """A lot that existed before migration 0010 has no known occupancy before it (null), then its count."""
    from alembic import command
    from sqlalchemy import insert

    from platehub.core.dashboard import gather
    from platehub.core.store import Store
    from platehub.core.store.database import _config, connect

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = connect(url)
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009")
        conn.execute(insert(parking_lots).values(
            name="Old", type="counter", max_count=10, count=4, created_at=datetime(2025, 1, 1, tzinfo=UTC)))
    engine.dispose()
    before = datetime.now(UTC)
    store = Store(url, tmp_path / "images")
    try:
        (lot,) = store.lots.list()
        assert lot.history_since is not None and before <= lot.history_since <= datetime.now(UTC)
        d = gather(store)
        assert d.occupancy[0].counts[-1] == 4 and set(d.occupancy[0].counts[:-2]) == {None}
    finally:
        store.close()
