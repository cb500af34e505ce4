"""Webhook targets carry secrets (issue 11): /info/ shows anonymous clients no target at all, admins
the targets redacted (`core.redact.redact_url`), as do /v1/webhooks/ (the console's Settings page),
`platehub webhook` and the event log, which never stores the secret."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from helpers import Site
from sqlalchemy import text

from platehub.core.redact import redact_url, secret_name

TARGET = "https://hookuser:s3cr3t-pw@hooks.example/hook?api_key=XYZ-KEY&camera=gate-1&Signature=SIG-VAL"
REDACTED = "https://hookuser:***@hooks.example/hook?api_key=***&camera=gate-1&Signature=***"
SECRETS = ("s3cr3t-pw", "XYZ-KEY", "SIG-VAL")


# ---------------------------------------------------------------- the one function

@pytest.mark.parametrize(("url", "shown"), [
    (TARGET, REDACTED),
    ("https://user:secret@host/hook?api_key=XYZ", "https://user:***@host/hook?api_key=***"),
    ("http://h/x?a=1&token=abc&b=2", "http://h/x?a=1&token=***&b=2"),
    ("http://h/x?key=1&secret=2&password=3&pass=4&auth=5&sig=6&apikey=7&access_token=8",
     "http://h/x?key=***&secret=***&password=***&pass=***&auth=***&sig=***&apikey=***&access_token=***"),
    ("http://h/x?apiKey=1&X-Amz-Signature=2&client_secret=3&Authorization=4&PASSWORD=5",
     "http://h/x?apiKey=***&X-Amz-Signature=***&client_secret=***&Authorization=***&PASSWORD=***"),
    ("http://h/x?q=1;token=2", "http://h/x?q=1;token=***"),
    ("http://h/x#access_token=abc&state=ok", "http://h/x#access_token=***&state=ok"),
    ("http://127.0.0.1:8081/hook", "http://127.0.0.1:8081/hook"),  # nothing secret: unchanged
    ("http://h/x?camera=gate&passenger=2&plate=AB%2012", "http://h/x?camera=gate&passenger=2&plate=AB%2012"),
    ("http://onlyuser@h/x", "http://onlyuser@h/x"),  # a user name without a password stays
    ("http://u:@h/x?token=", "http://u:@h/x?token="),  # nothing to hide
    ("http://[::1/bad", "***"),  # unparseable: nothing of it
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_secret_names():
    assert all(secret_name(n) for n in ("key", "api_key", "apikey", "API-KEY", "accessToken", "x-auth-token",
                                        "sig", "pass", "pwd", "client_secret", "authorization", "hmacSignature"))
    assert not any(secret_name(n) for n in ("camera", "plate", "id", "passenger", "design", "format"))


# ---------------------------------------------------------------- a real server

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("redaction") / "data")
    added = s.cli("webhook", "add", TARGET)
    assert added.returncode == 0, added.stderr
    s.added = added
    yield s
    s.server.stop()


def no_secret(body: str) -> bool:
    return not any(secret in body for secret in SECRETS)


def test_anonymous_info_shows_no_target(site):
    r = httpx.get(site.url + "/info/")
    assert r.status_code == 200 and no_secret(r.text) and "hooks.example" not in r.text
    info = r.json()
    assert info["webhooks"] == []  # the spec's field, empty for whoever is not an admin
    assert info["webhook_health"] == {"targets": 1, "enabled": 1, "failing": 0}
    wrong = httpx.get(site.url + "/info/", headers={"Authorization": "Token not-a-key"})
    assert wrong.status_code == 200 and wrong.json()["webhooks"] == []


def test_admin_info_shows_targets_redacted(site):
    key = site.cli("token", "create", "ops").stdout.strip()
    r = httpx.get(site.url + "/info/", headers={"Authorization": f"Token {key}"})
    assert r.status_code == 200 and no_secret(r.text)
    hook = r.json()["webhooks"][0]
    assert hook["target"] == REDACTED and hook["enabled"] is True and hook["failures"] == 0
    admin = httpx.Client(base_url=site.url)
    assert admin.get("/api/auth", auth=("admin", "admin-test")).status_code == 200  # the console's session
    assert admin.get("/info/").json()["webhooks"][0]["target"] == REDACTED
    assert site.cli("user", "add", "viewer", "--password", "viewer-pass", "--rights", "LPR").returncode == 0
    viewer = httpx.Client(base_url=site.url)
    assert viewer.get("/api/auth", auth=("viewer", "viewer-pass")).status_code == 200
    assert viewer.get("/info/").json()["webhooks"] == []  # signed in, not an admin


def test_settings_page_api_and_cli_show_targets_redacted(site):
    admin = httpx.Client(base_url=site.url)
    assert admin.get("/api/auth", auth=("admin", "admin-test")).status_code == 200
    listed = admin.get("/v1/webhooks/")
    assert listed.status_code == 200 and no_secret(listed.text)
    assert [h["target"] for h in listed.json()] == [REDACTED]
    added = admin.post("/v1/webhooks/", json={"target": "https://h.example/x?token=API-TOKEN-1"})
    assert added.status_code == 201 and added.json()["target"] == "https://h.example/x?token=***"
    assert admin.delete(f"/v1/webhooks/{added.json()['id']}/").status_code == 204
    assert no_secret(site.added.stdout) and REDACTED in site.added.stdout  # `platehub webhook add`
    shown = site.cli("webhook", "list")
    assert shown.returncode == 0 and no_secret(shown.stdout) and REDACTED in shown.stdout
    log = admin.get("/api/find", params={"what": "eventLog", "maxCount": 200})
    assert log.status_code == 200 and "API-TOKEN-1" not in log.text and no_secret(log.text)


def test_the_event_log_entry_of_webhook_add_holds_no_secret(site):
    from platehub.core.store import Store

    store = Store(f"sqlite:///{site.data / 'platehub.db'}", site.data / "images")
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT user, details FROM event_log WHERE type = 'settings'")).all()
    finally:
        store.close()
    entries = [(user, json.loads(d) if isinstance(d, str) else d) for user, d in rows]
    cli_adds = [d for user, d in entries if user == "cli" and d.get("setting") == "webhook" and "after" in d]
    assert cli_adds and cli_adds[0]["after"]["target"] == REDACTED
    assert all(no_secret(json.dumps(d)) and "API-TOKEN-1" not in json.dumps(d) for _, d in entries)


def test_migration_redacts_event_log_entries_written_before(tmp_path):
    from alembic import command
    from sqlalchemy import insert

    from platehub.core.read import utcnow
    from platehub.core.store.database import _config, connect, migrate
    from platehub.core.store.schema import event_log

    engine = connect(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
        conn.execute(insert(event_log).values(at=utcnow(), type="settings", code="changed", user="cli", details={
            "setting": "webhook", "after": {"id": 1, "target": TARGET, "with_image": False}}))
    migrate(engine)
    with engine.connect() as conn:
        details = conn.execute(text("SELECT details FROM event_log")).scalar_one()
    details = json.loads(details) if isinstance(details, str) else details
    assert details["after"] == {"id": 1, "target": REDACTED, "with_image": False}
    engine.dispose()


def test_httpx_request_log_lines_are_redacted():
    """httpx logs each request's URL at INFO; the webhook dispatcher's filter redacts it."""
    import logging

    from platehub.protocols.snapshot.webhooks import REDACTED_URLS

    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, 'HTTP Request: %s %s "%s %d %s"',
                               ("POST", httpx.URL(TARGET), "HTTP/1.1", 200, "OK"), None)
    assert REDACTED_URLS.filter(record)
    assert record.getMessage() == f'HTTP Request: POST {REDACTED} "HTTP/1.1 200 OK"'


class ReadsNothing:
    """A stand-in engine: every image has no plate (a webhook is still sent per call)."""

    def recognize(self, img, options=None):
        return []


def test_a_delivery_leaves_no_secret_in_the_server_log(tmp_path, caplog):
    import logging

    from helpers import InProcess
    from test_webhooks import Receiver, blank_jpeg

    receiver = Receiver()
    server = InProcess(tmp_path / "data", engine=ReadsNothing()).start()
    try:
        port = receiver.http.server_port
        target = f"http://hookuser:s3cr3t-pw@127.0.0.1:{port}/hook?api_key=XYZ-KEY"
        added = subprocess.run([sys.executable, "-m", "platehub.cli", "webhook", "add", target,
                                "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
        with caplog.at_level(logging.INFO):
            assert httpx.post(server.url + "/v1/plate-reader/", files={"upload": blank_jpeg()}).status_code == 200
            assert len(receiver.wait(1)) == 1  # delivered, credentials and key included
            time.sleep(0.3)  # the log lines after the delivery
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert f"127.0.0.1:{port}/hook" in logged and no_secret(logged)
    finally:
        server.stop()
        receiver.close()
