"""The recognition pipeline: detector → plate crops → text rows → recogniser → plate rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platehub.engine import layout, rules
from platehub.engine.detector import PlateDetector, YoloPlateDetector
from platehub.engine.ocr import PPOCRRecognizer, TextRecognizer
from platehub.engine.textdet import TextDetector
from platehub.engine.types import CharProb, Detection, EngineOptions, PlateResult, TextLine


@dataclass(frozen=True)
class ModeProfile:
    """What each Snapshot `mode` means for this engine."""

    detector_size: int  # detector input side (letterbox)
    min_score_cap: float  # detector floor never above this, whatever threshold_d says
    max_plates: int
    text_detection: bool  # second detection step: text lines inside each plate crop
    candidates: int


MODES = {
    # plate detection, then text-line detection inside each plate (two detection steps)
    "regular": ModeProfile(704, 1.0, 10, True, 10),
    # one detection step: the recogniser reads the whole padded plate box as one row
    "fast": ModeProfile(512, 1.0, 10, False, 10),
    # more detector candidates and more text candidates: misses fewer plates, more false positives
    "redaction": ModeProfile(800, 0.1, 50, True, 20),
}

PAD_X, PAD_Y = 0.10, 0.20  # context around the detector box for the text detector
FAST_PAD_X, FAST_PAD_Y = 0.03, 0.06


def _join(lines: list[TextLine]) -> TextLine:
    chars: tuple[CharProb, ...] = tuple(c for ln in lines for c in ln.chars)
    return TextLine(chars)


def _crop(img: np.ndarray, det: Detection, px: float, py: float) -> np.ndarray | None:
    h, w = img.shape[:2]
    bw, bh = det.x2 - det.x1, det.y2 - det.y1
    x1, y1 = int(max(0, det.x1 - px * bw)), int(max(0, det.y1 - py * bh))
    x2, y2 = int(min(w, np.ceil(det.x2 + px * bw))), int(min(h, np.ceil(det.y2 + py * bh)))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    return img[y1:y2, x1:x2]


class Engine:
    def __init__(self, detector: PlateDetector, recognizer: TextRecognizer, text_detector: TextDetector) -> None:
        self.detector = detector
        self.recognizer = recognizer
        self.text_detector = text_detector

    @classmethod
    def load(cls, threads: int = 1) -> Engine:
        """The default models, loaded once; the sessions are safe to share between threads."""
        return cls(YoloPlateDetector(threads=threads), PPOCRRecognizer(threads=threads), TextDetector(threads=threads))

    def _rows(self, crop: np.ndarray, profile: ModeProfile) -> tuple[list[list[np.ndarray]], int]:
        """The plate's text rows as image pieces (each row: its lines left to right)."""
        if not profile.text_detection:
            return [[crop]], 0
        found, main = layout.rows(self.text_detector.detect(crop))
        if not found:
            return [[crop]], 0
        pieces = [[p for p in (layout.crop_quad(crop, ln.quad) for ln in row) if p is not None] for row in found]
        if not pieces[main]:
            return [[crop]], 0
        return [row for row in pieces if row], main

    def recognize(self, img: np.ndarray, options: EngineOptions | None = None) -> list[PlateResult]:
        options = options or EngineOptions()
        profile = MODES.get(options.mode, MODES["regular"])
        min_score = min(options.threshold_d, profile.min_score_cap)
        detections = self.detector.detect(img, profile.detector_size, min_score)[: profile.max_plates]
        plates = []
        for det in detections:
            pad = (PAD_X, PAD_Y) if profile.text_detection else (FAST_PAD_X, FAST_PAD_Y)
            crop = _crop(img, det, *pad)
            if crop is not None:
                plates.append((det, *self._rows(crop, profile)))
        return self._read(plates, options, profile)

    def read_plate(self, crop: np.ndarray, options: EngineOptions | None = None) -> PlateResult | None:
        """Read an image that is already a plate (no plate detection)."""
        options = options or EngineOptions()
        profile = MODES.get(options.mode, MODES["regular"])
        h, w = crop.shape[:2]
        whole = Detection(0.0, 0.0, float(w), float(h), 1.0)
        found = self._read([(whole, *self._rows(crop, profile))], options, profile)
        return found[0] if found else None

    def _read(self, plates, options: EngineOptions, profile: ModeProfile) -> list[PlateResult]:
        guide = rules.guide_for(options)
        # one recogniser call for every text piece of every plate
        pieces = [p for _, rows, _ in plates for row in rows for p in row]
        lines = iter(self.recognizer.recognize(pieces))
        results = []
        for det, rows, main in plates:
            row_lines = [_join([next(lines) for _ in row]) for row in rows]
            cands = rules.candidates(row_lines, main, guide, profile.candidates)
            if not cands or cands[0].score < options.threshold_o:
                continue
            region, region_score = rules.infer_region(cands[0].plate, options.regions)
            results.append(PlateResult(
                box=det.box(),
                dscore=round(det.score, 3),
                plate=cands[0].plate,
                score=cands[0].score,
                candidates=tuple(cands),
                region=region,
                region_score=region_score,
                rows=len(rows),
            ))
        return results
