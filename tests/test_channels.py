"""Video channels as stored (migration 0009, SQLite and PostgreSQL) and the rules for their settings
(video/channels.py), which the CLI and `/v1/channels/` share."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from helpers import store_on

from platehub.core.read import Read
from platehub.core.store.channels import Channel, ChannelExists
from platehub.video.channels import ChannelError, Channels, parse
from platehub.video.status import changes

ZONE = [[0, 2160], [7680, 2160], [7680, 4320], [0, 4320]]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    s = store_on(request, tmp_path, ("channels", "event_log"))
    yield s
    s.close()


def test_channels_are_stored_changed_and_removed(store):
    channels = Channels(store)
    c = channels.add({"name": "gate1", "url": "rtsp://u:p@10.0.0.5/s1", "zones": [ZONE], "text_formats": ["^[0-9]"],
                      "min_plate_width": 40, "direction": "in"}, by="test")
    assert (c.enabled, c.sample_rate, c.mode) == (True, 5.0, "fast")  # the defaults
    assert c.zones == (tuple((float(x), float(y)) for x, y in ZONE),) and c.text_formats == ("^[0-9]",)
    assert store.channels.get("gate1") == c == store.channels.get(c.id) == store.channels.get(str(c.id))
    with pytest.raises(ChannelExists):
        channels.add({"name": "gate1", "url": "x.mp4"}, by="test")
    changed = channels.update("gate1", {"enabled": False, "sample_rate": 2.5, "zones": []}, by="test")
    assert (changed.enabled, changed.sample_rate, changed.zones, changed.url) == (False, 2.5, (), c.url)
    assert changed.updated_at >= c.updated_at and changed.created_at == c.created_at
    assert [x.name for x in store.channels.list()] == ["gate1"]
    assert channels.remove("gate1", by="test") is not None and store.channels.list() == []
    assert channels.update("gate1", {"enabled": True}, by="test") is None


@pytest.mark.parametrize("fields, error", [
    ({"url": "rtsp://h/x"}, "name: required"),
    ({"name": "a"}, "url: required"),
    ({"name": "a", "url": "ftp://h/x"}, "url: the scheme"),
    ({"name": "a/b", "url": "x.mp4"}, "name:"),
    ({"name": "a", "url": "x.mp4", "sample_rate": 0}, "sample_rate"),
    ({"name": "a", "url": "x.mp4", "sample_rate": 31}, "sample_rate"),
    ({"name": "a", "url": "x.mp4", "sample_rate": True}, "sample_rate"),
    ({"name": "a", "url": "x.mp4", "mode": "turbo"}, "mode: one of regular, fast, redaction"),
    ({"name": "a", "url": "x.mp4", "direction": "up"}, "direction: one of any, in, out"),
    ({"name": "a", "url": "x.mp4", "enabled": "yes"}, "enabled"),
    ({"name": "a", "url": "x.mp4", "text_formats": ["(["]}, "invalid regular expression"),
    ({"name": "a", "url": "x.mp4", "zones": [[[0, 0], [1, 1], [8000, 0]]]}, "8K logical coordinates"),
    ({"name": "a", "url": "x.mp4", "min_plate_width": -1}, "min_plate_width"),
    ({"name": "a", "url": "x.mp4", "colour": "red"}, "unknown field(s): colour"),
])
def test_bad_settings_are_refused_naming_the_field(fields, error):
    with pytest.raises(ChannelError, match=error.replace("(", r"\(").replace(")", r"\)")):
        parse(fields)


def test_changes_between_two_views_of_the_store():
    a, b = Channel(1, "a", "rtsp://h/a"), Channel(2, "b", "x.mp4")
    assert changes({}, {}) == [] and changes({1: a}, {1: a}) == []
    assert changes({1: a}, {1: a, 2: b}) == [("added", b)]
    assert changes({1: a, 2: b}, {2: b}) == [("removed", a)]
    renamed, moved, both = replace(a, name="a2"), replace(a, url="rtsp://h/a2"), replace(a, name="c", url="y.mp4")
    assert changes({1: a}, {1: renamed}) == [("renamed", renamed)]
    assert changes({1: a}, {1: moved}) == [("source", moved)]
    assert changes({1: a}, {1: both}) == [("renamed", both), ("source", both)]
    assert changes({1: a}, {1: replace(a, enabled=False, sample_rate=2.0)}) == []  # the worker reports these


def test_recording_is_a_channel_setting_and_event_recording_finds_the_channels_passes(store):
    channels = Channels(store)
    c = channels.add({"name": "rec1", "url": "rtsp://cam/1", "recording": "event"}, by="test")
    assert store.channels.get("rec1").recording == "event"
    assert channels.update("rec1", {"recording": "off"}, by="test").recording == "off"
    with pytest.raises(ChannelError, match="recording: one of off, continuous, event"):
        parse({"recording": "sometimes"}, c)
    t0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    store.reads.add([Read(plate=p, plate_raw=p, protocol="video", source=src, source_key=f"{src}:{p}",
                          first_seen=t0 + timedelta(minutes=m), last_seen=t0 + timedelta(minutes=m, seconds=5))
                     for p, src, m in (("AA1", "rec1", 0), ("BB2", "rec1", 10), ("CC3", "gate9", 1))])
    got = store.reads.pass_times("rec1", t0 - timedelta(seconds=1), t0 + timedelta(minutes=5))
    assert got == [(t0, t0 + timedelta(seconds=5))]
    # a pass that began before the window and ended in it counts
    assert store.reads.pass_times("rec1", t0 + timedelta(seconds=3), t0 + timedelta(seconds=4)) == got
