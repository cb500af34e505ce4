"""The recognition pipeline: detector → plate crops → platehub's plate reader (one batched pass
for every plate of the image) → plate rules; a second opinion (PP-OCR text rows) only for the
plates whose read is doubtful, and a Chinese plate specialist only for the doubtful plates that
look Chinese."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platehub.engine import rules
from platehub.engine.cn_reader import ChinesePlateReader
from platehub.engine.detector import PlateDetector, YoloPlateDetector
from platehub.engine.ocr import TextRecognizer
from platehub.engine.plate_reader import PlateReader
from platehub.engine.textrows import TextRowReader
from platehub.engine.types import CharProb, Detection, EngineOptions, PlateResult, iou


@dataclass(frozen=True)
class ModeProfile:
    """What each Snapshot `mode` means for this engine."""

    detector_sizes: tuple[int, ...]  # detector inputs: the image's long side is scaled to each
    quick_detector: bool  # use the engine's quick (int8) detector when it has one
    min_score_cap: float  # detector floor never above this, whatever threshold_d says
    max_plates: int
    second_pass: str  # "never" | "if-none" (colour pass when the contrast pass finds nothing) | "always"
    candidates: int
    last_resort: int | None  # a larger detector input, tried (colour) only when every pass found nothing
    second_opinion: str  # which plates the PP-OCR text-row reader reads again: "doubtful" (a weak score,
    # an implausible length, no fit to the requested regions, or Chinese characters: rules.confident),
    # "misfit" (only the last two: rules.settled), "never"


MODES = {
    # a contrast-equalised detection pass; a second, colour pass only when the first finds nothing
    "regular": ModeProfile((704,), False, 1.0, 10, "if-none", 10, 960, "doubtful"),
    # always exactly one detection pass, on a smaller input, with the int8 detector (2.2x faster;
    # on the dev set one Romanian plate less than fp32 at 704, which is why regular keeps fp32)
    "fast": ModeProfile((512,), True, 1.0, 10, "never", 10, None, "misfit"),
    # both passes at two input sizes, a lower floor: misses fewer plates, more false positives
    "redaction": ModeProfile((704, 960), False, 0.1, 50, "always", 20, 1280, "doubtful"),
}

CN_LENGTH = (7, 8)  # a Chinese plate: a province or usage character and 6 (7: new energy) more
READ_PAD_X, READ_PAD_Y = 0.04, 0.08  # the plate reader's crop: the detector box, a little context
PAD_X, PAD_Y = 0.10, 0.20  # the second opinion's text detector: more context around the box


def _merge(a: list[Detection], b: list[Detection], overlap: float = 0.5) -> list[Detection]:
    """Both passes' detections, a box of `b` dropped where it overlaps one of `a`; best first."""
    kept = a + [d for d in b if all(iou(d.xyxy, k.xyxy) < overlap for k in a)]
    return sorted(kept, key=lambda d: -d.score)


def _crop(img: np.ndarray, det: Detection, px: float, py: float) -> np.ndarray | None:
    h, w = img.shape[:2]
    bw, bh = det.x2 - det.x1, det.y2 - det.y1
    x1, y1 = int(max(0, det.x1 - px * bw)), int(max(0, det.y1 - py * bh))
    x2, y2 = int(min(w, np.ceil(det.x2 + px * bw))), int(min(h, np.ceil(det.y2 + py * bh)))
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    return img[y1:y2, x1:x2]


def _has_cjk(chars: tuple[CharProb, ...]) -> bool:
    return any(not c.char.isascii() for c in chars)


@dataclass(frozen=True)
class _Plate:
    det: Detection
    crop: np.ndarray  # what the plate reader reads
    padded: np.ndarray | None  # what the second opinion's text detector looks at (None: a tight crop)


