"""Recording a channel: an `ffmpeg` process per recording channel copies the camera's video stream as it
is (`-c copy`: no decoding, no re-encoding, a few % of one core) into fragmented MP4 segments
(video/recordings.py names them), cut at the first key frame after each wall-clock multiple of the
segment length. Each segment starts with its own `moov` and gets a `moof` + `mdat` at each key frame
and at least every second, written out at once (`flush_packets=1`), so a segment cut short by a crash
or a SIGKILL plays up to a second or two before it; before the next ffmpeg starts, the partial fragment
at its end is cut off (video/recordings.py `repair`). ffmpeg dies with platehub (PDEATHSIG). The same
process writes a short live HLS playlist (MPEG-TS, 2 s segments, the last few kept) that /watch
serves: one connection to the camera for both; a restarted ffmpeg appends to it after a discontinuity,
so live viewers keep playing.
Only the first video track is kept (cameras' audio codecs rarely fit MP4).

`Recorder` supervises one process: restarted with backoff (1, 2, 4 … 30 s; back to 1 after a minute of
recording) when it exits, killed and restarted when its newest segment stops growing (a stalled
camera). Its state (streaming / recording / the time recording failed) goes to `on_state` on each change
(the app publishes it as the TS-API `recordingStatus` topic). `Recorders` keeps one recorder per enabled
channel set to record, in step with the store (like video/channel.py `ChannelRunner`), and applies the
retention (video/recordings.py `prune`) every `prune_every` seconds, and event recording's choice (the
segments no vehicle pass came near go).
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from platehub.core.redact import redact_url as redact
from platehub.core.store.channels import Channel
from platehub.video.recordings import Recordings, without_events
from platehub.video.sources import is_file
from platehub.video.syncloop import SyncLoop

log = logging.getLogger("platehub.video")

FRAGMENT = 1_000_000  # µs: a fragment at least every second (at each key frame too): what a SIGKILL may lose
LIVE_SEGMENT = 2  # seconds per live HLS segment
LIVE_KEEP = 6  # live segments listed
LIVE_PLAYLIST = "live.m3u8"
LIVE_STALE = 30.0  # seconds: a live playlist older than this is a stopped recorder's (ffmpeg rewrites it each segment)
STALL_AFTER = 20.0  # seconds without the newest segment growing: the process is restarted
RECORDING_AFTER = 10.0  # seconds: a segment that grew this recently means "recording"
# a camera's stream is probed for 1 s, not ffmpeg's 5: the packets read while probing are written late, so the
# first segments of a run would be named (at their opening, wall clock) seconds after their video was seen
LIVE_INPUT = ("-analyzeduration", "1000000", "-probesize", "1000000")


@dataclass(frozen=True)
class RecordingState:
    channel_id: int
    streaming: bool  # video comes from the camera
    recording: bool  # and is being written
    failed_at: datetime | None = None  # when recording last failed, while it is failing


@dataclass(frozen=True)
class RecorderOptions:
    segment_seconds: float = 60.0
    ffmpeg: str = "ffmpeg"
    max_backoff: float = 30.0
    stall_after: float = STALL_AFTER


def command(channel: Channel, recordings: Recordings, live_dir: Path, options: RecorderOptions) -> list[str]:
    """The ffmpeg command line that records `channel`."""
    url = channel.url.removeprefix("file://")
    if is_file(channel.url):
        source = ["-re", "-i", url]  # a file played as a camera would send it
    elif url.lower().startswith(("rtsp://", "rtsps://")):
        source = [*LIVE_INPUT, "-rtsp_transport", "tcp", "-timeout", "10000000", "-i", url]
    else:
        source = [*LIVE_INPUT, "-rw_timeout", "10000000", "-i", url]
    copy = ["-map", "0:v:0", "-c", "copy"]
    return [options.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *source,
            *copy, "-f", "segment", "-segment_time", f"{options.segment_seconds:g}", "-segment_atclocktime", "1",
            "-strftime", "1", "-reset_timestamps", "1", "-segment_format", "mp4",
            "-segment_format_options",  # options of each segment's MP4 muxer (flush_packets too: it is theirs)
            f"movflags=+frag_keyframe+empty_moov+default_base_moof:frag_duration={FRAGMENT}:flush_packets=1",
            recordings.pattern(channel.id),
            *copy, "-f", "hls", "-hls_time", str(LIVE_SEGMENT), "-hls_list_size", str(LIVE_KEEP),
            # a restarted ffmpeg continues the playlist after a discontinuity: players keep playing
            "-hls_flags", "delete_segments+omit_endlist+temp_file+append_list+discont_start",
            "-hls_segment_filename", str(live_dir / "live%d.ts"), str(live_dir / LIVE_PLAYLIST)]


def _die_with_parent() -> None:
    """In the child, before ffmpeg starts: SIGKILL it when platehub dies (even by SIGKILL), so that no
    orphan keeps writing beside the next run's ffmpeg (Linux prctl PR_SET_PDEATHSIG; elsewhere nothing)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Recorder:
    """One channel's ffmpeg, supervised (a thread of its own)."""

    def __init__(self, channel: Channel, recordings: Recordings, live_root: Path, options: RecorderOptions,
                 on_state: Callable[[RecordingState], None]) -> None:
        self.channel, self.recordings, self.options, self.on_state = channel, recordings, options, on_state
        self.live_dir = live_root / str(channel.id)
        self.stop_event = threading.Event()
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.last_error: str | None = None
        self._state = RecordingState(channel.id, False, False)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> RecordingState:
        with self._lock:
            return self._state

    def _set(self, state: RecordingState) -> None:
        with self._lock:
            if state == self._state:
                return
            self._state = state
        log.info("channel %s: recording %s", self.channel.name,
                 "on" if state.recording else f"failed at {state.failed_at:%H:%M:%S}" if state.failed_at else "off")
        try:
            self.on_state(state)
        except Exception:
            log.exception("recording state listener failed")

    def start(self) -> None:
        shutil.rmtree(self.live_dir, ignore_errors=True)  # a live playlist of an earlier run is stale
        self._thread = threading.Thread(target=self._run, name=f"recorder-{self.channel.id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set(RecordingState(self.channel.id, False, False))

    def _run(self) -> None:
        backoff = 1.0
        while not self.stop_event.is_set():
            began = time.monotonic()
            error = self._once()
            if self.stop_event.is_set():
                return
            self.restarts += 1
            self.last_error = error
            log.warning("channel %s: the recorder stopped (%s); again in %g s", self.channel.name, error, backoff)
            self._set(RecordingState(self.channel.id, False, False, self.state.failed_at or datetime.now(UTC)))
            if time.monotonic() - began > 60:
                backoff = 1.0
            if self.stop_event.wait(backoff):
                return
            backoff = min(backoff * 2, self.options.max_backoff)

    def _once(self) -> str:
        """Run ffmpeg until it exits, stalls or the recorder stops; why it ended."""
        self.live_dir.mkdir(parents=True, exist_ok=True)
        self.recordings.prepare(self.channel.id, datetime.now(UTC))
        self.recordings.repair(self.channel.id)  # the last run's segment, if its ffmpeg was killed
        cmd = command(self.channel, self.recordings, self.live_dir, self.options)
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, env={**os.environ, "TZ": "UTC"},
                                         preexec_fn=_die_with_parent)
        except OSError as e:
            return f"could not start {self.options.ffmpeg}: {e}"
        tail: collections.deque[str] = collections.deque(maxlen=5)
        reader = threading.Thread(target=self._stderr, args=(self.proc, tail), daemon=True)
        reader.start()
        why = self._watch(self.proc)
        self._end(self.proc)
        reader.join(2)
        detail = " | ".join(redact(line) for line in tail)
        return f"{why}: {detail}" if detail else why

    @staticmethod
    def _stderr(proc: subprocess.Popen, tail: collections.deque[str]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                tail.append(line[:300])

    def _watch(self, proc: subprocess.Popen) -> str:
        started = time.monotonic()
        grown, last_size = started, -1
        while not self.stop_event.wait(1.0):
            code = proc.poll()
            if code is not None:
                return f"ffmpeg exited with {code}"
            now = datetime.now(UTC)
            self.recordings.prepare(self.channel.id, now)
            size = self._newest_size()
            if size != last_size:
                grown, last_size = time.monotonic(), size
            quiet = time.monotonic() - grown
            if size > 0 and quiet < RECORDING_AFTER:
                self._set(RecordingState(self.channel.id, True, True))
            elif quiet > self.options.stall_after:
                return f"no video for {quiet:.0f} s"
            elif quiet >= RECORDING_AFTER and self.state.recording:  # stalled: failing, not yet restarted
                self._set(RecordingState(self.channel.id, False, False, datetime.now(UTC)))
        return "stopped"

    def _newest_size(self) -> int:
        """Size of the channel's newest segment file (0: none yet), today's or, just after midnight,
        yesterday's (UTC)."""
        now = datetime.now(UTC)
        base = self.recordings.channel_dir(self.channel.id)
        entries: list[os.DirEntry] = []
        for day in (now - timedelta(days=1), now):
            try:
                entries += os.scandir(base / f"{day:%Y%m%d}")
            except FileNotFoundError:
                pass
        newest = max(entries, key=lambda e: e.name, default=None)
        try:
            return newest.stat().st_size if newest is not None else 0
        except FileNotFoundError:
            return 0

    def _end(self, proc: subprocess.Popen) -> None:
        """SIGTERM (ffmpeg finishes the segment it writes), then SIGKILL."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


Passes = Callable[[Channel, datetime, datetime], list[tuple[datetime, datetime]]]
EVENT_BEFORE = 10.0  # seconds of video kept before a vehicle pass (event recording)
EVENT_AFTER = 10.0  # … and after it
EVENT_SETTLE = 120.0  # seconds after a segment ends before event recording decides on it (a pass is stored
#                       when the vehicle has left, at most max_prediction_delay after it came)
EVENT_LOOKBACK = 86400.0  # at start, event recording decides on the segments of the last day


class Recorders(SyncLoop):
    """One `Recorder` per enabled channel with recording on (`continuous` or `event`); `states()` for every
    channel. Event recording records as continuous does, then removes the segments no vehicle pass of the
    channel came near (`passes`: the stored reads' first and last seen) once they are `EVENT_SETTLE` old."""

    name, join_timeout = "recorders", 15.0

    def __init__(self, channels: Callable[[], list[Channel]], recordings: Recordings, live_root: Path,
                 options: RecorderOptions, on_state: Callable[[RecordingState], None],
                 streaming: Callable[[Channel], bool] = lambda c: False, retain_days: float = 0.0,
                 retain_gb: float = 0.0, every: float = 3.0, prune_every: float = 30.0,
                 passes: Passes = lambda c, since, until: []) -> None:
        self._channels, self.recordings, self.live_root = channels, recordings, live_root
        self.options, self.on_state, self.streaming, self.passes = options, on_state, streaming, passes
        self._decided: dict[int, datetime] = {}  # event channels: segments ending before this are decided
        self._heard: dict[int, RecordingState] = {}  # states reported by the process that records the channel
        self.retain_days, self.retain_gb = retain_days, retain_gb
        super().__init__(every)
        self.prune_every = prune_every
        self.recorders: dict[int, Recorder] = {}
        self._lock = threading.Lock()
        self._pruned = 0.0

    def sync(self) -> None:
        with self._lock:
            wanted = {c.id: c for c in self._channels() if c.enabled and c.recording in ("continuous", "event")}
            for cid in list(self.recorders):
                r = self.recorders[cid]
                if cid not in wanted or wanted[cid].updated_at != r.channel.updated_at:
                    r.stop()
                    del self.recorders[cid]
            for cid, c in wanted.items():
                if cid not in self.recorders:
                    r = Recorder(c, self.recordings, self.live_root, self.options, self.on_state)
                    r.start()
                    self.recorders[cid] = r

    def live_playlist(self, channel_id: int) -> Path | None:
        """The live HLS playlist of a recording channel, once ffmpeg wrote it. Found on disk, not among this
        process's recorders: with several processes the leader records (core/leader.py) and the others
        serve its files from the shared volume. One not rewritten for LIVE_STALE seconds is a stopped
        recorder's: no live video."""
        path = self.live_root / str(int(channel_id)) / LIVE_PLAYLIST
        try:
            fresh = time.time() - path.stat().st_mtime < LIVE_STALE
        except OSError:
            return None
        return path if fresh else None

    def states(self, channels: list[Channel]) -> list[RecordingState]:
        """Each channel's recording: its recorder's here, else as the process that records it last said."""
        out = []
        for c in channels:
            r = self.recorders.get(c.id)
            if r is not None:
                out.append(r.state)
            else:
                out.append(self._heard.get(c.id) or RecordingState(c.id, c.enabled and self.streaming(c), False))
        return out

    def hear(self, state: RecordingState) -> None:
        """A channel's recording state reported by any process (with several, the leader records)."""
        self._heard[state.channel_id] = state

    def prune(self, now: datetime | None = None) -> None:
        """The retention, and event recording's choice."""
        now = now or datetime.now(UTC)
        for channel in self._channels():
            if channel.recording == "event":
                self._keep_events(channel, now)
        if self.retain_days or self.retain_gb:
            self.recordings.prune(self.retain_days, self.retain_gb, now)

    def _keep_events(self, channel: Channel, now: datetime) -> None:
        since = self._decided.get(channel.id, now - timedelta(seconds=EVENT_LOOKBACK))
        until = now - timedelta(seconds=EVENT_SETTLE)
        if until <= since:
            return
        segments = [s for s in self.recordings.segments(channel.id, since, until, playable=False) if s.end <= until]
        if segments:
            margin = timedelta(seconds=EVENT_BEFORE + EVENT_AFTER)
            passes = self.passes(channel, segments[0].start - margin, segments[-1].end + margin)
            self.recordings.remove(without_events(segments, passes, EVENT_BEFORE, EVENT_AFTER))
            until = max(since, segments[-1].end)
        self._decided[channel.id] = until

    def tick(self) -> None:
        self.sync()
        if time.monotonic() - self._pruned >= self.prune_every:
            self._pruned = time.monotonic()
            self.prune()

    def stop_workers(self) -> None:
        with self._lock:
            for r in self.recorders.values():
                r.stop_event.set()
            for r in self.recorders.values():
                r.stop()
            self.recorders.clear()

