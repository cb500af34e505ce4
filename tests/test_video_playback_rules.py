"""The pure rules of recording and playback, without servers: which days and minutes hold video, the
/api/vod and /watch parameters, the HLS playlist and its link tokens, the export plan, the `vod` link of
a video read. (The same rules on a real server with real video: test_video_playback.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import pytest

from platehub.core.read import Read
from platehub.core.store.channels import Channel
from platehub.protocols.tsapi import carno, events, hls, recfind, vodfind
from platehub.protocols.tsapi.carno import ParamError
from platehub.protocols.tsapi.dataexport import parse_interval, parse_size
from platehub.video import export
from platehub.video.mp4 import Layout
from platehub.video.recordings import Segment, days, file_id, minutes, split_id

T0 = datetime(2026, 12, 1, 23, 58, 30, tzinfo=UTC)
EST = timezone(timedelta(hours=-5))


def seg(start: datetime, seconds: float, channel: int = 1, size: int = 1000) -> Segment:
    return Segment(channel, Path(f"/r/{channel}/{start:%Y%m%dT%H%M%S}Z.mp4"), start, size,
                   Layout(900, size, seconds, 1280, 720))


def test_minutes_with_video_cover_every_minute_a_segment_touches_in_the_zone_asked():
    segments = [seg(T0, 60), seg(T0 + timedelta(minutes=5), 1)]
    got = minutes(segments, UTC, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [t.strftime("%d %H:%M") for t in got] == ["01 23:58", "01 23:59", "02 00:03"]
    got = minutes(segments, EST, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [t.strftime("%d %H:%M") for t in got] == ["01 18:58", "01 18:59", "01 19:03"]
    # only within the range asked
    assert minutes(segments, UTC, T0 + timedelta(seconds=40), T0 + timedelta(seconds=50)) == [
        datetime(2026, 12, 1, 23, 59, tzinfo=UTC)]
    assert days([T0, T0 + timedelta(minutes=5)], UTC) == [T0.date(), (T0 + timedelta(days=1)).date()]
    assert days([T0, T0 + timedelta(minutes=5)], EST) == [T0.date()]


def test_file_ids_name_the_channel_and_the_start():
    fid = file_id(12, T0)
    assert split_id(fid) == (12, T0)
    with pytest.raises(ValueError):
        split_id(12345)


@pytest.mark.parametrize(("params", "error"), [
    ({"what": "recMinutes"}, "`timeBegin` or `timeEnd` is required"),
    ({"timeBegin": "2026-01-01T00:00:00Z", "timeEnd": "2026-01-05T00:00:00Z"}, "at most 3 days"),
    ({"timeBegin": "2026-01-02T00:00:00Z", "timeEnd": "2026-01-01T00:00:00Z"}, "must be after"),
    ({"timeBegin": "not a time"}, "not an ISO 8601"),
])
def test_rec_minutes_refuses_what_the_guide_does_not_allow(params, error):
    with pytest.raises(ParamError, match=error):
        recfind.minutes_range(params)


def test_rec_minutes_one_end_means_one_day_and_utc_asked_is_utc_answered():
    since, until = recfind.minutes_range({"timeBegin": "2026-01-01T10:00:00Z"})
    assert until - since == timedelta(days=1)
    since, until = recfind.minutes_range({"timeEnd": "2026-01-01T10:00:00-05:00"})
    assert until - since == timedelta(days=1) and until.utcoffset() == timedelta(hours=-5)
    assert recfind.zone_of(since.astimezone(UTC)) is UTC
    assert recfind.zone_of(since) is not UTC


@pytest.mark.parametrize(("raw", "seconds"), [("1h", 3600), ("90m", 5400), ("5000ms", 5), ("30", 30), ("1w", 604800),
                                              ("2d", 172800), ("45s", 45), (None, 1.0)])
def test_vod_durations_in_the_guides_units(raw, seconds):
    assert vodfind.parse_duration(raw, 1.0) == seconds


def test_vod_parameters():
    with pytest.raises(ParamError, match="`ch` is required"):
        vodfind.parse_recorded({"when": "2026-01-01T00:00:00Z"})
    with pytest.raises(ParamError):
        vodfind.parse_duration("1h30m", 1.0)  # the guide: combined units are not supported
    q = vodfind.parse_recorded({"id": str(file_id(3, T0)), "next": ""})
    assert (q.channel_id, q.file_id, q.next, q.prev, q.limit) == (3, file_id(3, T0), True, False, 10)
    assert vodfind.parse_recorded({"ch": "1", "when": "today", "limit": "500"}).limit == 50
    with pytest.raises(ParamError, match="not of channel"):
        vodfind.parse_recorded({"id": str(file_id(3, T0)), "ch": "4"})
    assert vodfind.is_live({}) and vodfind.is_live({"when": "now"}) and not vodfind.is_live({"when": "yesterday"})


def test_recorded_playlist_serves_each_segment_by_byte_ranges_from_the_moment_asked():
    segments = [seg(T0, 60.0, size=5000), seg(T0 + timedelta(seconds=60), 59.5, size=4000)]
    text = hls.recorded(segments, 12.5, "TOKEN")
    lines = text.splitlines()
    assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:7"] and lines[-1] == "#EXT-X-ENDLIST"
    assert "#EXT-X-TARGETDURATION:60" in lines and "#EXT-X-START:TIME-OFFSET=12.500,PRECISE=YES" in lines
    url = f"/watch/rec/1/{segments[0].name}?t=TOKEN"
    assert f'#EXT-X-MAP:URI="{url}",BYTERANGE="900@0"' in lines
    assert lines[lines.index(url) - 1] == "#EXT-X-BYTERANGE:4100@900"
    assert lines.count("#EXT-X-DISCONTINUITY") == 1  # each file starts its timestamps at zero


def test_link_tokens_are_per_channel_and_expire():
    links = hls.LinkSigner(b"k" * 32)
    tok = links.token(1, now=1000.0, ttl=60)
    assert links.valid(1, tok, now=1050.0)
    assert not links.valid(2, tok, now=1050.0) and not links.valid(1, tok, now=1061.0)
    expires, _, mac = tok.partition(".")
    assert not links.valid(1, f"{int(expires) + 3600}.{mac}", now=1050.0)  # a longer life is not forged
    assert not links.valid(1, None) and not links.valid(1, "garbage")
    assert not hls.LinkSigner(b"x" * 32).valid(1, tok, now=1050.0)  # another site's key: no


def test_every_process_of_a_site_signs_links_with_one_key(tmp_path):
    from platehub.core.store import Store

    url = f"sqlite:///{tmp_path / 'site.db'}"
    first, second = Store(url, tmp_path / "images"), Store(url, tmp_path / "images")
    tok = hls.LinkSigner(first.keys.key(hls.KEY_NAME)).token(3)
    assert hls.LinkSigner(second.keys.key(hls.KEY_NAME)).valid(3, tok)
    assert first.keys.key("other") != first.keys.key(hls.KEY_NAME)
    live = hls.live("#EXTM3U\n#EXTINF:2.0,\nlive7.ts\n", 4, "T")
    assert live.splitlines()[-1] == "/watch/live/4/live7.ts?t=T"


def test_export_plan_splits_by_size_and_trims_to_the_range():
    segments = [seg(T0 + timedelta(minutes=i), 60, size=400) for i in range(5)]
    since, until = T0 + timedelta(seconds=30), T0 + timedelta(minutes=4, seconds=10)
    whole = export.plan(1, segments, since, until)
    assert len(whole) == 1 and whole[0].seconds == 220 and whole[0].name() == "CH1.2026-12-01T23.59.00.mp4"
    parts = export.plan(1, segments, since, until, media_size=1000)
    assert [len(p.segments) for p in parts] == [2, 2, 1]
    assert sum(p.seconds for p in parts) == 220
    script = export.concat_list(whole[0]).splitlines()
    assert script[:3] == ["ffconcat version 1.0", f"file '{segments[0].path}'", "inpoint 30.000"]
    assert script[-2:] == [f"file '{segments[4].path}'", "outpoint 10.000"]
    assert parse_size("700MB") == 700 * 1024**2 and parse_size("1GB") == 1024**3 and parse_size(None) == 0
    assert parse_interval("500ms") == 0.5 and parse_interval("2s") == 2.0
    with pytest.raises(ParamError):
        parse_size("lots")


def test_a_video_read_of_a_recording_channel_links_its_video():
    read = Read(plate="34A36837", plate_raw="34A36837", protocol="video", source="booth", first_seen=T0)
    item = carno.item(read, "booth", "http://h/", {"booth": 3})
    assert item["vod"] == [{"chid": 3, "videoSrc": "http://h/watch?ch=3&when="
                            + carno.quote(carno.iso_local(T0), safe="")}]
    assert carno.item(read, "booth", "http://h/", {"gate": 4})["vod"] == []
    pushed = Read(plate="34A36837", plate_raw="34A36837", protocol="push", source="booth", first_seen=T0)
    assert carno.item(pushed, "booth", "http://h/", {"booth": 3})["vod"] == []


def test_an_lpr_event_of_a_video_read_names_its_channel_and_links_the_recording():
    read = Read(plate="34A36837", plate_raw="34A36837", protocol="video", source="booth", first_seen=T0,
                last_seen=T0 + timedelta(seconds=4))
    recording = Channel(3, "booth", "rtsp://cam/1", recording="continuous")
    msg = events.lpr(read, "booth", "http://h", channel=recording)
    assert list(msg)[:3] == ["timestamp", "chid", "deviceCode"]  # the guide's order
    assert msg["chid"] == {"chid": 3, "title": "booth", "displayName": "CH3. booth",
                           "src": "http://h/watch?ch=3&when=" + quote(events.timestamp(T0), safe="")}
    assert "src" not in events.lpr(read, channel=Channel(3, "booth", "rtsp://cam/1"))["chid"]  # not recording
    assert "chid" not in events.lpr(read)


def test_the_live_playlist_is_found_on_the_shared_volume_while_it_is_rewritten(tmp_path):
    """Any process serves live video: the playlist is looked up on disk (the leader's recorder writes it
    there), not among the process's own recorders; one left by a stopped recorder is no live video."""
    import os
    import time

    from platehub.video.recorder import LIVE_PLAYLIST, LIVE_STALE, RecorderOptions, Recorders
    from platehub.video.recordings import Recordings

    recorders = Recorders(lambda: [], Recordings(tmp_path / "rec"), tmp_path / "live", RecorderOptions(),
                          on_state=lambda state: None)  # this process records nothing
    assert recorders.live_playlist(3) is None
    playlist = tmp_path / "live" / "3" / LIVE_PLAYLIST
    playlist.parent.mkdir(parents=True)
    playlist.write_text("#EXTM3U\n")
    assert recorders.live_playlist(3) == playlist
    old = time.time() - LIVE_STALE - 1
    os.utime(playlist, (old, old))
    assert recorders.live_playlist(3) is None