class Engine:
    def __init__(self, detector: PlateDetector, reader: TextRecognizer, second_opinion: TextRowReader | None = None,
                 quick_detector: PlateDetector | None = None, chinese: TextRecognizer | None = None) -> None:
        self.detector = detector
        self.quick_detector = quick_detector or detector
        self.reader = reader
        self.second_opinion = second_opinion
        self.chinese = chinese

    @classmethod
    def load(cls, threads: int = 1) -> Engine:
        """The default models, loaded once; the sessions are safe to share between threads."""
        return cls(YoloPlateDetector(threads=threads), PlateReader(threads=threads), TextRowReader.load(threads),
                   YoloPlateDetector("plate_detector_int8.onnx", threads=threads), ChinesePlateReader(threads=threads))

    def _detect(self, img: np.ndarray, profile: ModeProfile, min_score: float) -> list[Detection]:
        detector = self.quick_detector if profile.quick_detector else self.detector
        found: list[Detection] = []
        for size in profile.detector_sizes:
            found = _merge(found, detector.detect(img, size, min_score, equalize=True))
        if profile.second_pass == "always" or (profile.second_pass == "if-none" and not found):
            for size in profile.detector_sizes:
                found = _merge(found, detector.detect(img, size, min_score, equalize=False))
        if not found and profile.last_resort:
            found = detector.detect(img, profile.last_resort, min_score, equalize=False)
        return found

    def recognize(self, img: np.ndarray, options: EngineOptions | None = None) -> list[PlateResult]:
        options = options or EngineOptions()
        profile = MODES.get(options.mode, MODES["regular"])
        detections = self._detect(img, profile, min(options.threshold_d, profile.min_score_cap))
        plates = []
        for det in detections[: profile.max_plates]:
            crop = _crop(img, det, READ_PAD_X, READ_PAD_Y)
            if crop is not None:
                plates.append(_Plate(det, crop, _crop(img, det, PAD_X, PAD_Y)))
        return self._read(plates, options, profile)

    def read_plate(self, crop: np.ndarray, options: EngineOptions | None = None) -> PlateResult | None:
        """Read an image that is already a tightly cropped plate: no detection step."""
        options = options or EngineOptions()
        profile = MODES.get(options.mode, MODES["regular"])
        h, w = crop.shape[:2]
        found = self._read([_Plate(Detection(0.0, 0.0, float(w), float(h), 1.0), crop, None)], options, profile)
        return found[0] if found else None

    def _read(self, plates: list[_Plate], options: EngineOptions, profile: ModeProfile) -> list[PlateResult]:
        """One plate-reader pass over every plate; then, for the plates whose read is doubtful (see
        ModeProfile.second_opinion), the second opinion's readings join the plate reader's and the
        plate rules rank them all."""
        guide = rules.guide_for(options)
        lines = self.reader.recognize([p.crop for p in plates])
        readings: list[list[rules.Reading]] = [[(line.chars, 1.0)] for line in lines]
        cands = [rules.candidates(r, guide, profile.candidates) for r in readings]
        if profile.second_opinion == "doubtful":
            doubtful = [i for i, c in enumerate(cands) if not rules.confident(c, guide)]
        elif profile.second_opinion == "misfit":
            doubtful = [i for i, c in enumerate(cands) if not rules.settled(c, guide)]
        else:
            doubtful = []
        if doubtful and self.second_opinion is not None:
            extra = self.second_opinion.readings([(plates[i].padded, plates[i].crop) for i in doubtful])
            for i, more in zip(doubtful, extra):
                readings[i] += more
        chinese = [i for i in doubtful if "cn" in options.regions or any(_has_cjk(chars) for chars, _ in readings[i])]
        if chinese and self.chinese is not None:
            for i, line in zip(chinese, self.chinese.recognize([plates[i].crop for i in chinese])):
                if _has_cjk(line.chars) and len(line.chars) in CN_LENGTH:  # it read a Chinese plate
                    readings[i].append((line.chars, 1.0))
        for i in doubtful:
            cands[i] = rules.candidates(readings[i], guide, profile.candidates)
        results = []
        for plate, line, found in zip(plates, lines, cands):
            if not found or found[0].score < options.threshold_o:
                continue
            region, region_score = rules.infer_region(found[0].plate, options.regions)
            results.append(PlateResult(
                box=plate.det.box(),
                dscore=round(plate.det.score, 3),
                plate=found[0].plate,
                score=found[0].score,
                candidates=tuple(found),
                region=region,
                region_score=region_score,
                rows=line.rows,
            ))
        return results
