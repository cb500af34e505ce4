"""Data crossing the engine's boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

VEHICLE_TYPES = ("Big Truck", "Bus", "Motorcycle", "Pickup Truck", "Sedan", "SUV", "Van", "Unknown")


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Box:
    """A plate's box in image pixels (the `box` of the APIs' JSON)."""

    xmin: int
    ymin: int
    xmax: int
    ymax: int

    @classmethod
    def zero(cls) -> Box:
        return cls(0, 0, 0, 0)

    @property
    def xyxy(self) -> tuple[int, int, int, int]:
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    def as_dict(self) -> dict[str, int]:
        return {"xmin": self.xmin, "ymin": self.ymin, "xmax": self.xmax, "ymax": self.ymax}


@dataclass(frozen=True)
class Detection:
    """A plate found by a detector: box in image pixels and its confidence."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)

    def box(self) -> Box:
        return Box(int(round(self.x1)), int(round(self.y1)), int(round(self.x2)), int(round(self.y2)))


@dataclass(frozen=True)
class CharProb:
    """One recognised character with its probability and the next-best alternatives."""

    char: str
    prob: float
    alternatives: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class TextLine:
    chars: tuple[CharProb, ...]
    rows: int = 1  # text rows the characters came from (top row first)

    @property
    def text(self) -> str:
        return "".join(c.char for c in self.chars)

    @property
    def score(self) -> float:
        return sum(c.prob for c in self.chars) / len(self.chars) if self.chars else 0.0


@dataclass(frozen=True)
class Candidate:
    plate: str
    score: float


@dataclass(frozen=True)
class Vehicle:
    """The vehicle around a plate. platehub ships no vehicle model yet: always the spec's
    "not found" value (type Unknown, score 0, zero box)."""

    type: str = "Unknown"
    score: float = 0.0
    box: Box = field(default_factory=Box.zero)


@dataclass(frozen=True)
class PlateResult:
    box: Box
    dscore: float
    plate: str  # normalised upper-case text
    score: float
    candidates: tuple[Candidate, ...]
    region: str
    region_score: float
    vehicle: Vehicle = field(default_factory=Vehicle)
    rows: int = 1  # text rows read on the plate


@dataclass(frozen=True)
class EngineOptions:
    """The Snapshot API's engine options (`regions` plus the `config` JSON)."""

    regions: tuple[str, ...] = ()
    region_strict: bool = False
    text_formats: tuple[str, ...] = ()
    threshold_d: float = 0.2  # detection score floor (Plate Recognizer's documented default)
    threshold_o: float = 0.6  # OCR score floor (idem)
    mode: str = "regular"  # regular | fast | redaction
    detection_rule: str = "normal"  # normal | strict
    detection_mode: str = "plate"  # plate | vehicle
    mmc: bool = False