def test_a_process_that_runs_no_channel_answers_the_states_the_leader_reported():
    """With several processes only the leader runs the channels and their recorders; the others hear their
    states on the bus and answer with them (status pages, channelStatus and recordingStatus snapshots)."""
    from datetime import UTC, datetime

    from platehub.core.store.channels import Channel
    from platehub.video.channel import ChannelRunner
    from platehub.video.recorder import RecorderOptions, Recorders, RecordingState
    from platehub.video.recordings import Recordings
    from platehub.video.status import ChannelEvent, ChannelStatus

    booth = Channel(4, "booth", "rtsp://camera/1", recording="continuous")
    runner = ChannelRunner(lambda: [booth], lambda: None, lambda channel, p: None)  # never started: no worker
    assert runner.status(booth).state == "connecting"
    online = ChannelStatus("online", 100, 50, 50, 0, 2, None, 1.0)
    runner.hear(ChannelEvent("status", booth, online))
    assert runner.status(booth) == online
    assert runner.status(Channel(4, "booth", "rtsp://camera/1", enabled=False)).state == "disabled"

    recorders = Recorders(lambda: [booth], Recordings(Path("/nonexistent")), Path("/nonexistent"),
                          RecorderOptions(), on_state=lambda state: None)
    assert recorders.states([booth]) == [RecordingState(4, False, False)]
    failing = RecordingState(4, True, False, failed_at=datetime(2026, 12, 2, tzinfo=UTC))
    recorders.hear(failing)
    assert recorders.states([booth]) == [failing]
