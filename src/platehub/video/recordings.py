"""The recordings on disk: the files are the record (no database rows to drift from them).

Layout: `<data>/recordings/<channel id>/<YYYYMMDD>/<YYYYMMDD>T<HHMMSS>Z.mp4`, one fragmented MP4 per
segment, named by ffmpeg (video/recorder.py) after the UTC second the segment started. A segment's
end is its start plus the duration of its complete fragments (video/mp4.py), so a segment cut short by
a crash counts for what it holds. A file id (the TS-API guide's `fileId`) is `channel id × 10¹⁰ + the
start's epoch second`: an integer that names the file for ever and sorts a channel's files in time.

`without_events` picks what event recording drops (segments with no vehicle pass near them).
`Recordings.prune` is the retention: by age (days) and by a disk cap over every channel, oldest first
(by start time, across channels); the newest segment of each channel (possibly being written) is never
removed. Blocking (file system): call off the event loop.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from platehub.video.mp4 import Layout, scan

log = logging.getLogger("platehub.video")

NAME = re.compile(r"^(\d{8}T\d{6})Z\.mp4$")
FFMPEG_NAME = "%Y%m%d/%Y%m%dT%H%M%SZ.mp4"  # strftime, in UTC (the recorder runs ffmpeg with TZ=UTC)
ID_BASE = 10**10
GB = 1024**3


@dataclass(frozen=True)
class Segment:
    channel_id: int
    path: Path
    start: datetime  # UTC
    size: int  # bytes now
    layout: Layout

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.layout.duration)

    @property
    def file_id(self) -> int:
        return file_id(self.channel_id, self.start)

    @property
    def name(self) -> str:
        return self.path.name


def file_id(channel_id: int, start: datetime) -> int:
    return channel_id * ID_BASE + int(start.timestamp())


def split_id(fid: int) -> tuple[int, datetime]:
    """(channel id, start) of a file id; ValueError for one that cannot be."""
    if fid < ID_BASE:
        raise ValueError("not a file id")
    return fid // ID_BASE, datetime.fromtimestamp(fid % ID_BASE, UTC)


def _start(name: str) -> datetime | None:
    m = NAME.match(name)
    return datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=UTC) if m else None


def days(starts: Iterable[datetime], zone: tzinfo) -> list[date]:
    """The days (in `zone`) on which segments started, in order."""
    return sorted({s.astimezone(zone).date() for s in starts})


def minutes(segments: Iterable[Segment], zone: tzinfo, since: datetime, until: datetime) -> list[datetime]:
    """The minutes (their start, in `zone`) within [since, until) that hold some recorded video."""
    out: set[datetime] = set()
    for s in segments:
        t = max(s.start, since).astimezone(zone).replace(second=0, microsecond=0)
        end = min(s.end, until)
        while t < end:
            out.add(t)
            t += timedelta(minutes=1)
    return sorted(out)


def without_events(segments: Iterable[Segment], passes: Iterable[tuple[datetime, datetime]], before: float,
                   after: float) -> list[Segment]:
    """The segments that hold no moment from `before` seconds ahead of a vehicle pass to `after` seconds
    past it (event recording keeps the others)."""
    windows = [(a - timedelta(seconds=before), b + timedelta(seconds=after)) for a, b in passes]
    return [s for s in segments if not any(s.start < w_end and s.end > w_start for w_start, w_end in windows)]


@dataclass(frozen=True)
class PruneCounts:
    files: int = 0
    bytes: int = 0


class Recordings:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._layouts: dict[Path, tuple[int, float, Layout]] = {}  # by (size, mtime): finished files never rescan
        self._lock = threading.Lock()

    def channel_dir(self, channel_id: int) -> Path:
        return self.root / str(int(channel_id))

    def pattern(self, channel_id: int) -> str:
        """ffmpeg's segment file name template (strftime) for the channel."""
        return str(self.channel_dir(channel_id) / FFMPEG_NAME)

    def prepare(self, channel_id: int, now: datetime) -> None:
        """Make today's and tomorrow's directories (UTC): ffmpeg writes into them but makes none."""
        for day in (now, now + timedelta(days=1)):
            (self.channel_dir(channel_id) / f"{day:%Y%m%d}").mkdir(parents=True, exist_ok=True)

    def channels(self) -> list[int]:
        if not self.root.is_dir():
            return []
        return sorted(int(p.name) for p in self.root.iterdir() if p.is_dir() and p.name.isdigit())

    def _layout(self, path: Path, st: os.stat_result) -> Layout:
        with self._lock:
            known = self._layouts.get(path)
        if known and known[0] == st.st_size and known[1] == st.st_mtime:
            return known[2]
        layout = scan(path)
        with self._lock:
            self._layouts[path] = (st.st_size, st.st_mtime, layout)
        return layout

    def _day_dirs(self, channel_id: int, first: date | None, last: date | None) -> list[Path]:
        base = self.channel_dir(channel_id)
        if not base.is_dir():
            return []
        out = []
        for d in sorted(base.iterdir()):
            if not (d.is_dir() and len(d.name) == 8 and d.name.isdigit()):
                continue
            day = date(int(d.name[:4]), int(d.name[4:6]), int(d.name[6:]))
            if (first is None or day >= first) and (last is None or day <= last):
                out.append(d)
        return out

    def segments(self, channel_id: int, since: datetime | None = None, until: datetime | None = None,
                 playable: bool = True) -> list[Segment]:
        """The channel's segments overlapping [since, until), oldest first (playable ones only, unless
        told otherwise)."""
        first = (since - timedelta(days=1)).date() if since else None  # a segment may start the day before
        out = []
        for d in self._day_dirs(channel_id, first, until.date() if until else None):
            for entry in sorted(os.scandir(d), key=lambda e: e.name):
                start = _start(entry.name)
                if start is None or (until is not None and start >= until):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                seg = Segment(channel_id, Path(entry.path), start, st.st_size, self._layout(Path(entry.path), st))
                if playable and not seg.layout.playable:
                    continue
                if since is not None and seg.end <= since:
                    continue
                out.append(seg)
        return out

    def starts(self, channel_id: int, since: datetime | None = None, until: datetime | None = None) -> list[datetime]:
        """The start of each of the channel's segments in [since, until), from the names alone (no file is
        read: fast over months)."""
        first = since.astimezone(UTC).date() if since else None
        last = until.astimezone(UTC).date() if until else None
        out = []
        for d in self._day_dirs(channel_id, first, last):
            for name in sorted(os.listdir(d)):
                start = _start(name)
                if start is not None and (since is None or start >= since) and (until is None or start < until):
                    out.append(start)
        return out

    def by_id(self, fid: int) -> Segment | None:
        try:
            channel_id, start = split_id(fid)
        except (ValueError, OverflowError, OSError):
            return None
        path = self.channel_dir(channel_id) / f"{start:%Y%m%d}" / f"{start:%Y%m%dT%H%M%S}Z.mp4"
        try:
            st = path.stat()
        except OSError:
            return None
        return Segment(channel_id, path, start, st.st_size, self._layout(path, st))

    def by_name(self, channel_id: int, name: str) -> Segment | None:
        start = _start(name)
        if start is None:
            return None
        seg = self.by_id(file_id(channel_id, start))
        return seg if seg is not None and seg.name == name else None

    def repair(self, channel_id: int) -> Segment | None:
        """Cut the channel's newest segment back to its last complete fragment (call it only while no
        ffmpeg writes it: before the recorder starts one). A segment whose writer was killed ends in a
        partial fragment; players stop there, decoders complain: afterwards it ends cleanly. One with no
        complete fragment is removed. The segment as it is now, or None."""
        days = self._day_dirs(channel_id, None, None)
        names = sorted((e for e in os.scandir(days[-1]) if _start(e.name)), key=lambda e: e.name) if days else []
        if not names:
            return None
        path = Path(names[-1].path)
        layout = scan(path)
        size = path.stat().st_size
        if size > layout.media_end:
            if layout.media_end <= layout.init_end:
                log.info("recordings: %s held no complete fragment: removed", path)
                path.unlink()
                return None
            log.info("recordings: %s cut back from %d to %d bytes (its writer was killed)", path, size,
                     layout.media_end)
            os.truncate(path, layout.media_end)
        return self.by_id(file_id(channel_id, _start(path.name)))  # type: ignore[arg-type]

    def usage(self) -> int:
        """Bytes of every segment of every channel."""
        return sum(s.size for c in self.channels() for s in self.segments(c, playable=False))

    # ---- retention ----
    def prune(self, max_days: float = 0.0, cap_gb: float = 0.0, now: datetime | None = None) -> PruneCounts:
        """Remove segments older than `max_days` (by their end), then the oldest until all of them fit in
        `cap_gb`; 0 = no limit. The newest segment of each channel stays."""
        now = now or datetime.now(UTC)
        every = [s for c in self.channels() for s in self._removable(c)]
        every.sort(key=lambda s: (s.start, s.channel_id))
        gone: list[Segment] = []
        if max_days:
            cutoff = now - timedelta(days=max_days)
            gone = [s for s in every if s.end < cutoff]
        if cap_gb:
            total = self.usage() - sum(s.size for s in gone)
            over = total - int(cap_gb * GB)
            for s in every:
                if over <= 0:
                    break
                if s not in gone:
                    gone.append(s)
                    over -= s.size
        return self._remove(gone)

    def remove(self, segments: Iterable[Segment]) -> PruneCounts:
        return self._remove(segments)

    def _removable(self, channel_id: int) -> list[Segment]:
        return self.segments(channel_id, playable=False)[:-1]

    def _remove(self, segments: Iterable[Segment]) -> PruneCounts:
        files = size = 0
        for s in segments:
            try:
                s.path.unlink()
            except FileNotFoundError:
                continue
            with self._lock:
                self._layouts.pop(s.path, None)
            files, size = files + 1, size + s.size
            try:
                s.path.parent.rmdir()  # the day's last file: its directory goes too
            except OSError:
                pass
        if files:
            log.info("recordings: %d segment(s) removed (%.1f MB)", files, size / 1e6)
        return PruneCounts(files, size)
