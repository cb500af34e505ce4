"""PP-OCRv4 text detector (DB): finds text lines inside a plate crop."""

from __future__ import annotations

import cv2
import numpy as np
import pyclipper

from platehub.engine.runtime import session


def _mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    """The contour's minimum-area rectangle, corners ordered tl, tr, br, bl; and its short side."""
    rect = cv2.minAreaRect(contour)
    pts = sorted(cv2.boxPoints(rect).tolist(), key=lambda p: p[0])
    left = sorted(pts[:2], key=lambda p: p[1])
    right = sorted(pts[2:], key=lambda p: p[1])
    box = np.array([left[0], right[0], right[1], left[1]], np.float32)
    return box, min(rect[1])


def _box_score(prob: np.ndarray, box: np.ndarray) -> float:
    h, w = prob.shape
    xmin, xmax = int(np.clip(np.floor(box[:, 0].min()), 0, w - 1)), int(np.clip(np.ceil(box[:, 0].max()), 0, w - 1))
    ymin, ymax = int(np.clip(np.floor(box[:, 1].min()), 0, h - 1)), int(np.clip(np.ceil(box[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), np.uint8)
    shifted = box.copy()
    shifted[:, 0] -= xmin
    shifted[:, 1] -= ymin
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    return float(cv2.mean(prob[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def _unclip(box: np.ndarray, ratio: float) -> np.ndarray | None:
    area = cv2.contourArea(box)
    length = cv2.arcLength(box, True)
    if length == 0:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box.astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    out = offset.Execute(area * ratio / length)
    return np.array(out[0], np.float32) if out else None


class TextDetector:
    """Differentiable-binarisation text detector; returns quads (tl, tr, br, bl) in crop pixels."""

    def __init__(self, model: str = "ch_PP-OCRv4_det_infer.onnx", threads: int = 1,
                 thresh: float = 0.3, box_thresh: float = 0.5, unclip: float = 1.6) -> None:
        self.sess = session(model, threads)
        self.thresh, self.box_thresh, self.unclip = thresh, box_thresh, unclip

    def detect(self, img: np.ndarray, height: int = 160) -> list[np.ndarray]:
        """Text quads in a plate crop scaled to `height`. (128 px is a third faster and reads the dev
        photos as well, but with a wrong region it let two partial rows win — G4585ES for ZG4585ES;
        96 px lost a plate.)"""
        h, w = img.shape[:2]
        s = height / h
        nh = max(32, int(round(h * s / 32)) * 32)
        nw = max(32, int(round(w * s / 32)) * 32)
        x = ((cv2.resize(img, (nw, nh)).astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        prob = self.sess.run(None, {"x": x})[0][0, 0]
        mask = cv2.dilate((prob > self.thresh).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        quads = []
        for contour in contours[:100]:
            box, side = _mini_box(contour)
            if side < 3 or _box_score(prob, box) < self.box_thresh:
                continue
            grown = _unclip(box, self.unclip)
            if grown is None:
                continue
            box, side = _mini_box(grown.reshape(-1, 1, 2))
            if side < 5:
                continue
            box[:, 0] = np.clip(np.round(box[:, 0] / nw * w), 0, w)
            box[:, 1] = np.clip(np.round(box[:, 1] / nh * h), 0, h)
            quads.append(box)
        return quads
