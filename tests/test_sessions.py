"""Sessions live in the database (issue 11): a password change, a change of rights or a removed user
ends that user's console / TS-API sessions at once, whichever process made the change (the CLI is
a process of its own), and a session carries the rights stored now."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from helpers import Site

from platehub.protocols.tsapi.session import COOKIE


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("sessions") / "data")
    yield site
    site.server.stop()


def user_with_settings_right(srv) -> tuple[str, str]:
    login, password = "u" + uuid.uuid4().hex[:8], "first-password"
    r = srv.cli("user", "add", login, "--password", password, "--rights", "LPR,Settings")
    assert r.returncode == 0, r.stderr
    return login, password


def signed_in(srv, login: str, password: str) -> httpx.Client:
    """Signed in as the console does: /api/auth?login=, then the session cookie alone."""
    c = httpx.Client(base_url=srv.url, timeout=30)
    r = c.get("/api/auth", params={"login": b64(login, password)})
    assert r.status_code == 200 and COOKIE in c.cookies, r.text
    assert c.get("/api/info?whoAmI").json()["whoAmI"]["uid"] == login
    return c


def add_entry(c: httpx.Client) -> httpx.Response:
    plate = "SE" + uuid.uuid4().hex[:5].upper()
    return c.post("/v1/lists/entries/", json={"list": "allow", "plate": plate})


def entries(srv) -> int:
    admin = httpx.Client(base_url=srv.url, timeout=30)
    assert admin.get("/api/auth", auth=("admin", "admin-test")).status_code == 200
    return admin.get("/v1/lists/entries/").json()["total"]


def assert_signed_out(c: httpx.Client) -> None:
    """The old cookie is refused everywhere: TS-API answers 401 with its {"code", "message"}; the
    management API 403; and the session is gone, not just hidden."""
    who = c.get("/api/info?whoAmI")
    assert who.status_code == 401 and "whoAmI" not in who.text
    assert set(who.json()) == {"code", "message"}
    assert c.get("/api/auth").status_code == 401  # "is my session alive?": no
    assert c.get("/api/find", params={"what": "carNo"}).status_code == 401
    assert c.get("/v1/lists/entries/").status_code == 403


def test_cli_passwd_ends_the_users_sessions_in_the_running_server(srv):
    login, password = user_with_settings_right(srv)
    c = signed_in(srv, login, password)
    other = signed_in(srv, login, password)  # every session of the user ends, not only one
    assert add_entry(c).status_code == 201
    r = srv.cli("user", "passwd", login, "--password", "second-password")
    assert r.returncode == 0, r.stderr
    assert_signed_out(c)
    assert_signed_out(other)
    assert add_entry(c).status_code == 403
    refused = httpx.get(srv.url + "/api/auth", params={"login": b64(login, password)})
    assert refused.status_code == 401  # the old password no longer signs in
    assert signed_in(srv, login, "second-password").get("/api/auth").status_code == 200


def test_cli_remove_ends_the_users_sessions_and_no_entry_is_created(srv):
    login, password = user_with_settings_right(srv)
    c = signed_in(srv, login, password)
    assert add_entry(c).status_code == 201
    before = entries(srv)
    r = srv.cli("user", "remove", login)
    assert r.returncode == 0, r.stderr
    refused = add_entry(c)
    assert refused.status_code == 403 and "signed-in user" in refused.json()["detail"]
    assert entries(srv) == before  # the removed user created nothing
    assert_signed_out(c)


def test_other_users_sessions_survive(srv):
    login, password = user_with_settings_right(srv)
    gone = signed_in(srv, login, password)
    admin = signed_in(srv, "admin", "admin-test")
    assert srv.cli("user", "remove", login).returncode == 0
    assert_signed_out(gone)
    assert admin.get("/api/info?whoAmI").status_code == 200
    assert add_entry(admin).status_code == 201


def test_changes_from_another_store_end_sessions_and_rights_are_read_fresh(tmp_path):
    """Two stores on one database stand for two processes: what one changes, the other sees."""
    from platehub.core import accounts
    from platehub.core.store import Store

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    server, cli = Store(url, tmp_path / "images"), Store(url, tmp_path / "images")
    try:
        accounts.add_user(cli, "boss", "boss-password", admin=True)
        accounts.add_user(cli, "op", "op-password", rights="LPR")
        token = server.sessions.open(server.users.verify("op", "op-password"))
        boss = server.sessions.open(server.users.get("boss"))
        assert server.sessions.user(token).rights == ("LPR",)
        accounts.set_rights(cli, "op", admin=False, rights="LPR,Settings")
        assert server.sessions.user(token) is None  # new rights: sign in again
        token = server.sessions.open(server.users.get("op"))
        assert server.sessions.user(token).rights == ("LPR", "Settings")
        accounts.set_password(cli, "op", "new-op-password")
        assert server.sessions.user(token) is None
        token = server.sessions.open(server.users.get("op"))
        accounts.remove_user(cli, "op")
        assert server.sessions.user(token) is None
        server.users.create("op", "again-password")  # a new user of the same name gets nothing back
        assert server.sessions.user(token) is None
        assert server.sessions.user(boss).login == "boss"
        assert server.sessions.close(boss).login == "boss" and cli.sessions.user(boss) is None
    finally:
        server.close()
        cli.close()


def test_idle_sessions_end_and_only_a_hash_is_stored(tmp_path):
    from sqlalchemy import text

    from platehub.core.store import Store

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    try:
        store.users.create("op", "op-password")
        token = store.sessions.open(store.users.get("op"))
        with store.engine.connect() as conn:
            stored = conn.execute(text("SELECT token_hash FROM sessions")).scalars().all()
        assert stored and token not in stored
        store.sessions.idle = -1.0
        assert store.sessions.user(token) is None
    finally:
        store.close()


def test_an_open_event_socket_closes_when_the_cli_changes_the_password(srv, monkeypatch):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from platehub.protocols.tsapi import ws

    monkeypatch.setattr(ws, "CHECK_EVERY", 0.2)  # the server runs in this process
    login, password = user_with_settings_right(srv)
    token = signed_in(srv, login, password).cookies[COOKIE]
    url = srv.url.replace("http://", "ws://") + f"/api/subscribeEvents?topics=LPR&session={token}"
    with connect(url, open_timeout=10) as sock:
        assert json.loads(sock.recv(timeout=10))["topics"] == ["LPR"]
        assert srv.cli("user", "passwd", login, "--password", "second-password").returncode == 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                sock.recv(timeout=10)
    assert closed.value.rcvd.code == 1008 and "sign in again" in closed.value.rcvd.reason
