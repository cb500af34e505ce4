"""The access lists API (/v1/lists/) against a real server, and `platehub lists` (CLI)."""

from __future__ import annotations

import io
import json
import sqlite3

import httpx
import pytest
from helpers import settings_changes
from openpyxl import load_workbook


@pytest.fixture(scope="module")
def api(server):
    token = server.cli("token", "create", "lists-test").stdout.strip()
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Token {token}"}, timeout=60) as client:
        client.post("/v1/lists/import/?mode=replace&list=allow", content=b"plate\n")
        client.post("/v1/lists/import/?mode=replace&list=deny", content=b"plate\n")
        yield server, client


def test_routes_need_a_token(api):
    server, _ = api
    for method, path in (("GET", "/v1/lists/entries/"), ("POST", "/v1/lists/entries/"),
                         ("DELETE", "/v1/lists/entries/1/"), ("POST", "/v1/lists/import/"),
                         ("GET", "/v1/lists/export/"), ("GET", "/v1/lists/match/?plate=AB1")):
        r = httpx.request(method, server.url + path, json={"list": "allow", "plate": "X"})
        assert r.status_code == 403, (method, path)


def test_entry_crud(api):
    server, c = api
    r = c.post("/v1/lists/entries/", json={"list": "allow", "plate": "ab-100-cd", "schedule": "mon-fri 07:00-19:00",
                                           "valid_until": "2030-01-01T00:00:00Z", "devices": ["gate-n"],
                                           "tag": "staff"})
    assert r.status_code == 201, r.text
    e = r.json()
    assert (e["plate"], e["schedule"], e["valid_until"], e["devices"]) == ("AB100CD", "mon-fri 07:00-19:00",
                                                                          "2030-01-01T00:00:00Z", ["gate-n"])
    assert c.post("/v1/lists/entries/", json={"list": "allow", "plate": "AB100CD"}).status_code == 409
    assert c.get(f"/v1/lists/entries/{e['id']}/").json() == e
    r = c.put(f"/v1/lists/entries/{e['id']}/", json={"comment": "boss", "devices": None})
    assert r.status_code == 200 and r.json()["comment"] == "boss" and r.json()["devices"] is None
    assert r.json()["tag"] == "staff"
    listed = c.get("/v1/lists/entries/", params={"q": "b100", "list": "allow"}).json()
    assert listed["total"] == 1 and listed["entries"][0]["id"] == e["id"]
    assert c.delete(f"/v1/lists/entries/{e['id']}/").status_code == 204
    assert c.get(f"/v1/lists/entries/{e['id']}/").status_code == 404
    assert c.delete(f"/v1/lists/entries/{e['id']}/").status_code == 404
    # the event log has the changes: one settings entry per call
    settings = [d for d in _settings_log(server) if d.get("setting") == "allow list"]
    plates = [(("before" in d), ("after" in d)) for d in settings if "AB100CD" in json.dumps(d)]
    assert plates == [(False, True), (True, True), (True, False)]


def _settings_log(server) -> list[dict]:
    with sqlite3.connect(server.data / "platehub.db") as db:
        rows = db.execute("SELECT details FROM event_log WHERE type = 'settings' OR details LIKE '%setting%' "
                          "ORDER BY id").fetchall()
    return [json.loads(r[0]) for r in rows]


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'{"list": "allow"}', b'{"list": "allow", "plate": ""}', b'{"list": 5, "plate": "X1"}',
    b'{"list": "allow", "plate": {"a": 1}}', b'{"list": "allow", "plate": "X1", "valid_from": 12}',
    b'{"list": "allow", "plate": "X1", "schedule": "every full moon"}', b'{"list": "allow", "plate": "X1", "x": 1}',
    b'{"list": "allow", "plate": "X1", "valid_from": "2026-02-01", "valid_until": "2026-01-01"}',
    b"[" * 100000 + b"]" * 100000, b"{\"list\": \"allow\", \"plate\": \"\\ud800\"}"])
