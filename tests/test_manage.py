"""platehub's management API (devices, gate, command queues; API token) and the users CLI,
against a real server."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest
from helpers import settings_changes

CAM = ("cam-user", "cam-pass-1")


def users_cli(server, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`platehub user ...` against the server's data."""
    return subprocess.run([sys.executable, "-m", "platehub.cli", "user", *args], env=server.env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def push(server, src: str, plate: str, auth=CAM) -> httpx.Response:
    return httpx.post(server.url + "/api/push", json={"topic": "LPR", "src": src, "plateNo": plate}, auth=auth)


@pytest.fixture(scope="module")
def api(server):
    """(server, httpx client with a token); devices MGR-1 and MGR-2 registered by pushing."""
    r = users_cli(server, "add", CAM[0], "--password", CAM[1], "--rights", "Control")  # Control: pushing
    assert r.returncode == 0 or "exists already" in r.stderr, r.stderr
    for src in ("MGR-1", "MGR-2"):
        assert push(server, src, "MGR" + src[-1]).status_code == 200
    token = server.cli("token", "create", "manage-test").stdout.strip()
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Token {token}"}, timeout=30) as client:
        yield server, client


def utc(text: str) -> datetime:
    assert text.endswith("Z")
    ts = datetime.fromisoformat(text)
    assert ts.utcoffset() == UTC.utcoffset(None)
    return ts


def test_every_route_needs_a_token(api):
    server, _ = api
    routes = [("GET", "/v1/devices/"), ("GET", "/v1/devices/MGR-1/"), ("PUT", "/v1/devices/MGR-1/"),
              ("POST", "/v1/devices/"), ("GET", "/v1/devices/MGR-1/whitelist/"),
              ("DELETE", "/v1/devices/MGR-1/whitelist/"), ("GET", "/v1/reads/abc/"),
              ("POST", "/v1/devices/MGR-1/commands/"), ("GET", "/v1/devices/MGR-1/commands/"),
              ("GET", "/v1/commands/1/"), ("DELETE", "/v1/commands/1/")]
    for header in ({}, {"Authorization": "Token wrong"}, {"Authorization": "Basic Y2FtLXVzZXI6Y2FtLXBhc3MtMQ=="}):
        for method, path in routes:
            r = httpx.request(method, server.url + path, headers=header,
                              json={"gate_policy": "always", "kind": "trigger", "code": "X"})
            assert r.status_code == 403, (method, path, header)
            wrong_token = header.get("Authorization", "").startswith("Token")
            assert r.json() == {"detail": "A valid API token is required." if wrong_token else
                                "A valid API token or a signed-in user is required."}
    # nothing changed
    _, client = api
    assert client.get("/v1/devices/MGR-1/").json()["gate_policy"] is None
    assert client.get("/v1/devices/X/").status_code == 404


def test_list_and_get_devices(api):
    _, client = api
    r = client.get("/v1/devices/")
    assert r.status_code == 200
    by_code = {d["code"]: d for d in r.json()}
    assert {"MGR-1", "MGR-2"} <= set(by_code)
    d = by_code["MGR-1"]
    assert set(d) == {"code", "protocol", "name", "address", "channels", "heartbeat", "online", "gate_policy",
                      "alert_unknown", "gate_device", "lot_entrance", "lot_exit", "meta", "first_seen", "last_seen",
                      "peer_address", "pinned_address", "secured"}
    assert (d["protocol"], d["address"], d["online"], d["heartbeat"], d["meta"]) == ("push", "127.0.0.1", True,
                                                                                      False, {})
    assert utc(d["first_seen"]) <= utc(d["last_seen"])
    assert client.get("/v1/devices/MGR-1/").json() == d
    assert all(x["protocol"] == "push" for x in client.get("/v1/devices/", params={"protocol": "push"}).json())
    assert client.get("/v1/devices/", params={"protocol": "ffjson"}).json() == [
        x for x in r.json() if x["protocol"] == "ffjson"]
    r = client.get("/v1/devices/NOPE/")
    assert r.status_code == 404 and "NOPE" in r.json()["detail"]


def test_device_settings(api):
    server, client = api
    for value, stored in (("always", "always"), ("never", "never"), ("manual", "manual"), ("default", None),
                          ("deny_list", "deny_list"), (None, None)):
        r = client.put("/v1/devices/MGR-2/", json={"gate_policy": value})
        assert r.status_code == 200 and r.json()["gate_policy"] == stored
        assert client.get("/v1/devices/MGR-2/").json()["gate_policy"] == stored
    r = client.put("/v1/devices/MGR-2/", json={"alert_unknown": "on", "gate_device": "MGR-1", "whitelist_sync": "0"})
    d = r.json()
    assert (d["alert_unknown"], d["gate_device"], d["meta"]["whitelist_sync"]) == (True, "MGR-1", False)
    d = client.put("/v1/devices/MGR-2/", json={"whitelist_sync": "default", "gate_device": None}).json()
    assert "whitelist_sync" not in d["meta"] and d["gate_device"] is None
    for body in ({"gate_policy": "ajar"}, {"alert_unknown": "maybe"}, {"lot_entrance": "-1"}, {"colour": "red"},
                 [], "open"):
        r = client.put("/v1/devices/MGR-2/", json=body)
        assert r.status_code == 400 and r.json()["detail"], body
    assert client.put("/v1/devices/MGR-2/", content=b"{oops").status_code == 400
    assert client.put("/v1/devices/NOPE/", json={"gate_policy": "always"}).status_code == 404
    assert client.put("/v1/devices/MGR-2/", json={"gate_device": "NOPE"}).status_code == 404
    # registering a device in advance, to configure it before it first calls
    r = client.post("/v1/devices/", json={"code": "LANE-9", "protocol": "allinone", "name": "Lane 9"})
    assert r.status_code == 201 and (r.json()["code"], r.json()["online"]) == ("LANE-9", False)
    assert client.post("/v1/devices/", json={"code": ""}).status_code == 400
    assert client.put("/v1/devices/LANE-9/", json={"alert_unknown": "on", "secret": "s3cret-pw"}).status_code == 200
    assert client.delete("/v1/devices/LANE-9/whitelist/").status_code == 204
    # each change is one settings entry of the event log, by "api" (the token); the secret never
    assert settings_changes(server.data, "device LANE-9") == [
        ("api", {"setting": "device LANE-9", "after": {"added": "allinone"}}),
        ("api", {"setting": "device LANE-9", "before": {"alert_unknown": None, "secret": None},
                 "after": {"alert_unknown": True, "secret": "***"}})]
    assert settings_changes(server.data, "device LANE-9 whitelist") == [
        ("api", {"setting": "device LANE-9 whitelist", "after": "reset"})]


def test_command_queue(api):
    _, client = api
    r = client.post("/v1/devices/MGR-1/commands/", json={"kind": "open_gate", "channel": 1})
    assert r.status_code == 201, r.text
    gate = r.json()
    assert set(gate) == {"id", "device", "kind", "payload", "status", "via", "created_at", "delivered_at",
                         "delivered_to"}
    assert (gate["device"], gate["kind"], gate["payload"], gate["status"], gate["via"], gate["delivered_at"]) == (
        "MGR-1", "open_gate", {"channel": 1}, "pending", None, None)
    utc(gate["created_at"])
    serial = client.post("/v1/devices/MGR-1/commands/", json={"kind": "serial_data", "text": "hi"}).json()
    assert serial["payload"] == {"channel": 0, "data": "aGk=", "length": 2}
    listed = client.get("/v1/devices/MGR-1/commands/").json()
    assert [c["id"] for c in listed[:2]] == [serial["id"], gate["id"]]  # newest first
    assert client.get("/v1/devices/MGR-2/commands/").json() == []
    assert client.get(f"/v1/commands/{gate['id']}/").json() == gate

    r = client.delete(f"/v1/commands/{gate['id']}/")
    assert r.status_code == 204 and r.content == b""
    assert client.get(f"/v1/commands/{gate['id']}/").json()["status"] == "cancelled"
    r = client.delete(f"/v1/commands/{gate['id']}/")
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    assert client.delete("/v1/commands/999999/").status_code == 404
    assert client.get("/v1/commands/999999/").status_code == 404


def test_bad_commands_are_400(api):
    server, client = api
    before = len(client.get("/v1/devices/MGR-1/commands/").json())
    cases = [
        {"kind": "self_destruct"},
        {"channel": 1},
        {"kind": "serial_data"},
        {"kind": "serial_data", "data": "not base64!"},
        {"kind": "whitelist_add"},
        {"kind": "open_gate", "channel": "left"},
        {"kind": "open_gate", "channel": None},
    ]
    for body in cases:
        r = client.post("/v1/devices/MGR-1/commands/", json=body)
        assert r.status_code == 400 and r.json()["detail"], body
    assert client.post("/v1/devices/MGR-1/commands/", content=b"[1]").status_code == 400
    assert client.post("/v1/devices/NOPE/commands/", json={"kind": "trigger"}).status_code == 404
    assert client.get("/v1/devices/NOPE/commands/").status_code == 404
    assert len(client.get("/v1/devices/MGR-1/commands/").json()) == before
    assert server.alive()


def test_users_cli(server):
    r = users_cli(server, "add", "ops1", "--password", "ops-pass-1", "--rights", "lpr,Control,LPR")
    assert r.returncode == 0, r.stderr
    assert "ops1 added: LPR,Control" in r.stdout
    r = users_cli(server, "add", "boss1", "--admin", stdin="boss-pass-1\n")  # password from stdin
    assert r.returncode == 0, r.stderr
    listed = users_cli(server, "list").stdout.splitlines()
    assert "ops1\tuser\tLPR,Control" in listed and "boss1\tadmin\tall rights" in listed
    assert "admin\tadmin\tall rights" in listed

    assert push(server, "USR-1", "USR1", auth=("ops1", "ops-pass-1")).status_code == 200
    assert push(server, "USR-1", "USR2", auth=("boss1", "boss-pass-1")).status_code == 200
    r = users_cli(server, "passwd", "ops1", "--password", "ops-pass-2")
    assert r.returncode == 0, r.stderr
    assert push(server, "USR-1", "USR3", auth=("ops1", "ops-pass-1")).status_code == 401
    assert push(server, "USR-1", "USR4", auth=("ops1", "ops-pass-2")).status_code == 200
    assert users_cli(server, "remove", "ops1").returncode == 0
    assert push(server, "USR-1", "USR5", auth=("ops1", "ops-pass-2")).status_code == 401
    assert push(server, "USR-1", "USR6", auth=CAM).status_code == 200  # clear the failure count
    assert "ops1" not in users_cli(server, "list").stdout
    assert push(server, "USR-1", "USR7", auth=("admin", "admin-test")).status_code == 200
    assert users_cli(server, "remove", "boss1").returncode == 0  # admin is the only admin again


def test_users_cli_refusals(server):
    for args, stdin, words in [
        (("add", "x1", "--password", "pw-long-1", "--rights", "LPR,Teleport"), "", "unknown right 'Teleport'"),
        (("add", "a:b", "--password", "pw-long-1"), "", "without spaces or ':'"),
        (("add", "has space", "--password", "pw-long-1"), "", "without spaces"),
        (("add", "x2"), "", "the password is empty"),
        (("add", "admin", "--password", "pw-long-1"), "", "exists already"),
        (("remove", "admin"), "", "last admin"),
    ]:
        r = users_cli(server, *args, stdin=stdin)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)
    assert users_cli(server, "remove", "nobody").returncode == 1
    assert users_cli(server, "passwd", "nobody", "--password", "pw-long-1").returncode == 1
    r = users_cli(server, "add", "shortpw", "--password", "short")
    assert r.returncode == 0 and "shorter than 8" in r.stderr
    assert users_cli(server, "remove", "shortpw").returncode == 0
    listed = users_cli(server, "list").stdout
    assert "x1" not in listed and "x2" not in listed and "admin\tadmin" in listed


def test_user_repo(tmp_path):
    from platehub.core.store import Store

    store = Store(f"sqlite:///{tmp_path}/db", tmp_path / "images")
    store.users.create("b", "pw-b", rights=("LPR",))
    store.users.create("a", "pw-a", is_admin=True)
    assert [(u.login, u.is_admin, u.rights) for u in store.users.list()] == [("a", True, ()), ("b", False, ("LPR",))]
    assert store.users.set_password("b", "pw-b2") and not store.users.set_password("zz", "x")
    assert store.users.verify("b", "pw-b") is None and store.users.verify("b", "pw-b2").login == "b"
    assert store.users.remove("b") and not store.users.remove("b")
    assert [u.login for u in store.users.list()] == ["a"]
    store.close()
