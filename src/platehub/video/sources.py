"""Frames from a camera or a file, sampled at a channel's rate, behind one tiny interface.

OpenCV's FFmpeg backend (opencv-python-headless, already a dependency for images) opens `rtsp://`
(over TCP: `OPENCV_FFMPEG_CAPTURE_OPTIONS=rtsp_transport;tcp` unless the environment says otherwise),
`http(s)://` MJPEG and H.264 streams, and video files; open and read time out, so a dead camera never
blocks a worker for ever. Every decoded frame is counted; only the frames due at the sample rate are
converted to images (`grab` for the rest). `Reconnecting` reopens a source that failed or ended, with
exponential backoff, and reports each change of state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from platehub.core.redact import redact_url as redact

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
import cv2  # reads the capture options at each open: set before any open

log = logging.getLogger("platehub.video")


@dataclass(frozen=True)
class Frame:
    t: float  # seconds: the wall clock (epoch) for live sources, the position for a file read unpaced
    image: np.ndarray = field(compare=False, repr=False)


class FrameSource(Protocol):
    def frames(self) -> Iterator[Frame]:
        """Sampled frames until the stream ends (returns) or fails (raises SourceError)."""
        ...


class SourceError(Exception):
    """The source could not be opened or stopped giving frames."""


@dataclass
class Counters:
    """Written by one source thread, read by anyone (plain ints: no lock needed for a status page)."""

    decoded: int = 0  # frames the source gave
    sampled: int = 0  # of them, frames due at the sample rate (offered to the engine)
    last_frame_at: float = 0.0  # monotonic time of the last decoded frame


def is_file(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


class VideoSource:
    """One opening of `url`, sampled at `sample_rate` frames a second. `realtime`: a file is played at
    its own speed (a channel on a file behaves as a camera); else as fast as it is consumed."""

    def __init__(self, url: str, sample_rate: float, realtime: bool = True, open_timeout: float = 10.0,
                 read_timeout: float = 10.0, counters: Counters | None = None,
                 stop: threading.Event | None = None) -> None:
        self.url = url.removeprefix("file://") if url.startswith("file://") else url
        self.file = is_file(url)
        self.interval = 1.0 / sample_rate if sample_rate > 0 else 0.0
        self.realtime = realtime or not self.file
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.counters = counters or Counters()
        self.stop = stop or threading.Event()

    def _open(self) -> cv2.VideoCapture:
        if self.file and not Path(self.url).is_file():
            raise SourceError(f"no such file: {self.url}")
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000),
        ])
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"could not open {redact(self.url)} (not a video, or no answer)")
        return cap

    def frames(self) -> Iterator[Frame]:
        cap = self._open()
        try:
            yield from self._read(cap)
        finally:
            cap.release()

    def _read(self, cap: cv2.VideoCapture) -> Iterator[Frame]:
        start = time.monotonic()
        due = 0.0
        while not self.stop.is_set():
            if not cap.grab():
                if self.file:
                    return  # the end of the file (or of what of it decodes)
                raise SourceError("the stream ended or timed out")
            c = self.counters
            c.decoded += 1
            c.last_frame_at = time.monotonic()
            pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000 if self.file else c.last_frame_at - start
            if pos + 1e-6 < due:
                continue
            due = max(due + self.interval, pos)  # never a burst to catch up
            ok, image = cap.retrieve()
            if not ok or image is None:
                continue
            if self.file and self.realtime:  # a file as a camera: at its own speed
                wait = start + pos - time.monotonic()
                if wait > 0 and self.stop.wait(wait):
                    return
            c.sampled += 1
            yield Frame(time.time() if self.realtime else pos, image)


class Reconnecting:
    """Frames of a source opened again and again: after a failure or the end of the stream it waits
    (1, 2, 4 … up to `max_backoff` seconds; back to 1 once frames came) and reopens, until `stop`.
    `on_state(state, error)` hears "connecting", "online" (first frame) and "offline"."""

    def __init__(self, make: Callable[[], FrameSource], stop: threading.Event,
                 on_state: Callable[[str, str | None], None], max_backoff: float = 30.0) -> None:
        self.make, self.stop, self.on_state, self.max_backoff = make, stop, on_state, max_backoff

    def frames(self) -> Iterator[Frame]:
        backoff = 1.0
        while not self.stop.is_set():
            self.on_state("connecting", None)
            error = "the stream ended"
            try:
                got = False
                for frame in self.make().frames():
                    if not got:
                        got, backoff = True, 1.0
                        self.on_state("online", None)
                    yield frame
            except SourceError as e:
                error = str(e)
            except Exception as e:  # a decoder error must not end the channel
                log.exception("video source failed")
                error = f"{type(e).__name__}: {e}"
            if self.stop.is_set():
                return
            self.on_state("offline", error)
            if self.stop.wait(backoff):
                return
            backoff = min(backoff * 2, self.max_backoff)

