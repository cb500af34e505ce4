"""Exporting recorded video: a time range of a channel as MP4 files (the TS-API `/wsapi/dataExport`).

`plan` groups the channel's segments in the range into files of at most `media_size` bytes (whole
segments; one segment per file at least), `concat_command` joins one group with ffmpeg's concat demuxer
without re-encoding (`-c copy`), trimmed to the range with `inpoint` / `outpoint` (a copy starts at the
key frame at or before the range's start), into an ordinary MP4 (`+faststart`: it plays while it
downloads). ffmpeg reports its progress on stdout (`-progress pipe:1`, `out_time_us=`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from platehub.video.recordings import Segment


@dataclass(frozen=True)
class ExportFile:
    channel_id: int
    segments: tuple[Segment, ...]
    since: datetime  # the part of the range this file covers
    until: datetime

    @property
    def seconds(self) -> float:
        return max(0.0, (self.until - self.since).total_seconds())

    def name(self) -> str:
        """`CH1.2018-07-27T09.11.19.mp4`, as the guide's (UTC)."""
        return f"CH{self.channel_id}.{self.since:%Y-%m-%dT%H.%M.%S}.mp4"


def plan(channel_id: int, segments: list[Segment], since: datetime, until: datetime,
         media_size: int = 0) -> list[ExportFile]:
    """The files of one channel's export of [since, until) (segments overlapping it, in time order)."""
    groups: list[list[Segment]] = []
    size = 0
    for s in segments:
        if not groups or (media_size and size + s.size > media_size):
            groups.append([])
            size = 0
        groups[-1].append(s)
        size += s.size
    return [ExportFile(channel_id, tuple(g), max(since, g[0].start), min(until, g[-1].end)) for g in groups]


def concat_list(f: ExportFile) -> str:
    """ffmpeg's concat demuxer script for a file: each segment, the first and last trimmed to the range."""
    lines = ["ffconcat version 1.0"]
    for s in f.segments:
        path = str(s.path).replace("'", "'\\''")
        lines.append(f"file '{path}'")
        start = (f.since - s.start).total_seconds()
        end = (f.until - s.start).total_seconds()
        if start > 0:
            lines.append(f"inpoint {start:.3f}")
        if end < s.layout.duration:
            lines.append(f"outpoint {end:.3f}")
    return "\n".join(lines) + "\n"


def concat_command(ffmpeg: str, script: Path, out: Path) -> list[str]:
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(script),
            "-map", "0:v:0", "-c", "copy", "-movflags", "+faststart", "-progress", "pipe:1", "-y", str(out)]
