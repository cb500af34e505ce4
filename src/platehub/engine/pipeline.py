"""The recognition pipeline: detector → plate crops → text rows → recogniser → plate rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platehub.engine import layout, rules
from platehub.engine.detector import PlateDetector, YoloPlateDetector
from platehub.engine.ocr import PPOCRRecognizer, TextRecognizer
from platehub.engine.textdet import TextDetector
from platehub.engine.types import CharProb, Detection, EngineOptions, PlateResult, TextLine, iou


@dataclass(frozen=True)
class ModeProfile:
    """What each Snapshot `mode` means for this engine."""

    detector_sizes: tuple[int, ...]  # detector inputs: the image's long side is scaled to each
    quick_detector: bool  # use the engine's quick (int8) detector when it has one
    min_score_cap: float  # detector floor never above this, whatever threshold_d says
    max_plates: int
    second_pass: str  # "never" | "if-none" (colour pass when the contrast pass finds nothing) | "always"
    candidates: int


MODES = {
    # a contrast-equalised detection pass; a second, colour pass only when the first finds nothing
    "regular": ModeProfile((704,), False, 1.0, 10, "if-none", 10),
    # always exactly one detection pass, on a smaller input, with the int8 detector (2.2x faster;
    # on the dev set one Romanian plate less than fp32 at 704, which is why regular keeps fp32)
    "fast": ModeProfile((512,), True, 1.0, 10, "never", 10),
    # both passes at two input sizes, a lower floor: misses fewer plates, more false positives
    "redaction": ModeProfile((704, 960), False, 0.1, 50, "always", 20),
}

PAD_X, PAD_Y = 0.10, 0.20  # context around the detector box for the text detector
BOX_PAD_X, BOX_PAD_Y = 0.03, 0.06  # the whole-box reading: the detector box, barely padded


def _merge(a: list[Detection], b: list[Detection], overlap: float = 0.5) -> list[Detection]:
    """Both passes' detections, a box of `b` dropped where it overlaps one of `a`; best first."""
    kept = a + [d for d in b if all(iou(d.xyxy, k.xyxy) < overlap for k in a)]
    return sorted(kept, key=lambda d: -d.score)


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
    def __init__(self, detector: PlateDetector, recognizer: TextRecognizer, text_detector: TextDetector,
                 quick_detector: PlateDetector | None = None) -> None:
        self.detector = detector
        self.quick_detector = quick_detector or detector
        self.recognizer = recognizer
        self.text_detector = text_detector

    @classmethod
    def load(cls, threads: int = 1) -> Engine:
        """The default models, loaded once; the sessions are safe to share between threads."""
        return cls(YoloPlateDetector(threads=threads), PPOCRRecognizer(threads=threads), TextDetector(threads=threads),
                   YoloPlateDetector("plate_detector_int8.onnx", threads=threads))

    def _rows(self, crop: np.ndarray) -> tuple[list[list[np.ndarray]], int]:
        """The plate's text rows as image pieces (each row: its lines left to right); ([], 0) when
        the text detector finds no line."""
        found, main = layout.rows(self.text_detector.detect(crop))
        pieces = [[p for p in (layout.crop_quad(crop, ln.quad) for ln in row) if p is not None] for row in found]
        if not pieces or not pieces[main]:
            return [], 0
        main -= sum(1 for row in pieces[:main] if not row)
        return [row for row in pieces if row], main

    def _detect(self, img: np.ndarray, profile: ModeProfile, min_score: float) -> list[Detection]:
        detector = self.quick_detector if profile.quick_detector else self.detector
        found: list[Detection] = []
        for size in profile.detector_sizes:
            found = _merge(found, detector.detect(img, size, min_score, equalize=True))
        if profile.second_pass == "always" or (profile.second_pass == "if-none" and not found):
            for size in profile.detector_sizes:
                found = _merge(found, detector.detect(img, size, min_score, equalize=False))
        return found

    def recognize(self, img: np.ndarray, options: EngineOptions | None = None) -> list[PlateResult]:
        options = options or EngineOptions()
        profile = MODES.get(options.mode, MODES["regular"])
        detections = self._detect(img, profile, min(options.threshold_d, profile.min_score_cap))
        plates = []
        for det in detections[: profile.max_plates]:
            crop, box = _crop(img, det, PAD_X, PAD_Y), _crop(img, det, BOX_PAD_X, BOX_PAD_Y)
            if crop is not None and box is not None:
                plates.append((det, *self._rows(crop), box))
        return self._read(plates, options, profile)

    def read_plate(self, crop: np.ndarray, options: EngineOptions | None = None) -> PlateResult | None:
        """Read an image that is already a tightly cropped one-row plate: no detection step, the
        recogniser reads it whole (on 300 Chinese crops: 290 exact, against 234 with text-line
        detection, which splits tight crops)."""
        options = options or EngineOptions()
        profile = MODES.get(options.mode, MODES["regular"])
        h, w = crop.shape[:2]
        whole = Detection(0.0, 0.0, float(w), float(h), 1.0)
        found = self._read([(whole, [], 0, crop)], options, profile)
        return found[0] if found else None

    def _read(self, plates, options: EngineOptions, profile: ModeProfile) -> list[PlateResult]:
        """Recognise every plate: first its text rows (one recogniser call for all pieces of all
        plates); then, in a second call, the whole box of the plates whose rows gave no confident
        read (nothing found, a weak score, or a read that fits none of the requested templates)."""
        guide = rules.guide_for(options)
        lines = iter(self.recognizer.recognize([p for _, rows, _, _ in plates for row in rows for p in row]))
        row_lines = [[_join([next(lines) for _ in row]) for row in rows] for _, rows, _, _ in plates]
        cands = [rules.candidates(rules.readings(rl, main), guide, profile.candidates)
                 for rl, (_, _, main, _) in zip(row_lines, plates)]
        doubtful = [i for i, c in enumerate(cands) if not rules.confident(c, guide)]
        wholes = iter(self.recognizer.recognize([plates[i][3] for i in doubtful]))
        for i in doubtful:
            readings = rules.readings(row_lines[i], plates[i][2], next(wholes))
            cands[i] = rules.candidates(readings, guide, profile.candidates)
        results = []
        for (det, rows, _, _), found in zip(plates, cands):
            if not found or found[0].score < options.threshold_o:
                continue
            region, region_score = rules.infer_region(found[0].plate, options.regions)
            results.append(PlateResult(
                box=det.box(),
                dscore=round(det.score, 3),
                plate=found[0].plate,
                score=found[0].score,
                candidates=tuple(found),
                region=region,
                region_score=region_score,
                rows=len(rows),
            ))
        return results
