"""What a fragmented MP4 recording segment holds, read from its boxes (pure: no ffmpeg, no decoding).

A segment written by video/recorder.py is `ftyp` + `moov` (the initialisation: codec, size, no
samples) followed by `moof` + `mdat` pairs, one per group of pictures. A segment cut short (the
recorder killed, the machine off) ends in a partial pair: everything before it still plays.
`scan` finds the end of the initialisation, the end of the last complete fragment and the duration of
the complete fragments (from the track's timescale and each fragment's `tfdt` and sample durations),
which is what the HLS playlists of /watch (byte ranges) and the recording searches need.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_HEADER = 4 * 1024 * 1024  # an initialisation larger than this is not one of ours


@dataclass(frozen=True)
class Layout:
    init_end: int  # bytes of ftyp + moov (0: no initialisation: not playable)
    media_end: int  # end of the last complete moof + mdat pair (== init_end: no fragment yet)
    duration: float  # seconds of video in the complete fragments
    width: int = 0
    height: int = 0

    @property
    def playable(self) -> bool:
        return self.init_end > 0 and self.media_end > self.init_end and self.duration > 0


EMPTY = Layout(0, 0, 0.0)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int, int]]:
    """(type, box start, payload start, box end) of the boxes in data[start:end]; stops at a partial one."""
    off = start
    while off + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, off)
        head = 8
        if size == 1:
            if off + 16 > end:
                return
            size, head = struct.unpack_from(">Q", data, off + 8)[0], 16
        elif size == 0:
            size = end - off
        if size < head or off + size > end:
            return
        yield kind.decode("latin-1"), off, off + head, off + size
        off += size


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for k, _, body, stop in _boxes(data, start, end):
        if k == kind:
            return body, stop
    return None


def _path(data: bytes, start: int, end: int, *kinds: str) -> tuple[int, int] | None:
    span: tuple[int, int] | None = (start, end)
    for kind in kinds:
        span = _child(data, span[0], span[1], kind) if span else None
    return span


def _track(moov: bytes) -> tuple[int, int, int, int]:
    """(track id, timescale, width, height) of the first track."""
    trak = _child(moov, 0, len(moov), "trak")
    if trak is None:
        return 0, 0, 0, 0
    tkhd = _child(moov, trak[0], trak[1], "tkhd")
    mdhd = _path(moov, trak[0], trak[1], "mdia", "mdhd")
    track_id = width = height = timescale = 0
    if tkhd:
        v = moov[tkhd[0]]
        track_id = struct.unpack_from(">I", moov, tkhd[0] + (20 if v == 1 else 12))[0]
        width, height = (x >> 16 for x in struct.unpack_from(">II", moov, tkhd[1] - 8))
    if mdhd:
        v = moov[mdhd[0]]
        timescale = struct.unpack_from(">I", moov, mdhd[0] + (20 if v == 1 else 12))[0]
    return track_id, timescale, width, height


def _default_duration(moov: bytes) -> int:
    trex = _path(moov, 0, len(moov), "mvex", "trex")
    return struct.unpack_from(">I", moov, trex[0] + 12)[0] if trex else 0


def _fragment_end(moof: bytes, fallback: int) -> tuple[int, int] | None:
    """(first decode time, end decode time) of the first track fragment of a `moof`, in timescale units."""
    traf = _child(moof, 0, len(moof), "traf")
    if traf is None:
        return None
    default = fallback
    tfhd = _child(moof, traf[0], traf[1], "tfhd")
    if tfhd:
        flags = int.from_bytes(moof[tfhd[0] + 1:tfhd[0] + 4], "big")
        off = tfhd[0] + 8 + (8 if flags & 0x01 else 0) + (4 if flags & 0x02 else 0)
        if flags & 0x08:
            default = struct.unpack_from(">I", moof, off)[0]
    tfdt = _child(moof, traf[0], traf[1], "tfdt")
    base = 0
    if tfdt:
        base = struct.unpack_from(">Q" if moof[tfdt[0]] == 1 else ">I", moof, tfdt[0] + 4)[0]
    total = 0
    for kind, _, body, _ in _boxes(moof, traf[0], traf[1]):
        if kind != "trun":
            continue
        flags = int.from_bytes(moof[body + 1:body + 4], "big")
        count = struct.unpack_from(">I", moof, body + 4)[0]
        off = body + 8 + (4 if flags & 0x01 else 0) + (4 if flags & 0x04 else 0)
        if not flags & 0x100:
            total += count * default
            continue
        step = 4 * sum(bool(flags & f) for f in (0x100, 0x200, 0x400, 0x800))
        total += sum(struct.unpack_from(">I", moof, off + i * step)[0] for i in range(count))
    return base, base + total


def scan(path: str | Path) -> Layout:
    """The layout of a fragmented MP4 file (EMPTY when it has no initialisation). Reads the headers of
    the boxes and the `moof`s only, never the media."""
    try:
        with open(path, "rb") as f:
            return _scan(f)
    except OSError:
        return EMPTY


def _scan(f: BinaryIO) -> Layout:
    size = f.seek(0, 2)
    off, init_end, media_end = 0, 0, 0
    timescale = default = width = height = 0
    first = last = None
    pending: tuple[int, int] | None = None  # a moof's times, until its mdat is complete
    while off + 8 <= size:
        f.seek(off)
        head = f.read(16)
        box, kind = struct.unpack_from(">I4s", head)
        if box == 1:
            box = struct.unpack_from(">Q", head, 8)[0]
        elif box == 0:
            box = size - off
        if box < 8 or off + box > size:
            break  # cut short here
        name = kind.decode("latin-1")
        if name == "moov" and box <= MAX_HEADER:
            f.seek(off + 8)
            moov = f.read(box - 8)
            _, timescale, width, height = _track(moov)
            default = _default_duration(moov)
            init_end = off + box
        elif name == "moof" and box <= MAX_HEADER:
            f.seek(off + 8)
            pending = _fragment_end(f.read(box - 8), default)
        elif name == "mdat" and pending is not None:
            first = pending[0] if first is None else first
            last = pending[1]
            media_end, pending = off + box, None
        off += box
    if not init_end or not timescale:
        return EMPTY
    duration = (last - first) / timescale if first is not None and last is not None else 0.0
    return Layout(init_end, max(media_end, init_end), duration, width, height)
