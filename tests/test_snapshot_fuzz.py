"""Garbage in: whatever a camera or script sends, /v1/plate-reader/ answers 200 or a 4xx with a
JSON `detail`, never a server error — and keeps serving. Form fields, JSON bodies of any shape
(fields of the wrong type, nesting hundreds of levels deep), times out of range."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from platehub.app import create_app
from platehub.config import Settings


@pytest.fixture(scope="module")
def client(engine, tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("fuzz"), workers=2, upload_limit=2 * 1024 * 1024)
    with TestClient(create_app(settings, engine=engine)) as c:
        yield c


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)
config_keys = st.sampled_from(["region", "text_formats", "threshold_d", "threshold_o", "mode", "detection_rule",
                               "detection_mode", "other"])
configs = st.one_of(
    st.text(max_size=40),
    st.dictionaries(config_keys, json_values, max_size=4).map(json.dumps),
)
fields = st.fixed_dictionaries({}, optional={
    "regions": st.lists(st.text(max_size=8), max_size=3),
    "config": configs,
    "mmc": st.text(max_size=6),
    "camera_id": st.text(max_size=20),
    "timestamp": st.text(max_size=30),
    "upload_url": st.text(max_size=30),
})
uploads = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=200).map(lambda b: b"\xff\xd8\xff\xe0" + b),  # JPEG-looking garbage
    st.binary(max_size=200).map(lambda b: b"\x89PNG\r\n\x1a\n" + b + b"IEND"),
    st.text(max_size=100),  # a text field: "base64"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(upload=st.none() | uploads, data=fields)
def test_no_server_errors(client, upload, data):
    files = {"upload": ("f.jpg", upload)} if isinstance(upload, bytes) else None
    form = dict(data)
    if isinstance(upload, str):
        form["upload"] = upload
    r = client.post("/v1/plate-reader/", data=form, files=files or {"dummy": ("d", b"")})
    assert r.status_code in (200, 400, 413), r.text
    body = r.json()
    if r.status_code != 200:
        assert isinstance(body["detail"], str) and body["detail"]


TINY_JPEG = base64.b64encode(cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))[1].tobytes()).decode()
FIELD_NAMES = ["config", "regions", "region", "mmc", "camera_id", "timestamp", "upload_url", "upload"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(FIELD_NAMES), json_values, max_size=4))
def test_json_bodies_of_any_shape(client, body):
    """A JSON body's fields may be any JSON value: wrong types are a 400, never a 500."""
    body.setdefault("upload", TINY_JPEG)
    r = client.post("/v1/plate-reader/", content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400, 413), (body, r.text)
    assert r.status_code == 200 or r.json()["detail"]


@pytest.mark.parametrize("depth", [33, 500, 900, 5000, 100_000])
def test_deeply_nested_json_is_a_400(client, depth):
    """Issue 11 #11: nesting a few hundred levels deep was a 500 (RecursionError past the parser)."""
    deep = nested(depth)
    bodies = [json.dumps({"upload": TINY_JPEG, "config": {"region": "DEEP"}}),
              json.dumps({"upload": TINY_JPEG, "mmc": "DEEP"}),
              json.dumps({"upload": TINY_JPEG, "timestamp": "DEEP"}),
              json.dumps({"upload": TINY_JPEG, "other": "DEEP"})]
    bodies = [b.replace('"DEEP"', deep) for b in bodies]
    for body in bodies:
        r = client.post("/v1/plate-reader/", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (depth, body[-40:], r.text)
        assert r.json()["detail"]
    r = client.post("/v1/plate-reader/", data={"upload": TINY_JPEG, "config": '{"region":' + deep + "}"},
                    files={"dummy": ("d", b"")})
    assert r.status_code == 400 and r.json()["detail"]


def test_a_nesting_within_the_bound_is_served(client):
    r = client.post("/v1/plate-reader/", content=json.dumps({"upload": TINY_JPEG, "other": json.loads(nested(30))}),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_timestamps_out_of_range_are_a_400(client, timestamp):
    r = client.post("/v1/plate-reader/", data={"upload": TINY_JPEG, "timestamp": timestamp},
                    files={"dummy": ("d", b"")})
    assert r.status_code == 400 and "timestamp" in r.json()["detail"]


def test_a_file_where_text_belongs_is_a_400(client):
    r = client.post("/v1/plate-reader/", data={"upload": TINY_JPEG}, files={"config": ("c.json", b"{}")})
    assert r.status_code == 400 and r.json()["detail"] == "config must be a text field, not a file."


def test_still_serving_after_the_garbage(client, photo):
    r = client.post("/v1/plate-reader/", files={"upload": ("car.jpg", photo("hr-01.jpg"))})
    assert r.status_code == 200 and r.json()["results"][0]["plate"] == "zg9757hg"
