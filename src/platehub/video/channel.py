"""From video to reads: `Pipeline` (engine → channel filters → tracker) for one stream; `read_file` runs
it over a whole file (the upload endpoint, `platehub video FILE`); `ChannelWorker` runs it on a live
source for one stored channel and hands each vehicle pass to a callback (the app's: the ingest path);
`ChannelRunner` keeps one worker per enabled channel in step with the store.

A worker has two threads. The reader takes sampled frames from the source (reconnecting with backoff)
and puts each into a slot that holds one frame: when the engine is still busy with the previous one,
the waiting frame is replaced and counted as dropped — never a growing queue, so a channel that
cannot keep up reads fewer frames instead of falling behind. The processor runs the shared engine,
the tracker and the callback, and watches for a stall (connected, but no frame for `stall_after`
seconds).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from platehub.core.store.channels import Channel
from platehub.engine import Engine, EngineOptions
from platehub.video.liveframe import LatestFrame
from platehub.video.sources import Counters, Frame, FrameSource, Reconnecting, SourceError, VideoSource
from platehub.video.status import DISABLED, REMOVED, STATUS, ChannelEvent, ChannelStatus, changes
from platehub.video.syncloop import SyncLoop
from platehub.video.tracker import Pass, Sighting, Tracker, TrackerSettings
from platehub.video.zones import Polygon, wanted

log = logging.getLogger("platehub.video")
STALL_AFTER = 5.0  # seconds without a frame on an open stream: "stalled"


@dataclass(frozen=True)
class ChannelOptions:
    """What the pipeline needs of a channel."""

    sample_rate: float = 5.0
    mode: str = "fast"
    zones: tuple[Polygon, ...] = ()
    masks: tuple[Polygon, ...] = ()
    min_plate_width: int = 0
    text_formats: tuple[str, ...] = ()
    direction: str = "any"
    regions: tuple[str, ...] = ()
    tracker: TrackerSettings = field(default_factory=TrackerSettings)

    @classmethod
    def of(cls, c: Channel, regions: tuple[str, ...] = ()) -> ChannelOptions:
        return cls(c.sample_rate, c.mode, c.zones, c.masks, c.min_plate_width, c.text_formats, c.direction, regions)


class Pipeline:
    """Frames of one stream in time order → vehicle passes."""

    def __init__(self, engine: Engine, options: ChannelOptions) -> None:
        self.engine, self.options = engine, options
        self.engine_options = EngineOptions(regions=options.regions, text_formats=options.text_formats,
                                            mode=options.mode)
        self._formats = tuple(re.compile(f, re.IGNORECASE) for f in options.text_formats)
        self.tracker = Tracker(options.tracker)

    def sightings(self, frame: Frame) -> list[Sighting]:
        h, w = frame.image.shape[:2]
        o = self.options
        out = []
        for p in self.engine.recognize(frame.image, self.engine_options):
            box = p.box.xyxy
            if box[2] - box[0] < o.min_plate_width or not wanted(box, w, h, o.zones, o.masks):
                continue
            if self._formats and not any(f.fullmatch(p.plate) for f in self._formats):
                continue
            out.append(Sighting(frame.t, box, p.plate, p.score, p.dscore, ref=frame))
        return out

    def process(self, frame: Frame) -> list[Pass]:
        return self._wanted(self.tracker.update(frame.t, self.sightings(frame)))

    def idle(self, t: float) -> list[Pass]:
        """No frame came by `t` (a live source's clock): vehicles last seen long enough ago are reported
        now, not when frames come again."""
        return self._wanted(self.tracker.update(t, []))

    def flush(self) -> list[Pass]:
        return self._wanted(self.tracker.flush())

    def _wanted(self, passes: list[Pass]) -> list[Pass]:
        d = self.options.direction
        return passes if d == "any" else [p for p in passes if p.direction == d]


@dataclass(frozen=True)
class FileResult:
    passes: tuple[Pass, ...]
    duration: float  # seconds of video read
    frames_decoded: int
    frames_processed: int
    width: int
    height: int
    processing_time: float  # seconds


def read_file(engine: Engine, path: str, options: ChannelOptions) -> FileResult:
    """Every vehicle pass of a video file, at the sample rate, as fast as the engine goes. Raises
    SourceError for a file that is not a video (or has no decodable frame)."""
    t0 = time.perf_counter()
    counters = Counters()
    pipeline = Pipeline(engine, options)
    passes: list[Pass] = []
    last: Frame | None = None
    for frame in VideoSource(path, options.sample_rate, realtime=False, counters=counters).frames():
        passes += pipeline.process(frame)
        last = frame
    if last is None:
        raise SourceError("no video frame could be decoded (not a video, or truncated before its first frame)")
    passes += pipeline.flush()
    h, w = last.image.shape[:2]
    return FileResult(tuple(passes), last.t, counters.decoded, counters.sampled, w, h, time.perf_counter() - t0)


class _Slot:
    """The newest frame, waiting for the engine (at most one)."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._cond = threading.Condition()

    def put(self, frame: Frame) -> bool:
        """False when it replaced a frame the engine had not taken (a dropped frame)."""
        with self._cond:
            dropped = self._frame is not None
            self._frame = frame
            self._cond.notify()
        return not dropped

    def take(self, timeout: float) -> Frame | None:
        with self._cond:
            if self._frame is None:
                self._cond.wait(timeout)
            frame, self._frame = self._frame, None
        return frame


OnPass = Callable[[Channel, Pass], None]
OnEvent = Callable[[ChannelEvent], None]


class ChannelWorker:
    def __init__(self, channel: Channel, engine: Engine, on_pass: OnPass,
                 source: Callable[[threading.Event, Counters], FrameSource] | None = None,
                 regions: tuple[str, ...] = (), stall_after: float = STALL_AFTER,
                 on_state: Callable[[ChannelWorker], None] | None = None) -> None:
        self.channel, self.engine, self.on_pass = channel, engine, on_pass
        self.stall_after, self.on_state = stall_after, on_state
        self.latest = LatestFrame()  # the newest sampled frame, for a live view
        self.options = ChannelOptions.of(channel, regions)
        self._make = source or (lambda stop, counters: VideoSource(
            channel.url, channel.sample_rate, realtime=True, counters=counters, stop=stop,
            read_timeout=max(3 * stall_after, 10.0)))
        self.counters = Counters()
        self.stop_event = threading.Event()
        self._slot = _Slot()
        self._lock = threading.Lock()
        self._state, self._error, self._since = "connecting", None, time.time()
        self.processed = self.dropped = self.reads = 0
        self._threads: list[threading.Thread] = []

    def status(self) -> ChannelStatus:
        with self._lock:
            state, error, since = self._state, self._error, self._since
        c = self.counters
        return ChannelStatus(state, c.decoded, c.sampled, self.processed, self.dropped, self.reads, error, since)

    def _set(self, state: str, error: str | None = None) -> None:
        with self._lock:
            if state == self._state and (error is None or error == self._error):
                return
            changed = state != self._state
            if changed:
                log.info("channel %s: %s%s", self.channel.name, state, f" ({error})" if error else "")
            self._state, self._since = state, time.time()
            if error is not None:
                self._error = error
        if changed and self.on_state is not None and not self.stop_event.is_set():
            try:
                self.on_state(self)
            except Exception:
                log.exception("channel %s: reporting its state failed", self.channel.name)

    def start(self) -> None:
        for target, name in ((self._read, "reader"), (self._process, "engine")):
            t = threading.Thread(target=target, name=f"channel-{self.channel.id}-{name}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        with self._slot._cond:
            self._slot._cond.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _frames(self) -> Iterator[Frame]:
        return Reconnecting(lambda: self._make(self.stop_event, self.counters), self.stop_event, self._set).frames()

    def _read(self) -> None:
        for frame in self._frames():
            self.latest.put(frame)
            if not self._slot.put(frame):
                self.dropped += 1

    def _process(self) -> None:
        pipeline = Pipeline(self.engine, self.options)
        while not self.stop_event.is_set():
            frame = self._slot.take(timeout=0.5)
            if frame is None:
                if self._watch() > 1.0:  # the stream paused or broke: vehicles that left are reported now
                    for p in pipeline.idle(time.time()):
                        self._report(p)
                continue
            if self._state == "stalled":
                self._set("online")
            try:
                passes = pipeline.process(frame)
            except Exception:
                log.exception("channel %s: recognising a frame failed", self.channel.name)
                continue
            self.processed += 1
            for p in passes:
                self._report(p)
        for p in pipeline.flush():  # the channel stops: what is in view still counts
            self._report(p)

    def _report(self, p: Pass) -> None:
        try:
            self.on_pass(self.channel, p)
            self.reads += 1
        except Exception:
            log.exception("channel %s: storing the read of %s failed", self.channel.name, p.plate)

    def _watch(self) -> float:
        """Seconds since the source's last frame; "stalled" when connected and quiet too long."""
        quiet = time.monotonic() - self.counters.last_frame_at
        if self._state == "online" and quiet > self.stall_after:
            self._set("stalled", f"no frame for {quiet:.0f} s")
        return quiet


class ChannelRunner(SyncLoop):
    """One worker per enabled stored channel. `sync()` starts, restarts (changed `updated_at`) and stops
    workers to match the store; a background thread calls it every `every` seconds, so a change made
    by the CLI (another process) is applied too; the API calls `wake()` after a change. `on_event`
    hears each channel added, removed, renamed or given another source, and each change of a
    channel's state (video/status.py)."""

    name = "channels"

    def __init__(self, channels: Callable[[], list[Channel]], engine: Callable[[], Engine], on_pass: OnPass,
                 regions: tuple[str, ...] = (), every: float = 3.0, stall_after: float = STALL_AFTER,
                 on_event: OnEvent | None = None) -> None:
        self._channels, self._engine, self.on_pass = channels, engine, on_pass
        super().__init__(every)
        self.regions, self.stall_after = regions, stall_after
        self.on_event = on_event
        self.workers: dict[int, ChannelWorker] = {}
        self._heard: dict[int, ChannelStatus] = {}  # statuses reported by the process that runs the channel
        self._known: dict[int, Channel] | None = None  # the store as the last sync saw it
        self._lock = threading.Lock()

    def sync(self) -> None:
        with self._lock:
            stored = {c.id: c for c in self._channels()}
            if self._known is not None:  # the first view is the baseline: nothing "changed" at start
                for kind, c in changes(self._known, stored):
                    self._emit(kind, c, self.status(c) if kind != REMOVED else DISABLED)
            self._known = stored
            wanted = {cid: c for cid, c in stored.items() if c.enabled}
            for cid in list(self.workers):
                w = self.workers[cid]
                if cid not in wanted or wanted[cid].updated_at != w.channel.updated_at:
                    w.stop()
                    del self.workers[cid]
                    if cid in stored and cid not in wanted:
                        self._emit(STATUS, stored[cid], DISABLED)
            for cid, c in wanted.items():
                if cid not in self.workers:
                    w = ChannelWorker(c, self._engine(), self.on_pass, regions=self.regions,
                                      stall_after=self.stall_after, on_state=self._state_changed)
                    self.workers[cid] = w
                    self._emit(STATUS, c, w.status())  # connecting
                    w.start()

    def _state_changed(self, worker: ChannelWorker) -> None:
        if self.workers.get(worker.channel.id) is worker:
            self._emit(STATUS, worker.channel, worker.status())

    def _emit(self, kind: str, channel: Channel, status: ChannelStatus) -> None:
        if self.on_event is not None:
            try:
                self.on_event(ChannelEvent(kind, channel, status))
            except Exception:
                log.exception("channels: reporting a change of %s failed", channel.name)

    def status(self, channel: Channel) -> ChannelStatus:
        """The channel's status: its worker's here, else as the process that runs it last reported it."""
        w = self.workers.get(channel.id)
        if w is None or not channel.enabled:
            if not channel.enabled:
                return DISABLED
            return self._heard.get(channel.id) or ChannelStatus("connecting", 0, 0, 0, 0, 0, None, 0.0)
        return w.status()

    def hear(self, event: ChannelEvent) -> None:
        """A channel's status reported by any process (with several, the leader runs the workers: the others
        answer `status` with what it said at the channel's last change)."""
        self._heard[event.channel.id] = event.status

    def latest(self, channel_id: int) -> LatestFrame | None:
        """The newest frame holder of a running channel; None when the channel has no worker."""
        w = self.workers.get(channel_id)
        return w.latest if w is not None else None

    def tick(self) -> None:
        self.sync()

    def stop_workers(self) -> None:
        with self._lock:
            for w in self.workers.values():
                w.stop_event.set()
            for w in self.workers.values():
                w.stop()
            self.workers.clear()
