"""The newest frame a channel's reader took, for a live view (`GET /v1/channels/{id}/frame.jpg`).

The reader only keeps a reference to its newest sampled frame (no copy, no encoding per frame: a
source's frames are new arrays, never written to afterwards). A viewer's request encodes it to JPEG;
the JPEG is kept until a newer frame comes, so many viewers of one channel cost one encoding a frame."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from platehub.engine.image import encode_jpeg
from platehub.video.sources import Frame

QUALITY = 80


@dataclass(frozen=True)
class Jpeg:
    data: bytes
    t: float  # the frame's time (epoch seconds for a live source)


class LatestFrame:
    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._jpeg: tuple[Frame, Jpeg] | None = None
        self._lock = threading.Lock()  # one encoding at a time; put() never waits for it

    def put(self, frame: Frame) -> None:
        self._frame = frame  # an attribute store: atomic, no lock on the reader's path

    def jpeg(self) -> Jpeg | None:
        """The newest frame as JPEG; None before the first frame."""
        frame = self._frame
        if frame is None:
            return None
        with self._lock:
            if self._jpeg is None or self._jpeg[0] is not frame:
                self._jpeg = (frame, Jpeg(encode_jpeg(frame.image, QUALITY), frame.t))
            return self._jpeg[1]
