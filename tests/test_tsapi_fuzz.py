"""Fuzzing /api/*: whatever the query string, body and credentials, no server error; wrong or
missing credentials never reach data (only the public /api/info items answer without a user)."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platehub.app import create_app
from platehub.config import Settings

PASSWORD = "fuzz-admin-pass"
PATHS = ["/api/info", "/api/auth", "/api/enum", "/api/find", "/api/system", "/api/status", "/api/push",
         "/api/image/0123456789abcdef0123456789abcdef/full", "/api/image/x/plate"]
PARAM_NAMES = ["what", "keyword", "timeBegin", "timeEnd", "at", "maxCount", "sort", "src", "lang", "indent",
               "export", "login", "auth", "logout", "apiVersion", "siteName", "whoAmI", "all", "info", "health",
               "type", "code", "ch", "plateNo"]
WHATS = ["carNo", "similarCarNo", "eventLog", "lprSrc", "channel", "emergencyCall", "eventType", "parkingLot",
         "realtimeEvent", "objectType", "objectAttr", "nonsense"]
PROTECTED_KEYS = {"data", "whoAmI", "cpu", "memory", "disk", "lprSrc", "totalCount"}


@pytest.fixture(scope="module")
def client(engine, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("PLATEHUB_ADMIN_PASSWORD", PASSWORD)
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("tsfuzz"), workers=1), engine=engine)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


EDGES = ["99999999999999999999", "9223372036854775808", "2147483648", "-1", "1e3", "0001-01-01T00:00:00+14:00",
         "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59.999", "0001-01-01", "9999-12-31"]
values = st.one_of(st.sampled_from(WHATS), st.text(max_size=25), st.integers(-5, 10**6).map(str),
                   st.sampled_from(["2026-11-21T08:00:00Z", "2026-11-21T08:00:00+09:00", "yesterday", ""]),
                   st.sampled_from(EDGES))
queries = st.dictionaries(st.sampled_from(PARAM_NAMES), values, max_size=5)
wrong_auth = st.one_of(
    st.none(),
    st.text(max_size=20).map(lambda t: {"Authorization": "Basic " + base64.b64encode(t.encode()).decode()}),
    st.just({"Authorization": "Basic " + base64.b64encode(b"admin:wrong").decode()}),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(lambda t: {"Authorization": t}),
)
bodies = st.one_of(st.none(), st.binary(max_size=100), st.just(b'{"topic":"LPR","src":"F1","plateNo":"AB1"}'),
                   st.just(b'[{"topic":"LPR"}, 7, null]'),
                   st.integers(1, 1200).map(lambda d: b'{"topic":"LPR","src":"F1","plateNo":"AB1","x":%s}'
                                            % (b"[" * d + b"]" * d)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), query=queries, headers=wrong_auth, body=bodies,
       method=st.sampled_from(["GET", "POST"]))
def test_no_server_errors_and_no_data_without_a_user(client, path, query, headers, body, method):
    query = {k: v for k, v in query.items() if k not in ("auth", "login")}  # credentials come from `headers`
    client.cookies.clear()
    r = client.request(method, path, params=query, headers=headers or {}, content=body)
    assert r.status_code < 500, (path, query, r.text)
    if r.status_code == 200 and r.headers.get("content-type", "").startswith("application/json"):
        data = r.json()
        if isinstance(data, dict):
            assert not PROTECTED_KEYS & set(data), (path, query, data)
    assert r.status_code != 200 or path in ("/api/info", "/api/auth") or r.content == b"", (path, r.status_code)


def test_the_right_user_still_gets_data(client):
    client.cookies.clear()
    assert client.get("/api/find", params={"what": "carNo"}, auth=("admin", PASSWORD)).status_code in (200, 429)
    client.app.state.platehub.sign_ins.clear()  # the fuzzing's wrong passwords slowed this client down
    auth = (client.app.state.platehub.store.users.get("admin").login, PASSWORD)
    r = client.get("/api/find", params={"what": "carNo"}, auth=auth)
    assert r.status_code == 200 and "data" in r.json()


keywords = st.one_of(st.text(max_size=12), st.sampled_from(['"', "'", "*", "%", "_", "AB*", 'A"B', "NEAR(a b)",
                                                             "a OR b", "-AB", "^A", "京A", "\\", "(", ")"]),
                     st.text(st.characters(min_codepoint=48, max_codepoint=90), min_size=30, max_size=700))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(what=st.sampled_from(["carNo", "similarCarNo", "eventLog"]), keyword=keywords,
       extra=st.dictionaries(st.sampled_from(["timeBegin", "timeEnd", "at", "maxCount", "sort", "src", "lang",
                                              "export", "keyword"]), values, max_size=3))
def test_signed_in_searches_never_fail(client, what, keyword, extra):
    """Search input reaches the queries (FTS5/trigram syntax, LIKE wildcards): 200 or 400, never 5xx."""
    client.app.state.platehub.sign_ins.clear()
    params = {"what": what, "keyword": keyword, **{k: v for k, v in extra.items() if k != "keyword"}}
    r = client.get("/api/find", params=params, auth=("admin", PASSWORD))
    assert r.status_code in (200, 400), (params, r.status_code, r.text)


def _signed_in(client, method: str, path: str, **kwargs):
    client.app.state.platehub.sign_ins.clear()
    client.cookies.clear()
    return client.request(method, path, auth=("admin", PASSWORD), **kwargs)


@pytest.mark.parametrize("length", [33, 500, 600, 16_000])
def test_long_keywords_are_refused_in_the_protocols_convention(client, length):
    """Issue 11 #10: a 600-character similarCarNo keyword was a 500 (SQLite expression depth), a
    16,000-character one 23 s of CPU. No plate is longer than 32 characters (reads.plate)."""
    for what in ("similarCarNo", "carNo"):
        r = _signed_in(client, "GET", "/api/find", params={"what": what, "keyword": "A" * length})
        assert r.status_code == 400, (what, length, r.text)
        assert r.json() == {"code": -2, "message": f"`keyword` is too long ({length} characters; a plate has at "
                                                   "most 32)"}
    r = _signed_in(client, "GET", "/api/find", params={"what": "similarCarNo", "keyword": "A" * 32})
    assert r.status_code == 200


@pytest.mark.parametrize(("name", "value"), [("at", "99999999999999999999"), ("maxCount", "99999999999999999999"),
                                              ("timeBegin", "0001-01-01T00:00:00+14:00"),
                                              ("timeEnd", "9999-12-31T23:59:59-14:00")])
@pytest.mark.parametrize("what", ["carNo", "eventLog"])
def test_numbers_and_times_out_of_range_are_a_400(client, what, name, value):
    """Issue 11 #11: `at=99999999999999999999` and `timeBegin=0001-01-01T00:00:00+14:00` were 500s."""
    r = _signed_in(client, "GET", "/api/find", params={"what": what, name: value})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] < 0 and name in body["message"]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 500, 900, 5000, 100_000])
