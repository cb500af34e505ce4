"""Plates followed across the frames of one video, and one `Pass` per vehicle pass. Pure: no I/O, no
clock; the caller gives every processed frame's time (seconds, any origin, increasing).

- A plate seen in a frame (`Sighting`) joins the track it continues: the nearest by box (its centre
  moved at most `max_jump` plate widths since the track's last sighting, or the boxes overlap), with
  the more similar text winning a tie; otherwise it starts a track.
- A track ends when it was missed in at least two processed frames and for `lost_after` seconds.
  It is then reported, unless it was already: one `Pass` per track, whose text is the score-weighted
  vote of its sightings and whose best sighting (highest score among those of that text) carries
  the frame to store.
- Plate Recognizer Stream's settings, with its meaning and defaults: `max_prediction_delay` — a track
  still in view is reported at most this long after it was first seen (then followed on, not
  reported again); `memory_decay` — a text reported is remembered this long after it was last seen:
  a new track of the same text (or one within `memory_edits` character edits of it, look-alike
  characters free: the same plate misread) within that time is the same vehicle (a parked one, or
  one whose plate was hidden for a moment) and is not reported. A parked vehicle, seen again and again, keeps
  its memory fresh and is reported once.
- A track needs `min_sightings` sightings to be reported (one stray read is not a vehicle).
- Direction by the track's vertical motion: "in" when the plate moved down the image (towards a
  camera looking at oncoming traffic), "out" when up, None when it moved less than half its height.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from platehub.core.similar import edits

Xyxy = tuple[float, float, float, float]


@dataclass(frozen=True)
class Sighting:
    """One plate in one frame, as the engine read it."""

    t: float  # the frame's time, seconds
    box: Xyxy  # image pixels
    text: str
    score: float  # OCR confidence 0..1
    dscore: float = 0.0  # detection confidence 0..1
    ref: Any = field(default=None, compare=False, repr=False)  # the caller's: e.g. the frame, for storing


@dataclass(frozen=True)
class TrackerSettings:
    max_prediction_delay: float = 6.0  # Stream's default
    memory_decay: float = 300.0  # Stream's default
    lost_after: float = 1.5
    min_sightings: int = 2
    max_jump: float = 2.0  # plate widths the centre may move between two sightings of one track
    memory_edits: int = 1  # a remembered text this close (character edits, look-alikes free) is the same plate


@dataclass(frozen=True)
class Pass:
    """One vehicle pass: what is reported."""

    track: int
    plate: str
    score: float  # mean OCR score of the sightings of the winning text
    candidates: tuple[tuple[str, float], ...]  # texts by their share of the vote, best first
    best: Sighting  # the sighting to store (its frame, box, time)
    first_seen: float
    last_seen: float
    sightings: int
    direction: str | None  # "in" | "out" | None


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def _centre(b: Xyxy) -> tuple[float, float]:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def _overlaps(a: Xyxy, b: Xyxy) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


class _Track:
    def __init__(self, number: int, s: Sighting, max_jump: float) -> None:
        self.number = number
        self.max_jump = max_jump
        self.first, self.last = s, s
        self.misses = 0
        self.count = 0
        self.votes: dict[str, float] = {}
        self.texts: dict[str, list[float]] = {}
        self.best: dict[str, Sighting] = {}
        self.reported: str | None = None  # the text reported (or suppressed as remembered)
        self.add(s)

    def add(self, s: Sighting) -> None:
        self.last, self.misses, self.count = s, 0, self.count + 1
        if s.text:
            self.votes[s.text] = self.votes.get(s.text, 0.0) + s.score
            self.texts.setdefault(s.text, []).append(s.score)
            if s.text not in self.best or s.score > self.best[s.text].score:
                self.best[s.text] = s

    def distance(self, s: Sighting) -> float | None:
        """How far `s` is from this track's last sighting, in plate widths; None: too far to continue it."""
        (x0, y0), (x1, y1) = _centre(self.last.box), _centre(s.box)
        width = max(self.last.box[2] - self.last.box[0], s.box[2] - s.box[0], 1.0)
        d = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / width
        return d if d <= self.max_jump or _overlaps(self.last.box, s.box) else None

    def as_pass(self) -> Pass | None:
        if not self.votes:
            return None
        total = sum(self.votes.values())
        ranked = sorted(self.votes.items(), key=lambda kv: (-kv[1], kv[0]))
        plate = ranked[0][0]
        scores = self.texts[plate]
        dy = _centre(self.last.box)[1] - _centre(self.first.box)[1]
        height = max(self.first.box[3] - self.first.box[1], 1.0)
        direction = "in" if dy > height / 2 else "out" if dy < -height / 2 else None
        return Pass(self.number, plate, sum(scores) / len(scores),
                    tuple((text, round(v / total, 4)) for text, v in ranked), self.best[plate],
                    self.first.t, self.last.t, self.count, direction)