def test_bad_entries_are_400(api, body):
    _, c = api
    r = c.post("/v1/lists/entries/", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, (body[:60], r.status_code, r.text)
    assert "detail" in r.json()


def test_numbers_as_strings_and_bad_params(api):
    _, c = api
    r = c.post("/v1/lists/entries/", json={"list": "deny", "plate": 12345, "tag": 7})
    assert r.status_code == 201 and r.json()["plate"] == "12345" and r.json()["tag"] == "7"
    assert c.get("/v1/lists/entries/", params={"offset": "10"}).status_code == 200
    for params in ({"offset": "ten"}, {"limit": "-1"}, {"limit": "100000"}, {"list": "grey"}):
        r = c.get("/v1/lists/entries/", params=params)
        assert r.status_code == 400, params
    assert c.get("/v1/lists/entries/abc/").status_code == 404
    assert c.get("/v1/lists/entries/99999999999999999999999/").status_code == 404
    assert c.put("/v1/lists/entries/999999/", json={"tag": "x"}).status_code == 404
    assert c.get("/v1/lists/match/").status_code == 400
    assert c.get("/v1/lists/match/", params={"plate": "AB1", "edits": "3"}).status_code == 400
    assert c.get("/v1/lists/match/", params={"plate": "AB1", "at": "soon"}).status_code == 400
    assert c.get("/v1/lists/export/", params={"format": "pdf"}).status_code == 400
    assert c.post("/v1/lists/import/?mode=wipe", content=b"list,plate\n").status_code == 400


def test_match_endpoint(api):
    _, c = api
    c.post("/v1/lists/entries/", json={"list": "deny", "plate": "ZX555", "devices": "south"})
    c.post("/v1/lists/entries/", json={"list": "allow", "plate": "ZX558"})
    m = c.get("/v1/lists/match/", params={"plate": "ZX5S5", "device": "south"}).json()
    assert [(x["entry"]["plate"], x["kind"], x["distance"]) for x in m["matches"]] == [
        ("ZX555", "lookalike", 0), ("ZX558", "edit", 1)]
    assert m["matches"][0]["why"] == "deny list entry ZX555 (look-alike characters: read ZX5S5)"
    north = c.get("/v1/lists/match/", params={"plate": "ZX555", "device": "north"}).json()["matches"]
    assert [x["entry"]["plate"] for x in north] == ["ZX558"]


def test_import_export_round_trip(api):
    _, c = api
    csv_text = ("plate;list;valid_from;schedule;comment;devices\n"
                "IM001;allow;2026-01-01 08:00:00;sat 08:00-12:00;Müller;a b\n"
                "IM002;deny;;;;\n"
                "IM001;allow;;;;\n"  # duplicate
                ";allow;;;;\n")
    logged = len(_settings_log(api[0]))
    r = c.post("/v1/lists/import/", files={"file": ("lists.csv", csv_text.encode("cp1252"), "text/csv")})
    assert r.status_code == 200, r.text
    imports = _settings_log(api[0])[logged:]
    assert len(imports) == 1 and imports[0]["after"]["added"] == 2  # one entry per import, not per row
    body = r.json()
    assert (body["added"], body["updated"]) == (2, 0)
    assert [x["line"] for x in body["refused"]] == [4, 5]
    exported = c.get("/v1/lists/export/", params={"format": "csv"})
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    assert "IM001" in exported.text and "Müller" in exported.text
    again = c.post("/v1/lists/import/", content=exported.content, headers={"Content-Type": "text/csv"}).json()
    assert again["added"] == 0 and again["refused"] == [] and again["updated"] >= 2
    xlsx = c.get("/v1/lists/export/", params={"format": "xlsx", "list": "deny"})
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:2] == ("list", "plate") and all(r[0] == "deny" for r in rows[1:]) and len(rows) >= 2
    r = c.post("/v1/lists/import/?list=deny", content=xlsx.content,
               headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    assert r.status_code == 200 and r.json()["refused"] == []


def test_import_garbage(api):
    _, c = api
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = c.post("/v1/lists/import/", files={"file": ("lists.xlsx", png, "application/octet-stream")})
    assert r.status_code == 400 and "XLSX" in r.json()["detail"]
    assert c.post("/v1/lists/import/", content=png).status_code == 400
    assert c.post("/v1/lists/import/", content=b"").status_code == 400
    assert c.post("/v1/lists/import/", content=b"colour,plate\nred,X\n").status_code == 400
    r = c.post("/v1/lists/import/", content=b"--x\r\nnot a form", headers={"Content-Type": "multipart/form-data"})
    assert r.status_code == 400


def test_huge_body_is_413(api):
    _server, c = api
    r = c.post("/v1/lists/import/", content=b"list,plate\n" + b"allow,AB1\n" * (2_200_000))
    assert r.status_code == 413


def test_cli(api, tmp_path):
    server, c = api
    r = server.cli("lists", "add", "deny", "CL-1", "--until", "2031-01-01 00:00:00", "--tag", "cli")
    assert r.returncode == 0, r.stderr
    assert server.cli("lists", "add", "deny", "CL1").returncode == 2  # exists
    r = server.cli("lists", "match", "CLI")  # I and 1 look alike
    assert r.returncode == 0 and "deny list entry CL1 (look-alike" in r.stdout
    assert server.cli("lists", "match", "NOPE99").returncode == 1
    # the server sees what the CLI wrote
    assert c.get("/v1/lists/entries/", params={"q": "CL1"}).json()["total"] == 1
    out = tmp_path / "lists.xlsx"
    assert server.cli("lists", "export", str(out), "--list", "deny").returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("list,plate\nallow,CL2\nnope,CL3\n")
    r = server.cli("lists", "import", str(bad))
    assert r.returncode == 3 and "line 3" in r.stderr and "1 added" in r.stdout
    r = server.cli("lists", "import", str(out), "--mode", "replace", "--list", "deny")
    assert r.returncode == 0, r.stderr
    assert server.cli("lists", "remove", "CL2", "--list", "allow").returncode == 0
    assert server.cli("lists", "show", "CL2").returncode == 1
    # each change is one settings entry of the event log, by "cli" (an import one, however many rows)
    cl1 = [(who, "before" in d, d["after"]["plate"]) for who, d in settings_changes(server.data, "deny list")
           if "CL1" in str(d)]
    assert cl1 == [("cli", False, "CL1")]
    cl2 = [(who, d["before"]["plate"]) for who, d in settings_changes(server.data, "allow list") if "CL2" in str(d)]
    assert cl2 == [("cli", "CL2")]
    imports = settings_changes(server.data, "access list import") + settings_changes(server.data, "deny list import")
    assert [(who, d["after"]["mode"]) for who, d in imports if who == "cli"] == [("cli", "merge"), ("cli", "replace")]
    assert server.cli("lists", "add", "allow", "--help").returncode == 0
    r = server.cli("lists", "add", "allow", "X1", "--schedule", "whenever")
    assert r.returncode == 2 and "schedule" in r.stderr