def test_deeply_nested_push_events_are_rejected(client, depth):
    """Issue 11 #11: an LPR event with a value nested 500 levels deep was a 500 (stored as sent)."""
    event = json.dumps({"topic": "LPR", "src": "FUZZ-DEEP", "plateNo": f"DEEP{depth}", "when": "2024-01-02T03:04:05Z",
                        "x": "DEEP"}).replace('"DEEP"', _deep(depth))
    r = _signed_in(client, "POST", "/api/push", content="[" + event + "]")
    assert r.status_code == 400, r.text
    assert r.json()["code"] == -2
    r = _signed_in(client, "POST", "/api/push", content=_deep(depth))
    assert r.status_code == 400 and r.json()["code"] == -2


def test_a_push_batch_keeps_its_good_events_beside_a_deep_one(client):
    good = {"topic": "LPR", "src": "FUZZ-DEEP", "plateNo": "GOOD123", "when": "2024-01-02T03:04:06Z"}
    bad = {"topic": "LPR", "src": "FUZZ-DEEP", "plateNo": "BAD123", "x": "DEEP"}
    body = json.dumps([good, bad]).replace('"DEEP"', _deep(500))
    r = _signed_in(client, "POST", "/api/push", content=body)
    assert r.status_code == 400 and r.json()["accepted"] == 1
    assert r.json()["rejected"] == [{"index": 1, "message": "the event is nested more than 32 levels deep"}]
    r = _signed_in(client, "GET", "/api/find", params={"what": "carNo", "keyword": "GOOD123"})
    assert r.json()["totalCount"] == 1


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_push_times_out_of_range_are_rejected(client, when):
    for name in ("when", "timeBegin"):
        r = _signed_in(client, "POST", "/api/push", json={"topic": "LPR", "src": "FUZZ-T", "plateNo": "T1", name: when})
        assert r.status_code == 400, r.text
        assert "out of range" in r.json()["rejected"][0]["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 1200), field=st.sampled_from(["x", "when", "timeBegin", "plateNo", "src", "camera"]),
       topic=st.sampled_from(["LPR", "emergencyCall"]), batch=st.booleans())
def test_signed_in_pushes_with_nesting_never_fail(client, depth, field, topic, batch):
    """Any field of a pushed event nested up to 1200 levels: 200 or the push's own 400, never a 5xx."""
    event = {"topic": topic, "src": "FUZZ-N", "plateNo": "N1", "event": "callStart", field: "DEEP"}
    body = json.dumps([event] if batch else event).replace('"DEEP"', _deep(depth))
    r = _signed_in(client, "POST", "/api/push", content=body)
    assert r.status_code in (200, 400), (depth, field, r.text)
    assert r.status_code == 200 or r.json()["code"] == -2
