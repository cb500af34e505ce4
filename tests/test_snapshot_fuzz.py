"""Garbage in: whatever a camera or script sends, /v1/plate-reader/ answers 200 or a 4xx with a
JSON `detail`, never a server error — and keeps serving."""

from __future__ import annotations

import json

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


def test_still_serving_after_the_garbage(client, photo):
    r = client.post("/v1/plate-reader/", files={"upload": ("car.jpg", photo("hr-01.jpg"))})
    assert r.status_code == 200 and r.json()["results"][0]["plate"] == "zg9757hg"
