"""TS-API server part (spec 004): sessions (/api/auth), /api/info, /api/system, /api/status, /api/enum,
the event log and its search — against a real `platehub serve`."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from platehub.core.bus import Bus
from platehub.core.eventlog import EventLog
from platehub.core.store import Store
from platehub.core.store.eventlog import EventLogRepo
from platehub.protocols.tsapi import messages
from platehub.protocols.tsapi.session import COOKIE

ADMIN = ("admin", "admin-test")
PUBLIC = ("apiVersion", "siteName", "timezone", "product", "license")


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def add_user(srv, login: str, password: str, *rights: str) -> None:
    args = ["user", "add", login, "--password", password] + (["--rights", ",".join(rights)] if rights else [])
    r = srv.cli(*args)
    assert r.returncode == 0 or "exist" in r.stderr, r.stderr


def signed_in(srv, user=ADMIN) -> httpx.Client:
    c = httpx.Client(base_url=srv.url, timeout=30)
    r = c.get("/api/auth", params={"login": b64(*user)})
    assert r.status_code == 200, r.text
    return c


def wait_until(check, timeout: float = 15.0):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(0.2)


def event_log(client: httpx.Client, **params) -> dict:
    r = client.get("/api/find", params={"what": "eventLog", **params})
    assert r.status_code == 200, r.text
    return r.json()


# ---- sessions -------------------------------------------------------------------------------------------

def test_login_opens_a_cookie_session_and_logout_ends_it(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/api/info?whoAmI").status_code == 401
        r = c.get("/api/auth", params={"login": b64(*ADMIN)})
        assert r.status_code == 200 and r.json()["code"] == 0
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith(COOKIE + "=") and "httponly" in cookie and "samesite=strict" in cookie
        who = c.get("/api/info?whoAmI")  # the cookie alone signs the request in
        assert who.status_code == 200 and who.json()["whoAmI"]["uid"] == "admin"
        assert c.get("/api/enum?what=channel").status_code == 200
        assert c.get("/api/auth?logout").status_code == 200
        assert c.get("/api/info?whoAmI").status_code == 401
        assert c.get("/api/enum?what=channel").status_code == 401
        assert c.get("/api/status").status_code == 401


def test_a_closed_session_cookie_replayed_is_refused(server):
    c = signed_in(server)
    token = c.cookies[COOKIE]
    c.get("/api/auth?logout")
    replay = httpx.get(server.url + "/api/info?whoAmI", cookies={COOKIE: token})
    assert replay.status_code == 401 and "whoAmI" not in replay.text


def test_auth_param_signs_in_a_session_too(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.get("/api/auth", params={"auth": b64(*ADMIN)}).status_code == 200
        assert COOKIE in c.cookies
        assert c.get("/api/info?whoAmI").status_code == 200


def test_auth_param_and_basic_work_on_any_request_without_a_session(server):
    assert httpx.get(server.url + "/api/info", params={"whoAmI": "", "auth": b64(*ADMIN)}).status_code == 200
    assert httpx.get(server.url + "/api/enum?what=lprSrc", auth=ADMIN).status_code == 200
    r = httpx.get(server.url + "/api/status", auth=ADMIN)
    assert r.status_code == 200 and COOKIE not in r.cookies  # no session opened by a plain request


def test_wrong_credentials_never_reach_data(make_server):
    srv = make_server()
    bad = ("admin", "wrong")
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.get("/api/auth", params={"login": b64(*bad)})
        assert r.status_code == 401 and COOKIE not in c.cookies
        assert c.get("/api/info?whoAmI").status_code == 401
    r = httpx.get(srv.url + "/api/info", params={"whoAmI": "", "auth": b64(*bad)})
    assert r.status_code == 401 and "whoAmI" not in r.text
    r = httpx.get(srv.url + "/api/info?all", auth=bad)
    assert r.status_code == 401 and "whoAmI" not in r.json() and set(r.json()) == set(PUBLIC)
    assert httpx.get(srv.url + "/api/enum?what=lprSrc", auth=bad).status_code == 401
    assert httpx.get(srv.url + "/api/auth", params={"login": "not base64!"}).status_code == 401
    assert httpx.get(srv.url + "/api/auth", params={"login": b64("nobody", "x")}).status_code == 401
    # the failures slow the client down, for login= as for auth=/Basic: even right credentials wait
    for _ in range(3):
        httpx.get(srv.url + "/api/auth", params={"login": b64(*bad)})
    r = httpx.get(srv.url + "/api/auth", params={"login": b64(*ADMIN)})
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert httpx.get(srv.url + "/api/system", auth=ADMIN).status_code == 429


def test_auth_without_anything_reports_the_session(server):
    assert httpx.get(server.url + "/api/auth").status_code == 401
    c = signed_in(server)
    assert c.get("/api/auth").status_code == 200
    assert c.get("/api/auth?logout").json()["message"] == "Signed out."
    assert c.get("/api/auth?logout").json()["message"] == "Not signed in."


# ---- /api/info ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def named(tmp_path_factory):
    from helpers import Server

    srv = Server(tmp_path_factory.mktemp("named") / "data", PLATEHUB_SITE_NAME="My home server",
                 TZ="America/New_York").start()
    yield srv
    srv.stop()


def test_public_info_items_answer_without_a_session(named):
    got = {item: httpx.get(named.url + f"/api/info?{item}") for item in PUBLIC}
    assert all(r.status_code == 200 for r in got.values())
    assert {item: list(r.json()) for item, r in got.items()} == {item: [item] for item in PUBLIC}
    assert got["apiVersion"].json()["apiVersion"].startswith("TS-API@")
    assert got["siteName"].json()["siteName"] == "My%20home%20server"  # URL-encoded, as the guide says
    offset = int(datetime.now(ZoneInfo("America/New_York")).utcoffset().total_seconds() // 3600)
    assert got["timezone"].json()["timezone"] == {"name": "America/New_York", "bias": f"{offset:03d}:00"}
    product = got["product"].json()["product"]
    assert product["name"] == "platehub" and product["version"].startswith("v")
    lic = got["license"].json()["license"]
    assert lic["maxChannels"] > 0 and lic["nLprZone"] == 0 and "lprExt" in lic["extension"]
    both = httpx.get(named.url + "/api/info?siteName&product").json()
    assert set(both) == {"siteName", "product"}


def test_default_site_name_and_the_servers_timezone(server):
    assert httpx.get(server.url + "/api/info?siteName").json() == {"siteName": "platehub"}
    tz = httpx.get(server.url + "/api/info?timezone").json()["timezone"]
    offset = datetime.now().astimezone().utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    assert tz["bias"] == f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    assert tz["name"]


def test_who_am_i_and_all_need_a_session(server):
    r = httpx.get(server.url + "/api/info?whoAmI")
    assert r.status_code == 401 and "whoAmI" not in r.json()
    r = httpx.get(server.url + "/api/info?all")
    assert r.status_code == 401 and set(r.json()) == set(PUBLIC)  # the public items, no whoAmI
    c = signed_in(server)
    r = c.get("/api/info?all")
    assert r.status_code == 200 and set(r.json()) == {*PUBLIC, "whoAmI"}
    who = r.json()["whoAmI"]
    assert who["accessRights2"] == dict.fromkeys(("DataExport", "Control", "Settings", "Playback", "LPR", "Remote"),
                                                 True)
    assert who["accessRights"] == list(who["accessRights2"])


def test_who_am_i_shows_a_users_rights(server):
    add_user(server, "lpruser", "lpr-pass-1", "LPR", "Remote")
    who = signed_in(server, ("lpruser", "lpr-pass-1")).get("/api/info?whoAmI").json()["whoAmI"]
    assert (who["uid"], who["name"]) == ("lpruser", "lpruser")
    assert [k for k, v in who["accessRights2"].items() if v] == ["LPR", "Remote"]
    assert who["accessRights"] == ["LPR", "Remote"]


def test_info_without_an_item_is_400(server):
    r = httpx.get(server.url + "/api/info")
    assert r.status_code == 400 and "apiVersion" in r.json()["message"]


def test_indent(server):
    compact = httpx.get(server.url + "/api/info?timezone").text
    assert compact == json.dumps(json.loads(compact), separators=(",", ":"), ensure_ascii=False)
    two = httpx.get(server.url + "/api/info?timezone&indent=2").text
    assert two.startswith('{\n  "timezone": {\n    "name"')
    eight = httpx.get(server.url + "/api/info?timezone&indent=8").text
    assert eight.startswith('{\n        "timezone"')
    assert "\n" not in httpx.get(server.url + "/api/info?timezone&indent=0").text
    assert "\n" not in httpx.get(server.url + "/api/info?timezone&indent=9").text  # out of 0..8
    c = signed_in(server)
    assert c.get("/api/enum?what=realtimeEvent&indent=4").text.startswith('[\n    "channelStatus"')
    assert json.loads(c.get("/api/find?what=eventLog&indent=3").text)["at"] == 0


def test_lang_picks_the_catalogue_and_falls_back_to_english(server):
    c = signed_in(server)
    es = c.get("/api/enum?what=eventType&lang=es-ES").json()
    assert (es[0]["id"], es[0]["name"], es[0]["code"][0]) == (0, "Registro del sistema",
                                                              {"id": 1, "name": "Inicio del sistema"})
    assert c.get("/api/enum?what=eventType&lang=es-MX").json() == es  # primary language
    en = c.get("/api/enum?what=eventType").json()
    assert en[0]["name"] == "System log" and en[1]["code"][0] == {"id": 4, "name": "Sign in"}
    assert c.get("/api/enum?what=eventType&lang=xx-YY").json() == en
    r = httpx.get(server.url + "/api/info?whoAmI&lang=es-ES")
    assert r.status_code == 401 and r.json()["message"] == "Se requiere autenticación."
    assert httpx.get(server.url + "/api/status?lang=ko-KR").json()["message"] == "Authentication required."


def test_message_catalogue():
    assert messages.resolve("ES-es") == "es-ES" and messages.resolve("fr-FR") == "en-US"
    assert messages.text("right_required", "es-ES", right="LPR") == "Se requiere el derecho LPR."
    assert messages.translate("The LPR right is required.", "es") == "Se requiere el derecho LPR."
    assert messages.translate("something else", "es") == "something else"
    for lang, table in messages.CATALOGUE.items():
        assert set(table) <= set(messages.CATALOGUE["en-US"]), lang


# ---- /api/system and /api/status ------------------------------------------------------------------------

def _meminfo_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def test_system_info_from_the_host(server):
    assert httpx.get(server.url + "/api/system").status_code == 401
    c = signed_in(server)
    assert c.get("/api/system?info=supported").json() == ["os", "cpu", "mainboard", "memory", "graphicAdapter",
                                                           "disk", "cdrom", "networkAdapter", "all"]
    full = c.get("/api/system").json()
    assert set(c.get("/api/system?info").json()) == set(full) == set(c.get("/api/system?info=all").json())
    assert {"lastUpdate", "os", "cpu", "mainboard", "memoryAmount", "physicalMemory", "graphicAdapter", "disk",
            "storageAmount", "cdrom", "networkAdapter"} <= set(full)
    assert full["memoryAmount"] == _meminfo_total()
    assert sum(cpu["cores"] for cpu in full["cpu"]) >= 1 and full["os"]["arch"] in ("64-bit", "32-bit")
    assert full["storageAmount"] == sum(d["capacity"] for d in full["disk"])
    datetime.fromisoformat(full["lastUpdate"])
    some = c.get("/api/system?info=os,cpu").json()
    assert set(some) == {"lastUpdate", "os", "cpu"}
    alias = c.get("/api/system?info=storage,network").json()
    assert set(alias) == {"lastUpdate", "disk", "storageAmount", "networkAdapter"}
    r = c.get("/api/system?info=toaster")
    assert r.status_code == 400 and "toaster" in r.json()["message"]


def test_system_health_from_the_host(server):
    c = signed_in(server)
    assert c.get("/api/system?health=supported").json() == ["cpu", "memory", "disk", "recording", "network", "all"]
    health = c.get("/api/system?health").json()
    assert {"lastUpdate", "cpu", "memory", "disk", "recording", "network"} == set(health)
    usage = health["cpu"][0]["usage"]
    assert 0 <= usage["total"] <= 100 and all(0 <= t <= 100 for t in usage["threads"]) and usage["threads"]
    mem = health["memory"]
    assert mem["totalPhysical"] == _meminfo_total() and 0 < mem["freePhysical"] <= mem["totalPhysical"]
    root = [d for d in health["disk"] if d["name"] == "/"]
    assert root and 0 < root[0]["freeSpace"] <= root[0]["totalSpace"]
    assert health["recording"] == {"current": "", "storage": []}
    assert set(c.get("/api/system?health=memory").json()) == {"lastUpdate", "memory"}
    assert c.get("/api/system?health=cpu,nonsense").status_code == 400


def test_restart_and_reboot_need_an_admin_and_are_not_done(server):
    add_user(server, "plain", "plain-pass-1", "LPR")
    plain = signed_in(server, ("plain", "plain-pass-1"))
    assert plain.get("/api/system?restart").status_code == 403
    assert plain.get("/api/system?reboot").status_code == 403
    assert plain.get("/api/system?info=os").status_code == 200
    admin = signed_in(server)
    assert admin.get("/api/system?restart").status_code == 501
    assert server.alive()


def test_hdd_smart_says_not_supported(server):
    c = signed_in(server)
    smart = c.get("/api/system?hddsmart").json()
    assert all(d["code"] == 0 and d["smart"] == [] for d in smart)
    assert len(c.get("/api/system?hddsmart=1").json()) == min(1, len(smart))


def test_channel_status_without_channels_is_an_empty_list(server):  # with channels: test_tsapi_channels.py
    c = signed_in(server)
    assert c.get("/api/status").json() == []
    assert c.get("/api/status?ch=1,2&verbose=true&recordingStatus").json() == []
    assert c.get("/api/status?ch=one").status_code == 400


# ---- /api/enum ------------------------------------------------------------------------------------------

def test_enum_needs_a_session_and_a_known_item(server):
    for what in ("channel", "lprSrc", "emergencyCall", "eventType", "parkingLot", "realtimeEvent", "objectType",
                 "objectAttr"):
        assert httpx.get(server.url + f"/api/enum?what={what}").status_code == 401, what
    c = signed_in(server)
    assert c.get("/api/enum?what=toaster").status_code == 400
    assert c.get("/api/enum").status_code == 400


def test_enum_items(server):
    c = signed_in(server)
    assert c.get("/api/enum?what=channel").json() == []
    assert c.get("/api/enum?what=parkingLot").json() == {"counter": [], "group": []}
    # the guide's "Real-time event list @0.9.6" example, plus bodyTemperature ("Body Temperature Event
    # @0.9.14"): every topic /wsapi/subscribeEvents accepts (issue 11: packing was missing)
    guide = ["channelStatus", "emergencyCall", "LPR", "systemEvent", "motionChanges", "recordingStatus",
             "parkingCount", "packing", "object"]
    assert sorted(c.get("/api/enum?what=realtimeEvent").json()) == sorted([*guide, "bodyTemperature"])
    assert c.get("/api/enum?what=objectType").json() == []
    assert c.get("/api/enum?what=objectAttr").json() == {}
    assert c.get("/api/enum?what=objectAttr&type=vehicle").json() == {}
    types = c.get("/api/enum?what=eventType").json()
    assert [t["id"] for t in types] == [0, 1, 2, 3, 4, 5, 6]  # … access control, parking
    codes = [code["id"] for t in types for code in t["code"]]
    assert len(codes) == len(set(codes)) and {1, 2, 4, 5, 50, 51} <= set(codes)


def test_lpr_sources_and_emergency_call_sources_after_a_push(make_server):
    srv = make_server()
    c = signed_in(srv)
    assert c.get("/api/enum?what=lprSrc").json() == []
    assert c.get("/api/enum?what=emergencyCall").json() == []
    batch = [{"topic": "LPR", "src": "F00001", "plateNo": "DSP963"},
             {"topic": "emergencyCall", "device": "vendor/device", "src": "0000001", "event": "callStart",
              "camera": "1,2", "when": "2018-02-01T14:30:15-05:00"}]
    assert httpx.post(srv.url + "/api/push", content=json.dumps(batch), auth=ADMIN, timeout=30).status_code == 200
    src = c.get("/api/enum?what=lprSrc").json()
    assert src == [{"id": 1, "code": "F00001", "name": "F00001", "linkedChannel": [], "tag": "Normal",
                    "online": True, "protocol": "push"}]
    calls = wait_until(lambda: c.get("/api/enum?what=emergencyCall").json())
    assert calls == [{"id": 1, "code": "0000001", "name": "vendor/device", "linkedChannel": []}]
    logged = event_log(c, type=4)["data"]
    assert [(e["code"], e["param"]["src"]) for e in logged] == [(70, "0000001")]


# ---- event log ------------------------------------------------------------------------------------------

def heartbeat(srv, serial: str, name: str) -> None:
    r = httpx.post(srv.url + "/devicemanagement/php/receivedeviceinfo.php",
                   data={"serialno": serial, "device_name": name, "ipaddr": "10.1.2.3"}, timeout=30)
    assert r.status_code == 200, r.text


def test_event_log_records_sign_in_out_and_devices(make_server):
    srv = make_server(PLATEHUB_OFFLINE_AFTER="1")
    add_user(srv, "auditor", "audit-pass-1")
    before = datetime.now(UTC) - timedelta(seconds=1)
    user = signed_in(srv, ("auditor", "audit-pass-1"))
    user.get("/api/auth?logout")
    heartbeat(srv, "SN-EVT-1", "north gate")
    c = signed_in(srv)
    assert c.get("/api/find?what=eventLog").status_code == 200
    offline = wait_until(lambda: event_log(c, code=51)["data"])
    assert offline and offline[0]["param"]["code"] == "SN-EVT-1"
    everything = event_log(c, sort="asc")["data"]
    assert (everything[0]["type"], everything[0]["code"]) == (0, 1)  # the server's own start comes first
    assert [e["param"]["setting"] for e in everything if e["type"] == 2] == ["user"]  # add_user, by the CLI
    data = [e for e in everything if e["type"] not in (0, 2)]
    kinds = [(e["type"], e["code"], e["param"].get("uid") or e["param"].get("code")) for e in data]
    assert [k for k in kinds if k[0] == 1] == [(1, 4, "auditor"), (1, 5, "auditor"), (1, 4, "admin")]
    assert [k for k in kinds if k[0] == 3] == [(3, 50, "SN-EVT-1"), (3, 51, "SN-EVT-1")]
    first = data[0]
    assert (first["typeName"], first["codeName"]) == ("Privacy", "Sign in")
    online = next(e for e in data if e["code"] == 50)
    assert online["codeName"] == "Device connected" and online["param"]["name"] == "north gate"
    assert online["comment"] == "north gate: Device connected"
    for e in data:
        assert before <= datetime.fromisoformat(e["timeRange"][0]) <= datetime.now(UTC) + timedelta(seconds=1)
    assert [e["id"] for e in data] == sorted(e["id"] for e in data)
    # a heartbeat brings the device back online
    heartbeat(srv, "SN-EVT-1", "north gate")
    assert wait_until(lambda: event_log(c, code=50)["totalCount"] == 2)


def test_event_log_search(make_server):
    srv = make_server()
    add_user(srv, "u1", "u1-pass-123")
    for _ in range(3):
        signed_in(srv, ("u1", "u1-pass-123")).get("/api/auth?logout")
    c = signed_in(srv)
    assert httpx.get(srv.url + "/api/find?what=eventLog").status_code == 401
    everything = event_log(c)
    # 3 sign-ins and sign-outs of u1, the admin's sign-in, the server's start, and u1 added (settings)
    assert everything["totalCount"] == 9 and everything["at"] == 0 and len(everything["data"]) == 9
    ids = [e["id"] for e in everything["data"]]
    assert ids == sorted(ids, reverse=True)  # newest first by default
    assert [e["id"] for e in event_log(c, sort="asc")["data"]] == sorted(ids)
    page = event_log(c, at=2, maxCount=3)
    assert (page["totalCount"], page["at"], [e["id"] for e in page["data"]]) == (9, 2, ids[2:5])
    assert event_log(c, type=1)["totalCount"] == 7 and event_log(c, type=0)["totalCount"] == 1
    assert event_log(c, code=5)["totalCount"] == 3 and event_log(c, code="4,5")["totalCount"] == 7
    assert event_log(c, type=0, code=4)["totalCount"] == 0 and event_log(c, type=99)["totalCount"] == 0
    assert event_log(c, type=0, code=1)["totalCount"] == 1  # system start
    last = datetime.fromisoformat(everything["data"][0]["timeRange"][0])
    assert event_log(c, timeBegin=(last + timedelta(seconds=1)).isoformat())["totalCount"] == 0
    assert event_log(c, timeEnd=(last - timedelta(days=1)).isoformat())["totalCount"] == 0
    window = event_log(c, timeBegin=(last - timedelta(minutes=5)).isoformat(), timeEnd=last.isoformat())
    assert window["totalCount"] == 9
    utc_z = (last - timedelta(minutes=5)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    assert event_log(c, timeBegin=utc_z)["totalCount"] == 9
    es = event_log(c, lang="es-ES", maxCount=1)["data"][0]
    assert (es["typeName"], es["codeName"]) == ("Privacidad", "Iniciar sesión")
    assert len(event_log(c, maxCount=0)["data"]) == 0
    for bad in ({"timeBegin": "yesterday"}, {"at": "-1"}, {"maxCount": "x"}, {"sort": "sideways"}, {"type": "a"}):
        r = c.get("/api/find", params={"what": "eventLog", **bad})
        assert r.status_code == 400, bad


def test_event_log_defaults_to_50_entries(make_server):
    srv = make_server()
    repo_url = f"sqlite:///{(srv.data / 'platehub.db').resolve()}"
    c = signed_in(srv)
    store = Store(repo_url, srv.data / "images")
    try:
        repo = EventLogRepo(store.engine)
        for i in range(60):
            repo.add("settings", "changed", None, user="admin", details={"setting": f"s{i}"})
    finally:
        store.close()
    result = event_log(c)
    assert result["totalCount"] == 62 and len(result["data"]) == 50  # + the admin's sign-in and the start
    assert result["data"][0]["param"] == {"setting": "s59", "uid": "admin"}


# ---- the service and the repository ----------------------------------------------------------------------

def test_event_log_service_records_start_stop_settings(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    try:
        bus = Bus()
        sub = bus.subscribe("eventlog.added")
        log = EventLog(EventLogRepo(store.engine), bus)
        start = log.record_start()
        log.settings_changed("gate_default", user="admin", before="closed", after="open")
        log.record_stop()
        with pytest.raises(ValueError):
            log.record("system", "exploded")
        total, entries = log.repo.find(ascending=True)
        assert total == 3
        assert [(e.type, e.code) for e in entries] == [("system", "startup"), ("settings", "changed"),
                                                       ("system", "shutdown")]
        assert entries[1].details == {"setting": "gate_default", "before": "closed", "after": "open"}
        assert entries[1].user == "admin" and entries[0] == start
        assert sub.queue.qsize() == 3
        assert log.repo.find(kinds=[])[0] == 0
        assert log.repo.find(kinds=[("system", None)])[0] == 2
        assert log.repo.find(kinds=[("system", "shutdown")], ascending=True)[1][0].code == "shutdown"
    finally:
        store.close()


def test_settings_changes_are_in_the_event_log(make_server):
    srv = make_server()
    assert srv.cli("user", "add", "clerk", "--password", "clerk-pass-1", "--rights", "LPR").returncode == 0
    assert srv.cli("webhook", "add", "http://127.0.0.1:9/hook").returncode == 0
    assert srv.cli("token", "create", "api").returncode == 0
    c = signed_in(srv)
    entries = event_log(c, type=2, sort="asc")["data"]
    settings = [e["param"]["setting"] for e in entries]
    assert settings == ["user", "webhook", "apiToken"], entries
    assert "clerk-pass-1" not in json.dumps(entries)  # never a secret
