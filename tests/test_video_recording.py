"""Recording a channel (video/recorder.py) with the real ffmpeg from a real RTSP server (GStreamer's, on
loopback: tests/rtsp_server.py serving ../shared/data/video/cars.mp4), with 2-second segments: the
segments are fragmented MP4 that ffprobe reads, and video/mp4.py's reading of them agrees with ffprobe;
a SIGKILL of ffmpeg leaves the segment it was writing playable (decoded to its end), and the recorder
starts ffmpeg again by itself; retention removes the oldest segments first and keeps under the cap."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import DEV_DATA, REPO, free_port
from rtsp_server import RtspServer

from platehub.core.store.channels import Channel
from platehub.video.mp4 import scan
from platehub.video.recorder import Recorder, RecorderOptions, Recorders, RecordingState
from platehub.video.recordings import GB, Recordings, file_id, split_id

VIDEO = (DEV_DATA or REPO.parent / "shared/data/plates-dev").parent / "video" / "cars.mp4"


def probe(path: Path) -> dict:
    """ffprobe's format and first stream of a file (raises when ffprobe cannot read it)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def decoded_frames(path: Path, clean: bool = True) -> int:
    """Frames ffmpeg decodes from the file; fails when it fails (or, `clean`, reports any decoding error)."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "null", "-",
                          "-progress", "pipe:1"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not (clean and out.stderr.strip()), (path, out.stderr)
    frames = [int(line.split("=")[1]) for line in out.stdout.splitlines() if line.startswith("frame=")]
    return frames[-1] if frames else 0


def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out: {what}")


@pytest.fixture(scope="module")
def rtsp(tmp_path_factory):
    root = tmp_path_factory.mktemp("rec-rtsp")
    server = RtspServer(free_port(), VIDEO, root / "rtsp.log").start()
    yield server
    server.kill()


def test_segments_are_fragmented_mp4_and_a_sigkill_leaves_the_last_one_playable(rtsp, tmp_path):
    recordings = Recordings(tmp_path / "recordings")
    states: list[RecordingState] = []
    channel = Channel(7, "booth", rtsp.url, recording="continuous")
    rec = Recorder(channel, recordings, tmp_path / "live", RecorderOptions(segment_seconds=4), states.append)
    rec.start()
    try:
        wait_for(lambda: len(recordings.segments(7)) >= 2, 30, "two segments")
        assert states and states[-1].recording and states[-1].streaming
        assert (tmp_path / "live" / "7" / "live.m3u8").is_file()
        first = rec.proc

        def writing_for_2s():
            newest = recordings.segments(7, playable=False)[-1]
            age = (datetime.now(UTC) - newest.start).total_seconds()
            return (newest, age) if age >= 2.2 else None

        writing, age = wait_for(writing_for_2s, 20, "a segment written for 2 s")
        first.kill()  # SIGKILL: no trailer, no mfra, the fragment being written is cut
        first.wait(5)
        cut = recordings.by_id(writing.file_id)
        assert cut is not None and cut.layout.playable, f"the segment being written was lost: {cut}"
        assert cut.layout.duration >= age - 2.0, (age, cut.layout)  # at most ~1 s lost (+1 s: names are seconds)
        # the recorder noticed, cut the partial fragment off, and records again by itself
        wait_for(lambda: rec.proc is not first and rec.state.recording
                 and recordings.segments(7)[-1].start > writing.start, 30, "recording again after the kill")
        repaired = recordings.by_id(writing.file_id)
        assert repaired.size == repaired.layout.media_end == cut.layout.media_end
        assert decoded_frames(repaired.path) > 0  # to its end, without a decoding error
        assert rec.restarts >= 1
        assert any(s.failed_at is not None and not s.recording for s in states), states
        assert states[-1].recording and states[-1].failed_at is None
    finally:
        rec.stop()
    segments = recordings.segments(7)
    assert len(segments) >= 3, [(s.name, s.layout.duration) for s in recordings.segments(7, playable=False)]
    for s in segments:
        info = probe(s.path)
        stream = info["streams"][0]
        assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (1280, 720)
        assert abs(float(info["format"]["duration"]) - s.layout.duration) < 0.1, (s.name, info["format"])
        assert s.file_id == file_id(7, s.start) and split_id(s.file_id) == (7, s.start)
        assert s.path.parent.name == f"{s.start:%Y%m%d}" and s.name == f"{s.start:%Y%m%dT%H%M%S}Z.mp4"
    assert abs((segments[-1].start - datetime.now(UTC)).total_seconds()) < 30  # named in UTC


def _record(rtsp, root: Path, channel_id: int, segment_seconds: int, count: int) -> Recordings:
    """Record the RTSP stream continuously under `root` until `count` playable segments exist."""
    recordings = Recordings(root / "recordings")
    rec = Recorder(Channel(channel_id, "c", rtsp.url, recording="continuous"), recordings, root / "live",
                   RecorderOptions(segment_seconds=segment_seconds), lambda s: None)
    rec.start()
    try:
        wait_for(lambda: len(recordings.segments(channel_id)) >= count, 30, f"{count} segments")
    finally:
        rec.stop()
    return recordings


def test_a_segment_cut_at_any_byte_plays_up_to_its_last_complete_fragment(rtsp, tmp_path):
    recordings = _record(rtsp, tmp_path, 3, segment_seconds=4, count=3)
    whole = max(recordings.segments(3)[:-1], key=lambda s: s.layout.duration)  # several fragments (1 s each)
    data = whole.path.read_bytes()
    durations = []
    init, end = whole.layout.init_end, whole.layout.media_end
    for cut in (init - 1, init + 100, int(end * 0.85), end - 1):
        part = tmp_path / f"cut{cut}.mp4"
        part.write_bytes(data[:cut])
        layout = scan(part)
        if cut <= init + 100:
            assert not layout.playable  # no complete fragment yet
            continue
        assert layout.playable and 0 < layout.duration < whole.layout.duration, (cut, layout, whole.layout)
        assert decoded_frames(part, clean=False) > 0  # a player stops at the partial fragment
        part.write_bytes(data[:layout.media_end])
        assert decoded_frames(part) > 0  # what /watch serves of it decodes without an error
        durations.append(layout.duration)
    assert durations == sorted(durations)


def _copies(root: Path, model: Path, starts: list[tuple[int, datetime]]) -> Recordings:
    recordings = Recordings(root)
    for channel_id, start in starts:
        day = recordings.channel_dir(channel_id) / f"{start:%Y%m%d}"
        day.mkdir(parents=True, exist_ok=True)
        shutil.copy(model, day / f"{start:%Y%m%dT%H%M%S}Z.mp4")
    return recordings


@pytest.fixture(scope="module")
def model_segment(rtsp, tmp_path_factory) -> Path:
    return _record(rtsp, tmp_path_factory.mktemp("model"), 1, segment_seconds=2, count=2).segments(1)[0].path


def test_retention_removes_the_oldest_first_across_channels_and_keeps_under_the_cap(model_segment, tmp_path):
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    starts = [(1, now - timedelta(days=3)), (2, now - timedelta(days=2, hours=1)), (1, now - timedelta(days=1)),
              (2, now - timedelta(hours=5)), (1, now - timedelta(minutes=2)), (2, now - timedelta(minutes=1))]
    recordings = _copies(tmp_path / "recordings", model_segment, starts)
    size = model_segment.stat().st_size
    assert recordings.usage() == 6 * size
    # by age: older than 2 days goes (both channels), however small the store
    gone = recordings.prune(max_days=2, now=now)
    assert gone.files == 2
    left = sorted((s.start, s.channel_id) for c in (1, 2) for s in recordings.segments(c, playable=False))
    assert left == sorted((s, c) for c, s in starts[2:])
    assert not (recordings.channel_dir(1) / f"{starts[0][1]:%Y%m%d}").exists()  # its empty day went too
    # by the cap: the oldest go until the rest fit
    gone = recordings.prune(cap_gb=(2.5 * size) / GB, now=now)
    assert gone.files == 2 and recordings.usage() <= 2.5 * size
    left = sorted((s.start, s.channel_id) for c in (1, 2) for s in recordings.segments(c, playable=False))
    assert left == sorted((s, c) for c, s in starts[4:])
    # the newest segment of each channel (maybe being written) stays even over the cap
    gone = recordings.prune(cap_gb=1 / GB, now=now)
    assert gone.files == 0 and len(recordings.channels()) == 2


def test_event_recording_keeps_only_the_segments_near_a_vehicle_pass(model_segment, tmp_path):
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    duration = scan(model_segment).duration  # each copy holds this many seconds
    starts = [now - timedelta(minutes=m) for m in (30, 20, 10, 5, 1)]  # the last is too young to decide on
    recordings = _copies(tmp_path / "recordings", model_segment, [(4, s) for s in starts])
    event = Channel(4, "gate", "rtsp://cam", recording="event")
    seen = starts[1] + timedelta(seconds=duration + 5)  # 5 s after the second segment ends: within EVENT_AFTER
    asked = []

    def passes(channel, since, until):
        asked.append((channel.name, since, until))
        return [(seen, seen + timedelta(seconds=2))]

    recorders = Recorders(lambda: [event, Channel(5, "other", "rtsp://x", recording="continuous")], recordings,
                          tmp_path / "live", RecorderOptions(), lambda s: None, passes=passes)
    recorders.prune(now)
    left = [s.start for s in recordings.segments(4, playable=False)]
    assert left == [starts[1], starts[4]]  # near the pass; and the one still settling
    assert asked and asked[0][0] == "gate"
    recorders.prune(now + timedelta(minutes=3))  # the last one has settled now: no pass near it
    assert [s.start for s in recordings.segments(4, playable=False)] == [starts[1]]
