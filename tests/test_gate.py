"""Gate decisions: policies applied to the access lists, in the very reply to an all-in-one camera's read
(spec 001 7.1: `"info": "ok"` opens the gate), alerts, and gates opened through another camera."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from helpers import InProcess

from platehub.config import Settings
from platehub.core import gate
from platehub.core.access import AccessLists, Entry, Match
from platehub.core.bus import Bus
from platehub.core.gate import GateKeeper
from platehub.core.read import Read
from platehub.core.store import Store
from platehub.simulator.allinone import Camera

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _match(list_: str, kind: str = "exact", distance: int = 0, active: bool = True) -> Match:
    return Match(Entry(list_, "AB123CD", id=1), kind, distance, active, None if active else "expired", "AB123CD")


# ── the rule ────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("policy, matches, opens, reason", [
    ("allow_list", [_match("allow")], True, "allowed"),
    ("allow_list", [], False, "unknown"),
    ("allow_list", [_match("allow", active=False)], False, "inactive"),
    ("allow_list", [_match("deny")], False, "denied"),
    ("deny_list", [], True, "unknown"),
    ("deny_list", [_match("deny", "edit", 1)], False, "denied"),
    ("deny_list", [_match("allow")], True, "allowed"),
    ("always", [], True, "always"),
    ("always", [_match("deny")], True, "denied"),  # opens, but the deny-list hit still alerts
    ("never", [_match("allow")], False, "never"),
    ("manual", [_match("allow")], False, "manual"),
])
def test_policy_rule(policy, matches, opens, reason):
    deciding, inactive = gate.verdict(matches)
    got = gate.rule(policy, "AB123CD", deciding, inactive, live=True, alert_unknown=False)
    assert (got.opens, got.reason) == (opens, reason)
    assert got.alert == ("deny" if any(m.entry.list == "deny" and m.active for m in matches) else None)


def test_exact_beats_fuzzy_and_deny_wins_a_tie():
    exact_allow, fuzzy_deny = _match("allow"), _match("deny", "edit", 1)
    assert gate.verdict([exact_allow, fuzzy_deny])[0] is exact_allow
    assert gate.verdict([fuzzy_deny, exact_allow])[0] is exact_allow
    tie_allow, tie_deny = _match("allow", "edit", 1), _match("deny", "edit", 1)
    assert gate.verdict([tie_allow, tie_deny])[0] is tie_deny
    lookalike_allow = _match("allow", "lookalike")
    assert gate.verdict([fuzzy_deny, lookalike_allow])[0] is lookalike_allow


def test_offline_records_never_open_and_unknown_alerts_when_asked():
    deciding, _ = gate.verdict([_match("allow")])
    got = gate.rule("allow_list", "AB123CD", deciding, None, live=False, alert_unknown=True)
    assert (got.opens, got.reason, got.alert) == (False, "offline", None) and "offline" in got.why
    assert gate.rule("allow_list", "ZZ1", None, None, True, True).alert == "unknown"
    got = gate.rule("allow_list", "", None, None, True, True)
    assert (got.reason, got.alert) == ("no_plate", None)


# ── the keeper on a real store ──────────────────────────────────────────────────────────────────


@pytest.fixture
def keeper(tmp_path):
    def make(**overrides) -> GateKeeper:
        settings = Settings(data_dir=tmp_path, **overrides)
        store = Store.open(settings)
        return GateKeeper(settings, AccessLists(store.access, settings), store.decisions, Bus())

    return make


def _read(plate: str, source: str = "CAM", at: datetime = NOW) -> Read:
    return Read(plate=plate, plate_raw=plate, protocol="push", source=source, first_seen=at, received_at=at)


def test_tolerance_is_configurable(keeper):
    strict, tolerant = keeper(match_edits=0, match_lookalikes=False), keeper(match_edits=1)
    strict.lists.add({"list": "allow", "plate": "AB123CD"})
    for plate, opens_strict, opens_tolerant in (("AB123CD", True, True), ("AB128CD", False, True),
                                                ("A8123CD", False, True), ("AB12CD", False, True),
                                                ("XB128CD", False, False)):
        assert strict.decide(_read(plate), None).opens is opens_strict, plate
        decision = tolerant.decide(_read(plate), None)
        assert decision.opens is opens_tolerant, plate
        if opens_tolerant:
            assert decision.entry_plate == "AB123CD" and plate in decision.why


def test_validity_window_and_scope(keeper):
    k = keeper()
    k.lists.add({"list": "allow", "plate": "OLD1234", "valid_until": (NOW - timedelta(days=1)).isoformat()})
    k.lists.add({"list": "allow", "plate": "NEW1234", "valid_from": (NOW + timedelta(days=1)).isoformat()})
    k.lists.add({"list": "allow", "plate": "LANE123", "devices": "CAM-B"})
    expired = k.decide(_read("OLD1234"), None)
    assert (expired.action, expired.reason) == ("closed", "inactive") and "expired" in expired.why
    assert k.decide(_read("NEW1234"), None).reason == "inactive"
    assert k.decide(_read("LANE123", "CAM-A"), None).reason == "unknown"
    assert k.decide(_read("LANE123", "CAM-B"), None).opens


def test_an_open_by_hand_turns_only_a_refused_decision_once(keeper):
    """Issue 11 (counting): an operator's open for a refused read is recorded on its decision, so the
    vehicle is counted once (core/parking.py `opened_by_hand`)."""
    k = keeper()
    refused, allowed = _read("ZZ999"), _read("AB123CD")
    k.lists.add({"list": "allow", "plate": "AB123CD"})
    assert not k.decide(refused, None).opens and k.decide(allowed, None).opens
    assert k.repo.open_by_hand(refused.id, "alice")
    after = k.repo.get(refused.id)
    assert (after.action, after.reason) == ("open", "by_hand") and after.why.startswith("opened by hand by alice; ")
    assert not k.repo.open_by_hand(refused.id, "bob")  # a second press changes nothing
    assert not k.repo.open_by_hand(allowed.id, "alice") and k.repo.get(allowed.id).reason == "allowed"
    assert not k.repo.open_by_hand("no-such-read", "alice")


def test_a_read_is_decided_once(keeper):
    k = keeper(gate_policy="always")
    read = _read("AB1")
    first = k.decide(read, None)
    k.settings = Settings(data_dir=k.settings.data_dir, gate_policy="never")
    assert k.decide(read, None) == first
    assert k.repo.get(read.id) == first


# ── through the all-in-one door ─────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    server = InProcess(tmp_path_factory.mktemp("gate") / "data", comet_hold=0.5).start()
    yield server
    server.stop()


def _serial() -> str:
    return f"gate-{time.time_ns() % 10**9}"


def test_camera_gets_the_decision_in_the_reply_to_its_read(inproc):
    hub = inproc.hub
    hub.lists.add({"list": "allow", "plate": "京A12345", "comment": "resident"})
    hub.lists.add({"list": "deny", "plate": "京B66666", "comment": "banned"})
    hub.lists.add({"list": "allow", "plate": "京C11111", "valid_until": "2020-01-01 00:00:00"})

    async def run():
        async with httpx.AsyncClient(timeout=10) as client:
            cam = Camera(client, inproc.url, _serial())
            replies = {}
            for plate in ("京A12345", "京A12346", "京B66666", "京C11111", "京Z99999"):
                rec = cam.record(plate)
                replies[plate] = (rec, (await cam.push(rec))["Response_AlarmInfoPlate"])
            offline = cam.record("京A12345", offline=True, sec=time.time() - 3600)
            replies["offline"] = (offline, (await cam.push(offline))["Response_AlarmInfoPlate"])
            again = (await cam.push(replies["京A12345"][0]))["Response_AlarmInfoPlate"]  # the camera resends
            return cam, replies, again

    cam, replies, again = asyncio.run(run())
    info = {k: v[1]["info"] for k, v in replies.items()}
    assert info == {"京A12345": "ok", "京A12346": "ok", "京B66666": "no", "京C11111": "no", "京Z99999": "no",
                    "offline": "no"}
    assert again["info"] == "ok" and len(cam.gate_openings) == 3

    def decision(plate_key: str):
        rec = replies[plate_key][0]
        read = hub.store.reads.get_by_key("allinone", f"{cam.serial}:{rec.plateid}")
        return hub.store.decisions.get(read.id)

    assert (decision("京A12346").reason, decision("京A12346").distance) == ("allowed", 1)  # one-character misread
    denied = decision("京B66666")
    assert (denied.reason, denied.alert, denied.list) == ("denied", "deny", "deny")
    assert decision("京C11111").reason == "inactive" and "expired" in decision("京C11111").why
    assert decision("offline").reason == "offline"
    # searchable by decision (TS-API carNo's `decision=` extension, the console's filter)
    from platehub.core.store.search import PlateSearch

    search = PlateSearch(hub.store.engine)
    assert [h.read.plate for h in search.search(sources=[cam.serial], decision="denied")[0]] == ["京B66666"]
    opened = {h.read.plate for h in search.search(sources=[cam.serial], decision="open")[0]}
    assert opened == {"京A12345", "京A12346"}
    alerts = [e for e in hub.store.engine.connect().exec_driver_sql(
        "select code, source, details from event_log where type = 'access'")]
    assert [(a[0], a[1]) for a in alerts] == [("denied", cam.serial)]


def test_policies_per_device_and_a_gate_opened_through_another_camera(inproc):
    hub = inproc.hub
    barrier, lane = _serial(), "LANE-FF-1"
    hub.store.devices.add(barrier, "allinone")
    hub.store.devices.add(lane, "push")
    hub.devices.configure(lane, {"gate_policy": "deny_list", "gate_device": barrier, "alert_unknown": "on"})
    decision = hub.gate.decide(_read("QQ777QQ", lane), hub.store.devices.get(lane))
    assert decision.opens and decision.alert == "unknown"
    assert [(c.kind, c.status) for c in hub.store.commands.pending(barrier)] == [("open_gate", "pending")]

    async def poll():
        async with httpx.AsyncClient(timeout=10) as client:
            cam = Camera(client, inproc.url, barrier)
            await cam.register()  # a heartbeat, answered at once
            await cam.register()  # the comet poll right after it carries the command
            return cam

    cam = asyncio.run(poll())
    assert cam.gate_openings == [0]
    assert hub.store.commands.pending(barrier) == []


def test_alerts_reach_alert_webhooks_and_the_system_event_topic(inproc):
    import base64
    import json

    from test_webhooks import Receiver
    from websockets.sync.client import connect

    hub = inproc.hub
    alerts, recognitions = Receiver(), Receiver()
    hub.store.webhooks.add(alerts.url, events="alert")
    hub.store.webhooks.add(recognitions.url)
    hub.lists.add({"list": "deny", "plate": "WS666WS"})
    auth = base64.b64encode(b"admin:admin-test").decode()
    url = inproc.url.replace("http", "ws") + f"/wsapi/subscribeEvents?topics=systemEvent&auth={auth}"
    try:
        with connect(url, open_timeout=10) as ws:
            assert "subscriberId" in json.loads(ws.recv(10))

            async def push():
                async with httpx.AsyncClient(timeout=10) as client:
                    cam = Camera(client, inproc.url, _serial())
                    return await cam.push(cam.record("WS666WS"))

            assert asyncio.run(push())["Response_AlarmInfoPlate"]["info"] == "no"
            event = json.loads(ws.recv(10))
            while event.get("typeName") != "Access control":  # other system events may come first
                event = json.loads(ws.recv(10))
        assert event["topic"] == "systemEvent" and event["codeName"] == "Deny-list vehicle"
        assert event["param"]["plate"] == "WS666WS" and "deny list entry WS666WS" in event["comment"]
        (ctype, body), = alerts.wait(1)
        body = json.loads(body)
        assert ctype.startswith("application/json")
        assert (body["type"], body["alert"], body["read"]["plate"]) == ("alert", "deny", "WS666WS")
        assert (body["decision"]["action"], body["decision"]["reason"]) == ("closed", "denied")
        time.sleep(0.5)
        assert recognitions.requests == []  # recognition targets get Snapshot API calls only
    finally:
        alerts.close()
        recognitions.close()
