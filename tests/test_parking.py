"""Parking lots, occupancy and visits (core/parking.py): the rules on a real store, then through a real
server — the management API, TS-API's parkingLot enumeration, lprSrc, LPR and parkingCount events, and
a smaller run of benchmarks/parking_10k.py (occupancy exact, ≥ 99 % of visits paired)."""

from __future__ import annotations

import base64
import contextlib
import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from platehub.core import parking
from platehub.core.bus import PARKING_COUNT, PARKING_FULL, Bus
from platehub.core.parking import NotFound, ParkingError, ParkingService
from platehub.core.read import Read, new_id
from platehub.core.store import Store
from platehub.core.store.devices import Device

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import parking_10k

ADMIN = ("admin", "admin-test")
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class Recorder(Bus):
    """A bus that keeps what is published (no event loop needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []

    def publish(self, topic, payload) -> None:
        self.events.append((topic, payload))


@pytest.fixture
def svc(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    service = ParkingService(store, Recorder())
    yield service
    store.close()


def setup_lot(svc: ParkingService, max_count: int = 10, name: str = "B1") -> tuple[int, str, str]:
    lot = svc.add_lot(name, "counter", max_count, user="t")
    ent, ext = f"IN-{lot.id}", f"OUT-{lot.id}"
    for code, kw in ((ent, {"entrance": lot.id}), (ext, {"exit": lot.id})):
        svc.store.devices.add(code, "push")
        svc.map_source(code, user="t", **kw)
    return lot.id, ent, ext


_clock = [T0]


def read(source: str, plate: str, direction: str | None = None) -> Read:
    _clock[0] += timedelta(seconds=1)
    return Read(id=new_id(), plate=plate, plate_raw=plate, protocol="push", source=source, direction=direction,
                first_seen=_clock[0], last_seen=_clock[0], received_at=_clock[0])


def count(svc, lot_id) -> int:
    return svc.get(lot_id).count


# ---------------------------------------------------------------- rules


def test_movements_follow_the_source_mapping_and_direction():
    def dev(ent, ext):
        return Device("c", "push", None, None, None, False, True, {}, T0, T0, lot_entrance=ent, lot_exit=ext)

    assert parking.movements(dev(1, None), None) == [("entry", 1)]
    assert parking.movements(dev(None, 2), "in") == [("exit", 2)]  # the mapping decides, not the direction
    assert parking.movements(dev(1, 2), None) == [("exit", 2), ("entry", 1)]  # between two lots
    assert parking.movements(dev(3, 3), "approaching") == [("entry", 3)]
    assert parking.movements(dev(3, 3), "out") == [("exit", 3)]
    assert parking.movements(dev(3, 3), "left") is None  # two-way camera, no usable direction
    assert parking.movements(dev(None, None), "in") == []
    assert parking.lot_direction(dev(1, None), None) == "entry"
    assert parking.lot_direction(dev(None, 1), "in") == "entry"  # the read's own direction first
    assert parking.lot_direction(dev(1, 2), None) is None


def test_entry_exit_and_dwell(svc):
    lot, ent, ext = setup_lot(svc)
    [m] = svc.on_read(read(ent, "AB1234"))
    assert (m.kind, m.before, m.after) == ("entry", 0, 1) and count(svc, lot) == 1
    [m] = svc.on_read(read(ext, "AB1234"))
    assert (m.kind, m.after, m.paired, m.distance) == ("exit", 0, True, 0)
    visit = svc.visits.get(m.visit_id)
    assert visit.status == "closed" and visit.dwell == timedelta(seconds=1) and visit.exit_plate is None
    assert svc.on_read(read("UNMAPPED", "AB1234")) == []


def test_never_below_zero(svc):
    lot, _, ext = setup_lot(svc)
    [m] = svc.on_read(read(ext, "ZZ9999"))
    assert (m.before, m.after, m.paired) == (0, 0, False) and count(svc, lot) == 0
    assert svc.visits.get(m.visit_id).status == "exit_only"


def test_over_the_maximum_counts_and_alerts(svc):
    lot, ent, _ = setup_lot(svc, max_count=2)
    moves = [svc.on_read(read(ent, p))[0] for p in ("AA1111", "BB2222", "CC3333")]
    assert [m.over_max for m in moves] == [False, False, True] and count(svc, lot) == 3
    alerts = [p for t, p in svc.bus.events if t == PARKING_FULL]
    assert alerts == [{"lot": lot, "name": "B1", "count": 3, "maxCount": 2, "read": alerts[0]["read"],
                       "plateNo": "CC3333"}]
    with svc.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT type, code, details FROM event_log WHERE type = 'parking'").all()
    assert len(rows) == 1 and rows[0][1] == "full"


def test_manual_correction_is_logged_and_published(svc):
    lot, ent, _ = setup_lot(svc)
    svc.on_read(read(ent, "AA1111"))
    svc.bus.events.clear()
    assert svc.set_count(lot, 7, user="alice").count == 7
    [change] = [p for t, p in svc.bus.events if t == PARKING_COUNT]
    assert change.cause == "manual" and change.lots[0].count == 7
    with svc.store.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT user, details FROM event_log WHERE type = 'settings' "
                                   "ORDER BY id DESC LIMIT 1").first()
    details = json.loads(row[1]) if isinstance(row[1], str) else row[1]
    assert row[0] == "alice" and details == {"setting": f"parking lot {lot} count", "before": 1, "after": 7}
    for bad in (-1, "3", 2.5, None, True):
        with pytest.raises(ParkingError):
            svc.set_count(lot, bad)
    with pytest.raises(NotFound):
        svc.set_count(999, 1)


def test_groups_sum_their_members_and_changes_name_the_groups(svc):
    a, ent_a, _ = setup_lot(svc, 50, "B1")
    b, ent_b, _ = setup_lot(svc, 40, "B2")
    g = svc.add_lot("Basement", "group", members=[a, b]).id
    svc.on_read(read(ent_a, "AA1111"))
    svc.on_read(read(ent_b, "BB2222"))
    svc.on_read(read(ent_b, "CC3333"))
    group = svc.get(g)
    assert (group.count, group.max_count, group.members) == (3, 90, (a, b))
    last = [p for t, p in svc.bus.events if t == PARKING_COUNT][-1]
    assert [lot.id for lot in last.lots] == [g, b]  # groups first, then the changed counter
    with pytest.raises(ParkingError):
        svc.add_lot("Bad", "group", members=[g])  # a group of groups
    with pytest.raises(ParkingError):
        svc.add_lot("Bad", "group", max_count=5, members=[a])
    with pytest.raises(ParkingError):
        svc.map_source(ent_a, entrance=g)  # sources map to counters
    svc.remove_lot(a)
    assert svc.get(g).members == (b,) and svc.store.devices.get(ent_a).lot_entrance is None


def test_exits_pair_with_a_misread_entry(svc):
    lot, ent, ext = setup_lot(svc)
    for plate in ("AB1234", "XY9876", "KL5555"):
        svc.on_read(read(ent, plate))
    [look] = svc.on_read(read(ext, "A81234"))  # 8 for B: a look-alike, no edit
    [sub] = svc.on_read(read(ext, "XY9870"))  # one character changed
    [gone] = svc.on_read(read(ext, "KL55"))  # two characters missing: no pair
    assert (look.paired, look.distance) == (True, 0) and (sub.paired, sub.distance) == (True, 1)
    assert svc.visits.get(look.visit_id).plate == "AB1234" and svc.visits.get(look.visit_id).exit_plate == "A81234"
    assert not gone.paired and svc.visits.get(gone.visit_id).status == "exit_only"
    total, open_ = svc.search(lot_id=lot, status="open")
    assert total == 1 and open_[0].plate == "KL5555"
    assert svc.search(plate="a81")[0] == 1  # by the exit's plate too


def test_reentry_marks_the_old_visit_lost(svc):
    lot, ent, ext = setup_lot(svc)
    [first] = svc.on_read(read(ent, "AB1234"))
    [second] = svc.on_read(read(ent, "AB1234"))
    assert svc.visits.get(first.visit_id).status == "lost"
    [out] = svc.on_read(read(ext, "AB1234"))
    assert out.visit_id == second.visit_id and count(svc, lot) == 1


def test_reads_without_a_plate_move_the_counter_only(svc):
    lot, ent, ext = setup_lot(svc)
    [m] = svc.on_read(read(ent, ""))
    assert m.visit_id is None and count(svc, lot) == 1
    [m] = svc.on_read(read(ext, ""))
    assert m.visit_id is None and count(svc, lot) == 0
    assert svc.search()[0] == 0


def test_two_way_camera(svc):
    lot = svc.add_lot("One gate", "counter", 5).id
    svc.store.devices.add("GATE", "ffjson")
    svc.map_source("GATE", entrance=lot, exit=lot)
    svc.on_read(read("GATE", "AB1234", "in"))
    assert svc.on_read(read("GATE", "CD5678")) == [] and count(svc, lot) == 1
    [m] = svc.on_read(read("GATE", "AB1234", "out"))
    assert m.paired and count(svc, lot) == 0


def test_concurrent_reads_stay_exact(svc):
    lot, ent, ext = setup_lot(svc, 1000)
    plates = [f"C{i:05d}" for i in range(240)]

    def worker(part: list[str]) -> None:
        for p in part:
            svc.on_read(read(ent, p))
        for p in part[: len(part) // 2]:
            svc.on_read(read(ext, p))

    threads = [threading.Thread(target=worker, args=(plates[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(svc, lot) == 120
    assert svc.search(lot_id=lot, status="closed")[0] == 120 and svc.search(lot_id=lot, status="open")[0] == 120


# ---------------------------------------------------------------- through a real server


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    from helpers import Server

    # the pushed reads come from lanes without a barrier (policy `always`): each entry read goes in
    s = Server(tmp_path_factory.mktemp("parking") / "data", PLATEHUB_WS_PING="0", PLATEHUB_GATE_POLICY="always").start()
    s.token = s.cli("token", "create", "parking-test").stdout.strip()
    for code in ("P-IN", "P-OUT", "P-IN2"):
        assert s.cli("lots", "source", code, "--add", "push", "--entrance", "none").returncode == 0
    yield s
    s.stop()


def api(srv) -> httpx.Client:
    return httpx.Client(base_url=srv.url, headers={"Authorization": f"Token {srv.token}"}, timeout=30)


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@contextlib.contextmanager
def socket(srv, **params: str):
    query = str(httpx.QueryParams({"topics": "parkingCount", "auth": b64(*ADMIN), **params}))
    with connect(srv.url.replace("http://", "ws://") + "/wsapi/subscribeEvents?" + query, open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello["topics"] == [t for t in params.get("topics", "parkingCount").split(",")]
        yield ws


def push(srv, *events) -> None:
    r = httpx.post(srv.url + "/api/push", json=list(events), auth=ADMIN, timeout=30)
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def lots(srv):
    with api(srv) as c:
        b1 = c.post("/v1/lots/", json={"name": "B1 Parking Lot", "type": "counter", "maxCount": 50}).json()
        b2 = c.post("/v1/lots/", json={"name": "B2 Parking Lot", "type": "counter", "maxCount": 40}).json()
        g = c.post("/v1/lots/", json={"name": "Basement Parking Lot", "type": "group",
                                      "members": [b1["id"], b2["id"]]}).json()
        assert c.put("/v1/devices/P-IN/lots/", json={"entrance": b1["id"]}).json() == {
            "code": "P-IN", "entrance": b1["id"], "exit": None}
        c.put("/v1/devices/P-OUT/lots/", json={"exit": b1["id"]}).raise_for_status()
        c.put("/v1/devices/P-IN2/lots/", json={"entrance": b2["id"]}).raise_for_status()
        c.put(f"/v1/lots/{b1['id']}/count/", json={"count": 3}).raise_for_status()
        c.put(f"/v1/lots/{b2['id']}/count/", json={"count": 25}).raise_for_status()
    return b1["id"], b2["id"], g["id"]


def test_enum_parking_lot_is_the_guides_shape(srv, lots):
    b1, b2, g = lots
    r = httpx.get(srv.url + "/api/enum", params={"what": "parkingLot"}, auth=ADMIN)
    assert r.status_code == 200
    assert r.json() == {
        "counter": [{"id": b1, "name": "B1 Parking Lot", "type": "counter", "count": 3, "maxCount": 50},
                    {"id": b2, "name": "B2 Parking Lot", "type": "counter", "count": 25, "maxCount": 40}],
        "group": [{"id": g, "name": "Basement Parking Lot", "type": "group", "count": 28, "maxCount": 90,
                   "member": [b1, b2]}],
    }
    assert list(r.json()["group"][0]) == ["id", "name", "type", "count", "maxCount", "member"]
    src = {s["code"]: s for s in httpx.get(srv.url + "/api/enum", params={"what": "lprSrc"}, auth=ADMIN).json()}
    assert src["P-IN"]["parkingLot"] == {"entrance": b1} and src["P-OUT"]["parkingLot"] == {"exit": b1}


def test_parking_count_events(srv, lots):
    b1, b2, g = lots
    with socket(srv) as ws:
        first = json.loads(ws.recv(timeout=10))
        assert first["topic"] == "parkingCount"
        assert [(x["id"], x["count"]) for x in first["updated"]] == [(g, 28), (b1, 3), (b2, 25)]
        with socket(srv, ch=str(b2)) as only_b2:
            assert [x["id"] for x in json.loads(only_b2.recv(timeout=10))["updated"]] == [b2]
            push(srv, {"topic": "LPR", "src": "P-IN", "plateNo": "WS1234"})
            change = json.loads(ws.recv(timeout=10))
            assert change["topic"] == "parkingCount" and list(change) == ["timestamp", "topic", "updated"]
            assert change["updated"] == [
                {"id": g, "name": "Basement Parking Lot", "type": "group", "count": 29, "maxCount": 90,
                 "member": [b1, b2]},
                {"id": b1, "name": "B1 Parking Lot", "type": "counter", "count": 4, "maxCount": 50}]
            with pytest.raises(TimeoutError):  # b1 changed: nothing for a socket watching b2 only
                only_b2.recv(timeout=1)
            push(srv, {"topic": "LPR", "src": "P-OUT", "plateNo": "WS1234"})
            assert [x["count"] for x in json.loads(ws.recv(timeout=10))["updated"]] == [28, 3]


def test_lpr_event_has_the_parking_lot(srv, lots):
    b1, _, _ = lots
    query = str(httpx.QueryParams({"topics": "LPR", "auth": b64(*ADMIN)}))
    with connect(srv.url.replace("http://", "ws://") + "/wsapi/subscribeEvents?" + query, open_timeout=10) as ws:
        ws.recv(timeout=10)
        push(srv, {"topic": "LPR", "src": "P-OUT", "plateNo": "LP0001"})
        msg = json.loads(ws.recv(timeout=10))
    assert msg["parkingLot"] == {"exit": b1} and msg["direction"] == "exit"
    assert list(msg)[-3:] == ["topic", "parkingLot", "direction"]


def test_visits_api_and_export(srv, lots):
    push(srv, {"topic": "LPR", "src": "P-IN", "plateNo": "EXP123"})
    push(srv, {"topic": "LPR", "src": "P-OUT", "plateNo": "EXPI23"})
    with api(srv) as c:
        page = c.get("/v1/visits/", params={"plate": "exp", "status": "closed"}).json()
        assert page["total"] == 1
        [v] = page["visits"]
        assert (v["plate"], v["exitPlate"], v["distance"]) == ("EXP123", "EXPI23", 0)
        assert v["dwellSeconds"] is not None and v["dwellSeconds"] >= 0
        r = c.get("/v1/visits/export/", params={"format": "xlsx"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
        r_csv = c.get("/v1/visits/export/", params={"format": "csv", "plate": "EXP"})
        assert r_csv.status_code == 200 and "EXPI23" in r_csv.text
    from io import BytesIO

    from openpyxl import load_workbook

    rows = list(load_workbook(BytesIO(r.content), read_only=True).active.iter_rows(values_only=True))
    assert rows[0] == parking.EXPORT_HEADER and any(row[3] == "EXP123" for row in rows[1:])


@pytest.mark.parametrize("method,path,body,status", [
    ("post", "/v1/lots/", b"{not json", 400),
    ("post", "/v1/lots/", b"[1, 2]", 400),
    ("post", "/v1/lots/", json.dumps({"name": "X", "maxCount": -1}).encode(), 400),
    ("post", "/v1/lots/", json.dumps({"name": "X", "maxCount": "ten"}).encode(), 400),
    ("post", "/v1/lots/", json.dumps({"name": "", "maxCount": 1}).encode(), 400),
    ("post", "/v1/lots/", json.dumps({"name": "X", "type": "tower", "maxCount": 1}).encode(), 400),
    ("post", "/v1/lots/", json.dumps({"name": "G", "type": "group", "members": [9999]}).encode(), 400),
    ("post", "/v1/lots/", json.dumps({"name": "G", "type": "group", "members": "1"}).encode(), 400),
    ("patch", "/v1/lots/9999/", json.dumps({"name": "X"}).encode(), 404),
    ("patch", "/v1/lots/abc/", json.dumps({"name": "X"}).encode(), 404),
    ("put", "/v1/lots/9999/count/", json.dumps({"count": 1}).encode(), 404),
    ("delete", "/v1/lots/99999999999999999999/", b"", 404),
    ("get", "/v1/lots/9999/", b"", 404),
    ("put", "/v1/devices/NOPE/lots/", json.dumps({"entrance": 1}).encode(), 404),
    ("put", "/v1/devices/P-IN/lots/", json.dumps({"entrance": 9999}).encode(), 404),
    ("put", "/v1/devices/P-IN/lots/", json.dumps({"entrance": "1"}).encode(), 400),
    ("put", "/v1/devices/P-IN/lots/", b"{}", 400),
    ("get", "/v1/visits/?lot=x", b"", 400),
    ("get", "/v1/visits/?status=gone", b"", 400),
    ("get", "/v1/visits/?from=yesterday", b"", 400),
    ("get", "/v1/visits/?limit=-5", b"", 400),
    ("get", "/v1/visits/export/?format=pdf", b"", 400),
])
def test_bad_input_is_refused_cleanly(srv, lots, method, path, body, status):
    with api(srv) as c:
        r = c.request(method.upper(), path, content=body or None)
    assert r.status_code == status, r.text
    assert "detail" in r.json()


def test_bad_count_and_unauthenticated(srv, lots):
    b1, _, g = lots
    with api(srv) as c:
        assert c.put(f"/v1/lots/{b1}/count/", json={"count": -3}).status_code == 400
        assert c.put(f"/v1/lots/{g}/count/", json={"count": 3}).status_code == 400  # groups are computed
    assert httpx.get(srv.url + "/v1/lots/").status_code == 403


def test_simulated_passes_through_the_server(make_server):
    s = make_server(PLATEHUB_GATE_POLICY="always")  # lanes without a barrier, as the benchmark
    token = s.cli("token", "create", "bench").stdout.strip()
    for i in range(len(parking_10k.LOTS)):
        for kind in ("ENT", "EXT"):
            assert s.cli("lots", "source", f"{kind}{i}", "--add", "push", "--entrance", "none").returncode == 0
    result = parking_10k.run(s.url, token, ADMIN, passes=1000, misread_rate=0.03, seed=7, quiet=True)
    assert result["misreads"] > 20
    assert result["occupancy_exact"], (result["server"], result["truth"])
    assert result["share"] >= 0.99, result


# ---------------------------------------------------------------- who entered (issue 11: the counting defect)


def _decision(action: str, reason: str, policy: str = "allow_list"):
    from platehub.core.store.decisions import Decision

    return Decision("r", "d", policy, action, reason, "", T0)


@pytest.mark.parametrize("decision, went_in", [
    (None, True),  # no gate decides the source's reads (Snapshot API)
    (_decision("open", "allowed"), True),  # the gate opened for it
    (_decision("closed", "unknown"), False),  # refused: `info: no`
    (_decision("closed", "denied"), False),
    (_decision("closed", "inactive"), False),
    (_decision("closed", "manual", "manual"), False),  # waits for an operator
    (_decision("open", "by_hand", "manual"), True),  # … who opened by hand
    (_decision("closed", "offline"), True),  # offline record the camera's own list let in
    (_decision("open", "always", "always"), True),  # a lane without a barrier
    (_decision("open", "denied", "always"), True),  # … lets even a deny-list vehicle in (it alerts)
])
def test_an_entry_counts_only_a_vehicle_that_went_in(decision, went_in):
    assert parking.entered(decision) is went_in


async def test_refused_reads_do_not_enter_and_openings_by_hand_do(make_server):
    """Issue 11: with the entrance camera on `allow_list`, each read the gate refused (`info: no`) raised
    the lot's occupancy. Real server, simulated all-in-one cameras (spec 001: `"info": "ok"` opens)."""
    from platehub.simulator.allinone import Camera

    s = make_server()
    token = s.cli("token", "create", "t").stdout.strip()
    assert s.cli("lists", "add", "allow", "京A11111").returncode == 0
    barrier, lane = "GATE-" + new_id()[:8], "LANE-" + new_id()[:8]
    with httpx.Client(base_url=s.url, headers={"Authorization": f"Token {token}"}, timeout=30) as c:
        lot = c.post("/v1/lots/", json={"name": "P", "type": "counter", "maxCount": 10}).json()["id"]
        for code, policy in ((barrier, "allow_list"), (lane, "always")):
            assert c.post("/v1/devices/", json={"code": code}).status_code == 201
            c.put(f"/v1/devices/{code}/", json={"gate_policy": policy}).raise_for_status()
            c.put(f"/v1/devices/{code}/lots/", json={"entrance": lot}).raise_for_status()

        def occupancy() -> int:
            return c.get(f"/v1/lots/{lot}/").json()["count"]

        async with httpx.AsyncClient(timeout=30) as client:
            gate_cam, lane_cam = Camera(client, s.url, barrier), Camera(client, s.url, lane)
            for _ in range(3):  # refused three times
                assert (await gate_cam.push(gate_cam.record("京B22222")))["Response_AlarmInfoPlate"]["info"] == "no"
            assert occupancy() == 0
            assert (await gate_cam.push(gate_cam.record("京A11111")))["Response_AlarmInfoPlate"]["info"] == "ok"
            assert occupancy() == 1
            # offline records: the camera decided from its own list (kept equal to the allow list)
            await gate_cam.push(gate_cam.record("京A11111", offline=True, sec=time.time() - 600))
            assert occupancy() == 2
            await gate_cam.push(gate_cam.record("京C33333", offline=True, sec=time.time() - 500))
            assert occupancy() == 2
            # a lane without a barrier: everyone goes in, live or offline
            await lane_cam.push(lane_cam.record("京D44444"))
            await lane_cam.push(lane_cam.record("京E55555", offline=True, sec=time.time() - 400))
            assert occupancy() == 4
            # refused, then an operator opens by hand for it: it enters, once
            assert (await gate_cam.push(gate_cam.record("京F66666")))["Response_AlarmInfoPlate"]["info"] == "no"
            assert occupancy() == 4
            for _ in range(2):  # a second press lets nobody else in
                r = c.post(f"/v1/devices/{barrier}/commands/", json={"kind": "open_gate"})
                assert r.status_code == 201
                assert occupancy() == 5
        refused = c.get("/v1/visits/", params={"plate": "京B22222"}).json()
        assert refused["total"] == 0
        visits = {v["plate"] for v in c.get("/v1/visits/", params={"lot": lot}).json()["visits"]}
        assert visits == {"京A11111", "京D44444", "京E55555", "京F66666"}
        # an open by hand from the CLI, naming an earlier refused read
        from sqlalchemy import select

        from platehub.core.store.database import connect as db_connect
        from platehub.core.store.schema import reads

        engine = db_connect(f"sqlite:///{s.data / 'platehub.db'}")
        with engine.connect() as conn:
            first_refused = conn.execute(select(reads.c.id).where(reads.c.plate == "京B22222")
                                         .order_by(reads.c.received_at)).first()[0]
        engine.dispose()
        assert s.cli("command", "add", barrier, "open_gate", "--read", first_refused).returncode == 0
        assert occupancy() == 6
        assert c.get(f"/v1/reads/{first_refused}/").json()["decision"]["reason"] == "by_hand"
