"""Nesting depth of JSON bodies (protocols/jsondepth.py): every door that keeps what a camera sent
refuses values nested deeper than MAX_DEPTH in its own convention, instead of failing with a
server error when the value is copied or stored (issue 11 #11)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from platehub.app import create_app
from platehub.config import Settings
from platehub.protocols import jsondepth


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_depth_is_counted_without_recursion():
    assert jsondepth.depth(1) == 1 and jsondepth.depth({}) == 1 and jsondepth.depth({"a": [1]}) == 3
    assert jsondepth.depth(json.loads(deep(900))) == 900  # past what a recursive walk could do
    assert not jsondepth.too_deep(json.loads(deep(32))) and jsondepth.too_deep(json.loads(deep(33)))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("depth")), engine=object())
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("depth", [33, 500, 900])
def test_ff_json_event_nested_too_deep_is_a_400(client, depth):
    body = json.dumps({"plate": "AB123", "camera_id": "c1", "x": "DEEP"}).replace('"DEEP"', deep(depth))
    r = client.post("/ff_post.php", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "nested more than 32 levels deep" in r.text


@pytest.mark.parametrize("depth", [33, 500, 900])
def test_all_in_one_message_nested_too_deep_is_refused(client, depth):
    """The cameras' convention: 200 with a refusal (a 5xx would make them resend it forever)."""
    msg = {"AlarmInfoPlate": {"serialno": "S1", "result": {"PlateResult": {"license": "AB123", "x": "DEEP"}}}}
    r = client.post("/devicemanagement/php/plateresult.php", content=json.dumps(msg).replace('"DEEP"', deep(depth)),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    assert "nested more than 32 levels deep" in r.text


def test_management_api_body_nested_too_deep_is_a_400(client):
    _, key = client.app.state.platehub.store.tokens.create("depth-test")
    body = json.dumps({"login": "deep", "password": "deep-pass-123", "rights": "DEEP"}).replace('"DEEP"', deep(500))
    r = client.post("/v1/users/", content=body, headers={"Authorization": f"Token {key}",
                                                          "Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json() == {"detail": "The body is nested more than 32 levels deep."}
