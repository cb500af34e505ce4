"""TS-API `/api/find` (spec 004 "Vehicle number log search", "Export the search result of vehicle
numbers log", "Search for similar vehicle numbers") and `/api/image/{id}/...` against a real server;
the store's search on SQLite and PostgreSQL; the export of 100,000 reads."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import Server
from sqlalchemy import insert, text

from platehub.core import similar
from platehub.core.read import Box, Read
from platehub.core.store import Store
from platehub.core.store.database import head_revision
from platehub.core.store.schema import reads as reads_table
from platehub.core.store.search import PlateSearch

ADMIN = ("admin", "admin-test")
VIEWER = ("viewer", "view-pass-1")  # LPR only
EXPORTER = ("exporter", "export-pass-1")  # LPR, DataExport
CONTROL = ("controller", "control-pass-1")  # no LPR

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
# (plate, src, hours after T0): the guide's plates and misreads of AB1234CD
EVENTS = [
    ("AB1234CD", "gate-1", 0),
    ("AB1234CD", "gate-2", 1),
    ("XY5678ZZ", "gate-1", 2),
    ("AB8234CD", "gate-1", 3),
    ("A81234CD", "gate-2", 4),
    ("AB123CD", "gate-1", 5),
    ("QQ9999QQ", "gate-2", 6),
]
RANGE = {"timeBegin": (T0 - timedelta(hours=1)).isoformat(), "timeEnd": (T0 + timedelta(hours=7)).isoformat()}
T1 = datetime(2026, 4, 1, tzinfo=UTC)  # 60 reads of src "bulk" from here on, one a minute


def users_cli(srv: Server, *args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "platehub.cli", "user", *args], env=srv.env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("find") / "data").start()
    try:
        users_cli(s, "add", VIEWER[0], "--password", VIEWER[1], "--rights", "LPR")
        users_cli(s, "add", EXPORTER[0], "--password", EXPORTER[1], "--rights", "LPR,DataExport")
        users_cli(s, "add", CONTROL[0], "--password", CONTROL[1], "--rights", "Control")
        events = [{"topic": "LPR", "src": src, "plateNo": plate, "when": iso(T0 + timedelta(hours=h))}
                  for plate, src, h in EVENTS]
        events[0]["timeBegin"] = iso(T0 - timedelta(seconds=5))
        events += [{"topic": "LPR", "src": "bulk", "plateNo": f"BK{i:04d}", "when": iso(T1 + timedelta(minutes=i))}
                   for i in range(60)]
        r = httpx.post(s.url + "/api/push", json=events, auth=ADMIN, timeout=30)
        assert r.status_code == 200, r.text
        yield s
    finally:
        s.stop()


def find(srv, auth=ADMIN, **params) -> httpx.Response:
    return httpx.get(srv.url + "/api/find", params=params, auth=auth, timeout=60)


def car_no(srv, auth=ADMIN, **params) -> dict:
    r = find(srv, auth, what="carNo", **params)
    assert r.status_code == 200, r.text
    return r.json()


def plates(body: dict) -> list[str]:
    return [d["plateNo"] for d in body["data"]]


def test_push_reads_in_the_guide_shape(srv):
    body = car_no(srv, **RANGE)
    assert list(body) == ["totalCount", "at", "data"]
    assert body["totalCount"] == 7 and body["at"] == 0
    assert plates(body) == [p for p, _, _ in reversed(EVENTS)]  # newest first
    first = body["data"][-1]
    assert re.fullmatch(r"[0-9a-f]{32}", first["id"])
    # a push read has no score, box or image: those optional items are left out
    assert list(first) == ["id", "plateNo", "timeRange", "srcCode", "srcName", "vod"]
    begin, end = (datetime.fromisoformat(t) for t in first["timeRange"])
    assert begin == T0 - timedelta(seconds=5) and end == T0
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", t) for t in first["timeRange"])
    assert first["srcCode"] == first["srcName"] == "gate-1" and first["vod"] == []


def test_src_name_comes_from_the_device(srv):
    with sqlite3.connect(srv.data / "platehub.db", timeout=30) as db:
        db.execute("UPDATE devices SET name = 'The Empire State' WHERE code = 'gate-2'")
    body = car_no(srv, src="gate-2", **RANGE)
    assert {(d["srcCode"], d["srcName"]) for d in body["data"]} == {("gate-2", "The%20Empire%20State")}


def test_keyword_is_a_substring_of_the_normalised_plate(srv):
    assert plates(car_no(srv, keyword="1234", **RANGE)) == ["A81234CD", "AB1234CD", "AB1234CD"]
    assert plates(car_no(srv, keyword="ab-1234", **RANGE)) == ["AB1234CD", "AB1234CD"]
    assert plates(car_no(srv, keyword="zz", **RANGE)) == ["XY5678ZZ"]  # shorter than a trigram
    assert plates(car_no(srv, keyword="Q", **RANGE)) == ["QQ9999QQ"]
    assert car_no(srv, keyword="NOPE")["totalCount"] == 0
    assert car_no(srv, keyword="%")["totalCount"] == 0  # no wildcards
    assert car_no(srv, keyword="BK00")["totalCount"] == 60


@pytest.mark.parametrize("begin", [
    "2026-03-01T12:00:00Z",
    "2026-03-01T07:00:00-05:00",
    "2026-03-01T13:00:00.000+01:00",
])
def test_time_range_formats(srv, begin):
    body = car_no(srv, timeBegin=begin, timeEnd="2026-03-01T14:00:00Z")  # both ends included
    assert plates(body) == ["A81234CD", "AB8234CD", "XY5678ZZ"]


def test_time_without_offset_is_server_local(srv):
    local = (T0 + timedelta(hours=5)).astimezone().replace(tzinfo=None)
    body = car_no(srv, timeBegin=local.isoformat(), timeEnd=(local + timedelta(hours=1)).isoformat())
    assert plates(body) == ["QQ9999QQ", "AB123CD"]
    r = httpx.get(srv.url + "/api/find?what=carNo&sort=asc&timeBegin=2026-03-01T15:00:00+00:00", auth=ADMIN)
    assert r.status_code == 200 and plates(r.json())[:2] == ["AB123CD", "QQ9999QQ"]  # a raw "+" arrives as " "


def test_src_sort_and_paging(srv):
    assert plates(car_no(srv, src="gate-2", **RANGE)) == ["QQ9999QQ", "A81234CD", "AB1234CD"]
    assert car_no(srv, src="gate-1,gate-2", **RANGE)["totalCount"] == 7
    assert car_no(srv, src="nowhere", **RANGE)["totalCount"] == 0
    asc = car_no(srv, sort="asc", **RANGE)
    assert plates(asc) == [p for p, _, _ in EVENTS]
    page = car_no(srv, sort="asc", at=2, maxCount=2, **RANGE)
    assert page["totalCount"] == 7 and page["at"] == 2 and plates(page) == ["XY5678ZZ", "AB8234CD"]
    bulk = car_no(srv, src="bulk")
    assert bulk["totalCount"] == 60 and len(bulk["data"]) == 50  # 50 by default
    assert plates(bulk)[0] == "BK0059"
    assert len(car_no(srv, src="bulk", at=50)["data"]) == 10


@pytest.mark.parametrize("params", [
    {"what": "carNo", "sort": "sideways"},
    {"what": "carNo", "at": "-1"},
    {"what": "carNo", "maxCount": "many"},
    {"what": "carNo", "timeBegin": "yesterday"},
    {"what": "carNo", "timeBegin": "2026-03-02T00:00:00Z", "timeEnd": "2026-03-01T00:00:00Z"},
    {"what": "similarCarNo"},
    {"what": "nothing"},
])
def test_bad_parameters(srv, params):
    r = find(srv, **params)
    assert r.status_code == 400 and r.json()["code"] == -2 and r.json()["message"]


def test_rights_and_wrong_credentials_never_reach_data(srv):
    r = httpx.get(srv.url + "/api/find", params={"what": "carNo"})
    assert r.status_code == 401 and "data" not in r.json()
    r = find(srv, ("viewer", "wrong"), what="carNo")
    assert r.status_code == 401 and "data" not in r.json() and "AB1234CD" not in r.text
    r = httpx.get(srv.url + "/api/find", params={"what": "carNo", "auth": "bm9ib2R5OnJlYWxseQ=="})  # nobody:really
    assert r.status_code == 401 and "AB1234CD" not in r.text
    for what in ("carNo", "similarCarNo"):
        r = find(srv, CONTROL, what=what, keyword="AB1234CD")
        assert r.status_code == 403 and "AB1234CD" not in r.text
    assert find(srv, VIEWER, what="carNo", **RANGE).json()["totalCount"] == 7


def test_similar_car_numbers(srv):
    r = find(srv, VIEWER, what="similarCarNo", keyword="ab1234cd")
    assert r.status_code == 200
    assert r.json() == ["AB1234CD", "A81234CD", "AB123CD", "AB8234CD"]
    assert find(srv, what="similarCarNo", keyword="AB1234CD", maxCount="2").json() == ["AB1234CD", "A81234CD"]
    assert find(srv, what="similarCarNo", keyword="ZZZZZZZZ").json() == []


def test_export_over_http(srv):
    openpyxl = pytest.importorskip("openpyxl")  # without it the export writes CSV
    r = find(srv, EXPORTER, what="carNo", export="true", **RANGE)
    assert r.status_code == 200, r.text
    urls = r.json()
    assert isinstance(urls, list) and len(urls) == 1
    stem = (T0 - timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H.%M.%S")
    assert urls[0].startswith(srv.url + "/download/") and urls[0].endswith(f"/{stem}.xlsx")
    assert httpx.get(urls[0]).status_code == 401
    assert httpx.get(urls[0], auth=VIEWER).status_code == 403  # DataExport is required
    assert httpx.get(urls[0].rsplit("/", 1)[0] + "/..%2Fplatehub.db", auth=EXPORTER).status_code == 404
    got = httpx.get(urls[0], auth=EXPORTER)
    assert got.status_code == 200 and "spreadsheetml" in got.headers["content-type"]
    wb = openpyxl.load_workbook(io.BytesIO(got.content), read_only=True)
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:2] == ("id", "plateNo") and [row[1] for row in rows[1:]] == [p for p, _, _ in reversed(EVENTS)]
    assert find(srv, VIEWER, what="carNo", export="true").status_code == 403
    assert find(srv, EXPORTER, what="carNo", export="true", keyword="NOPE").json() == []


def test_snapshot_read_with_score_box_and_images(srv, photo):
    data = photo("hr-01.jpg")
    r = httpx.post(srv.url + "/v1/plate-reader/", files={"upload": data}, data={"camera_id": "yard"}, timeout=120)
    assert r.status_code == 200, r.text
    box = r.json()["results"][0]["box"]
    body = car_no(srv, VIEWER, keyword="ZG9757HG", src="yard")
    assert body["totalCount"] == 1
    item = body["data"][0]
    assert list(item) == ["id", "plateNo", "score", "roi", "image", "timeRange", "srcCode", "srcName", "vod"]
    assert item["plateNo"] == "ZG9757HG" and 0 < item["score"] <= 100 and isinstance(item["score"], int)
    assert item["roi"] == {"offset": [box["xmin"], box["ymin"]],
                           "size": [box["xmax"] - box["xmin"], box["ymax"] - box["ymin"]]}
    full = f"{srv.url}/api/image/{item['id']}/full"
    assert item["image"] == [full]  # retention "full": no plate crop
    assert httpx.get(full).status_code == 401
    assert httpx.get(full, auth=("viewer", "nope")).status_code == 401
    assert httpx.get(full, auth=CONTROL).status_code == 403
    got = httpx.get(full, auth=VIEWER)
    assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "image/jpeg"
    assert httpx.get(f"{srv.url}/api/image/{item['id']}/plate", auth=VIEWER).status_code == 404
    assert httpx.get(f"{srv.url}/api/image/{item['id']}/other", auth=VIEWER).status_code == 404
    assert httpx.get(f"{srv.url}/api/image/{uuid.uuid4().hex}/full", auth=VIEWER).status_code == 404


def test_event_log_is_answered(srv):
    pytest.importorskip("platehub.protocols.tsapi.eventlog")
    r = find(srv, what="eventLog")
    assert r.status_code == 200, r.text
    assert "data" in r.json()
    assert httpx.get(srv.url + "/api/find", params={"what": "eventLog"}).status_code == 401


# ---- the store: SQLite and PostgreSQL agree ------------------------------------------------------

STORE_READS = [
    ("AB1234CD", "gate-1", 0), ("AB1234CD", "gate-2", 1), ("XY5678ZZ", "gate-1", 2), ("AB8234CD", "gate-1", 3),
    ("A81234CD", "gate-2", 4), ("AB123CD", "gate-1", 5), ("QQ9999QQ", "gate-2", 6), ("50%1*2", "gate-3", 7),
] + [(f"K{i % 7}X{i:03d}", f"cam-{i % 3}", 8 + i) for i in range(40)]

QUERIES = [
    {}, {"keyword": "1234"}, {"keyword": "AB123"}, {"keyword": "zz"}, {"keyword": "_"}, {"keyword": "%"},
    {"keyword": "%1*"}, {"keyword": "X0"}, {"keyword": "K3X"},
    {"since": T0 + timedelta(hours=2), "until": T0 + timedelta(hours=5)},
    {"keyword": "K", "since": T0 + timedelta(hours=20), "until": T0 + timedelta(hours=30), "sort": "asc"},
    {"sources": ["gate-2", "cam-1"]}, {"keyword": "K", "offset": 5, "limit": 7},
    {"sort": "asc", "offset": 40, "limit": 50},
]


def fill(store: Store) -> None:
    store.reads.add(Read(plate=p, plate_raw=p, protocol="push", source=src, source_key=f"{src}:{h}:{p}",
                         score=0.5, box=Box(1, 2, 3, 4), first_seen=T0 + timedelta(hours=h))
                    for p, src, h in STORE_READS)


def answers(store: Store) -> list:
    search = PlateSearch(store.engine)
    out = []
    for q in QUERIES:
        hits, total = search.search(**q)
        out.append(([h.read.plate for h in hits], [h.read.first_seen for h in hits], total))
    out.append(search.similar("AB1234CD"))
    out.append(search.similar("K3X01"))
    out.append(search.similar("5O%1-*2"))
    out.append(search.similar("QQ9999Q"))
    return out


def test_store_search_is_the_same_on_postgresql(tmp_path, pg_url):
    lite = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    pg = Store(pg_url, tmp_path / "images")
    try:
        with pg.engine.begin() as conn:
            conn.execute(text("DELETE FROM reads"))
        fill(lite)
        fill(pg)
        expected = answers(lite)
        assert expected[1][0] == ["A81234CD", "AB1234CD", "AB1234CD"] and expected[1][2] == 3
        assert expected[5][2] == 1 and expected[6][0] == ["50%1*2"]  # wildcards are literal
        assert expected[-4] == ["AB1234CD", "A81234CD", "AB123CD", "AB8234CD"]
        assert expected[-2] == ["50%1*2"] and expected[-1] == ["QQ9999QQ"]
        assert answers(pg) == expected
        with pg.engine.connect() as conn:
            assert conn.execute(text("SELECT 1 FROM pg_indexes WHERE indexname = 'ix_reads_plate_trgm'")).first()
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    finally:
        lite.close()
        pg.close()


def test_postgresql_similar_plates_use_the_trigram_index(tmp_path, pg_url):
    """similarCarNo's LIKE patterns put the wildcard at the changed character, the first one included
    (`_81234C0`): only the trigram index on the canonical form (migration 0012) serves those; without
    it each call scanned the reads table (1,000,000 reads: 242 ms a call, 10 ms with it)."""
    from sqlalchemy import event

    pg = Store(pg_url, tmp_path / "images")
    try:
        with pg.engine.begin() as conn:
            conn.execute(text("DELETE FROM reads"))
        fill(pg)
        with pg.engine.begin() as conn:  # enough other plates for the planner to prefer an index
            conn.exec_driver_sql("INSERT INTO reads (id, protocol, source, plate, plate_raw, first_seen, received_at) "
                                 "SELECT md5(i::text), 'push', 'cam', p, p, now(), now() FROM "
                                 "(SELECT i, 'ZZ' || lpad(i::text, 5, '0') || 'XY' AS p "
                                 "FROM generate_series(1, 20000) AS i) AS plates")
            conn.exec_driver_sql("ANALYZE reads")
        sent = []

        def grab(conn, cursor, statement, parameters, context, executemany):
            sent.append((statement, parameters))

        event.listen(pg.engine, "before_cursor_execute", grab)
        try:
            assert PlateSearch(pg.engine).similar("AB1234CD")[0] == "AB1234CD"
        finally:
            event.remove(pg.engine, "before_cursor_execute", grab)
        statement, parameters = sent[-1]
        with pg.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        assert "ix_reads_plate_canon_trgm" in plan, plan
    finally:
        pg.close()


def test_sqlite_keyword_search_uses_the_trigram_index(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    try:
        fill(store)
        store.reads.replace(Read(**{**store.reads.find(plate="QQ9999QQ")[0].__dict__, "plate": "QQ7777QQ"}))
        search = PlateSearch(store.engine)
        assert search.has_fts()
        assert [h.read.plate for h in search.search("7777")[0]] == ["QQ7777QQ"]  # updated plates are indexed
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM plate_fts WHERE plate_fts MATCH '\"1234\"'")).scalar() == 2
            indexed = conn.execute(text("SELECT plate, canon, tail FROM plate_index")).all()
        assert len(indexed) == len({p for p, _, _ in STORE_READS}) + 1  # the replaced plate stays
        assert all(canon == similar.canonical(p) and tail == canon[1:] for p, canon, tail in indexed)
    finally:
        store.close()


def test_export_of_100k_reads_streams_into_files(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from platehub.protocols.tsapi import export

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    try:
        n = 100_000
        with store.engine.begin() as conn:
            conn.execute(insert(reads_table), [
                {"id": uuid.uuid4().hex, "protocol": "push", "source": "bulk", "plate": f"EX{i:06d}",
                 "plate_raw": f"EX{i:06d}", "score": 0.9, "first_seen": T1 + timedelta(seconds=i),
                 "received_at": T1} for i in range(n)])
        out = tmp_path / "out"
        seen = 0

        def watched(hits):
            """The first file is complete on disk before the rows of the second are read: streamed."""
            nonlocal seen
            for hit in hits:
                seen += 1
                if seen == 40_002:  # row 40,001 went to the second file
                    assert (out / "export.xlsx").stat().st_size > 100_000
                yield hit

        assert not (out / "export.xlsx").exists()
        paths = export.write_files(watched(PlateSearch(store.engine).iter_hits(sort="asc")), out, "export",
                                   rows_per_file=40_000, fmt="xlsx")
        assert seen == n and [p.name for p in paths] == ["export.xlsx", "export(2).xlsx", "export(3).xlsx"]
        counts, last = [], None
        for p in paths:
            wb = openpyxl.load_workbook(p, read_only=True)
            rows = 0
            for row in wb.active.iter_rows(min_row=2, values_only=True):
                rows += 1
                last = row
            wb.close()
            counts.append(rows)
        assert counts == [40_000, 40_000, 20_000] and last[1] == f"EX{n - 1:06d}"
    finally:
        store.close()


def test_carno_json_has_no_private_fields(srv):
    text_ = json.dumps(car_no(srv, **RANGE))
    assert "raw" not in json.loads(text_)["data"][0] and "source_key" not in text_


def test_time_parameters():
    from platehub.protocols.tsapi import carno

    assert carno.parse_time("2018-07-27T09:00:00\r\n", "t") == datetime(2018, 7, 27, 9).astimezone()  # guide's %0D%0A
    assert carno.parse_time("2018-01-01T00:00:00 05:00", "t") == datetime.fromisoformat("2018-01-01T00:00:00+05:00")
    assert carno.parse_time("2018-01-01", "t") == datetime(2018, 1, 1).astimezone()
    assert carno.parse_time("", "t") is None
    q = carno.parse_query({"timeEnd": "2018-01-31T23:59:59.999-05:00", "maxCount": "5000"})
    assert q.until == datetime.fromisoformat("2018-01-31T23:59:59.999999-05:00")  # the whole last ms
    assert q.max_count == carno.MAX_COUNT and q.at == 0 and q.sort == "desc" and not q.export
    with pytest.raises(carno.ParamError):
        carno.parse_time("2018-13-01T00:00:00Z", "t")


def test_csv_export_splits_files(tmp_path):
    import csv

    from platehub.core.store.search import Hit
    from platehub.protocols.tsapi import export

    hits = [Hit(Read(plate=f"CS{i}", plate_raw=f"CS {i}", protocol="push", source="g", first_seen=T0), "Gate")
            for i in range(5)]
    paths = export.write_files(iter(hits), tmp_path, "x", rows_per_file=2, fmt="csv")
    assert [p.name for p in paths] == ["x.csv", "x(2).csv", "x(3).csv"]
    rows = [row for p in paths for row in list(csv.reader(p.open(encoding="utf-8-sig")))[1:]]
    assert [(r[1], r[2], r[7]) for r in rows] == [(f"CS{i}", f"CS {i}", "Gate") for i in range(5)]
    assert export.write_files(iter([]), tmp_path / "none", "x", fmt="csv") == []


def test_direction_and_decision_filters_are_platehub_extensions():
    from platehub.protocols.tsapi import carno

    q = carno.parse_query({"direction": "Entry", "decision": "denied"})
    assert (q.direction, q.decision) == ("entry", "denied") and "approaching" in q.directions
    assert carno.parse_query({}).directions is None
    for bad in ({"direction": "sideways"}, {"decision": "1; drop table"}):
        with pytest.raises(carno.ParamError):
            carno.parse_query(bad)