class Tracker:
    """Feed it every processed frame in time order: `update(t, sightings)` returns the passes to report
    now; `flush()` at the end of a stream returns the rest."""

    def __init__(self, settings: TrackerSettings | None = None) -> None:
        self.settings = settings or TrackerSettings()
        self._tracks: list[_Track] = []
        self._memory: dict[str, float] = {}  # text reported → when its vehicle was last seen
        self._next = 1
        self.suppressed = 0  # tracks not reported: remembered texts (parked vehicles, repeats)

    def update(self, t: float, sightings: Iterable[Sighting]) -> list[Pass]:
        out: list[Pass] = []
        matched: set[int] = set()
        for s in sorted(sightings, key=lambda s: -s.score):
            track = self._match(s, matched)
            if track is None:
                track = _Track(self._next, s, self.settings.max_jump)
                self._next += 1
                self._tracks.append(track)
            else:
                track.add(s)
            matched.add(track.number)
        kept = []
        for track in self._tracks:
            if track.number not in matched:
                track.misses += 1
            if track.misses >= 2 and t - track.last.t >= self.settings.lost_after:
                out += self._close(track)
                continue
            kept.append(track)
            if not track.reported and t - track.first.t >= self.settings.max_prediction_delay:
                out += self._report(track)
        self._tracks = kept
        return out

    def flush(self) -> list[Pass]:
        out = []
        for track in self._tracks:
            out += self._close(track)
        self._tracks = []
        return out

    def _match(self, s: Sighting, taken: set[int]) -> _Track | None:
        best, best_cost = None, None
        for track in self._tracks:
            if track.number in taken:
                continue
            d = track.distance(s)
            if d is None:
                continue
            cost = d - similarity(s.text, track.last.text)
            if best_cost is None or cost < best_cost:
                best, best_cost = track, cost
        return best

    def _report(self, track: _Track) -> list[Pass]:
        """The track's pass, once, unless too short or its text is remembered."""
        if track.reported or track.count < self.settings.min_sightings:
            return []
        p = track.as_pass()
        if p is None:
            return []
        track.reported = p.plate
        remembered = self._remembered(p.plate, p.first_seen)
        self._memory[p.plate] = p.last_seen
        self._forget(p.last_seen)
        if remembered is not None:
            self._memory[remembered] = max(self._memory[remembered], p.last_seen)
            self.suppressed += 1
            return []
        return [p]

    def _remembered(self, plate: str, when: float) -> str | None:
        """The remembered text `plate` is a repeat of (seen within memory_decay before `when`), if any."""
        decay, limit = self.settings.memory_decay, self.settings.memory_edits
        if when - self._memory.get(plate, float("-inf")) <= decay:
            return plate
        for text, seen in self._memory.items():
            if when - seen <= decay and edits(plate, text, limit=limit) <= limit:
                return text
        return None

    def _close(self, track: _Track) -> list[Pass]:
        out = self._report(track)
        if track.reported:
            self._memory[track.reported] = max(self._memory.get(track.reported, track.last.t), track.last.t)
        return out

    def _forget(self, now: float) -> None:
        if len(self._memory) > 1000:
            decay = self.settings.memory_decay
            self._memory = {k: v for k, v in self._memory.items() if now - v <= decay}
