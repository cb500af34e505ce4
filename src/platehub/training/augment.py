"""How a camera and a detector show a plate: perspective, a loose or tight box, blur, low
resolution, noise, night, glare, JPEG. Every function takes and returns BGR uint8 images."""

from __future__ import annotations

import random

import cv2
import numpy as np


def place(plate: np.ndarray, rng: random.Random, background: np.ndarray | None = None,
          skew: float = 1.0) -> np.ndarray:
    """A plate image (a rendered plate, or a real crop) put in a scene and cut out as a detector box
    would: perspective and rotation (scaled by `skew`), then the box around it (`_cut`)."""
    if plate.shape[1] > 200:  # the network sees 128 px: render big, then work small
        s = 200 / plate.shape[1]
        plate = cv2.resize(plate, (200, max(4, int(plate.shape[0] * s))), interpolation=cv2.INTER_AREA)
    h, w = plate.shape[:2]
    pad = int(max(h, w) * 0.4)
    H, W = h + 2 * pad, w + 2 * pad
    if background is not None and background.shape[0] >= 8 and background.shape[1] >= 8:
        canvas = cv2.resize(background, (W, H))
    else:
        small = np.random.default_rng(rng.randint(0, 2**31)).integers(0, 255, (8, 16, 3), np.uint8)
        canvas = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = 0.08 * skew * min(w, h * 2)
    dst = src + pad + np.float32([[rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter) * 0.5] for _ in range(4)])
    angle = np.deg2rad(rng.uniform(-8, 8) * skew)
    c = dst.mean(0)
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (dst - c) @ rot.T + c
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(plate, m, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H))
    canvas[mask > 127] = warped[mask > 127]
    x1, y1 = dst.min(0)
    x2, y2 = dst.max(0)
    return _cut(canvas, x1, y1, x2, y2, rng)


def jitter_crop(crop: np.ndarray, rng: random.Random) -> np.ndarray:
    """A real crop (already a detector-like box) cut a little tighter or looser, slightly rotated."""
    h, w = crop.shape[:2]
    pad = max(2, int(0.1 * max(h, w)))
    big = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    if rng.random() < 0.5:
        m = cv2.getRotationMatrix2D((big.shape[1] / 2, big.shape[0] / 2), rng.uniform(-4, 4), 1.0)
        big = cv2.warpAffine(big, m, (big.shape[1], big.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    return _cut(big, pad, pad, pad + w, pad + h, rng, lo=-0.06, hi=0.06)


def _cut(img: np.ndarray, x1: float, y1: float, x2: float, y2: float, rng: random.Random,
         lo: float = -0.04, hi: float = 0.15) -> np.ndarray:
    """The box around (x1, y1, x2, y2) with a margin per side drawn from [lo, hi] of the box size;
    one time in three a loose box, as detectors give around plates in a frame or holder (up to 25 %
    more on each side horizontally, 60 % vertically)."""
    bw, bh = x2 - x1, y2 - y1
    loose = rng.random() < 0.33
    hx, hy = (0.25, 0.6) if loose else (hi, hi)
    a = int(max(0, x1 - rng.uniform(lo, hx) * bw))
    b = int(max(0, y1 - rng.uniform(lo, hy) * bh))
    c = int(min(img.shape[1], x2 + rng.uniform(lo, hx) * bw))
    d = int(min(img.shape[0], y2 + rng.uniform(lo, hy) * bh))
    if c - a < 4 or d - b < 4:
        return img
    return img[b:d, a:c]


def photometric(img: np.ndarray, rng: random.Random, strength: float = 1.0) -> np.ndarray:
    """Light, focus, resolution, sensor noise and compression."""
    out = img
    if rng.random() < 0.4 * strength:  # low resolution: the plate was small in the photo
        h, w = out.shape[:2]
        target = rng.uniform(14, 40)
        if h > target:
            s = target / h
            out = cv2.resize(out, (max(4, int(w * s)), max(4, int(h * s))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3 * strength:
        k = rng.choice([3, 3, 5])
        out = cv2.GaussianBlur(out, (k, k), 0)
    elif rng.random() < 0.15 * strength:  # motion blur
        k = rng.randint(3, 5)
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        out = cv2.filter2D(out, -1, kernel)
    f = out.astype(np.float32)
    if rng.random() < 0.8:
        f = f * rng.uniform(0.6, 1.3) + rng.uniform(-40, 40)
    if rng.random() < 0.15 * strength:  # night: dark with noise
        f = f * rng.uniform(0.25, 0.5)
    if rng.random() < 0.15 * strength:  # glare: a bright blob
        h, w = f.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.2, 0.6) * w
        f = f + rng.uniform(60, 160) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
    if rng.random() < 0.15 * strength:  # shadow over part of the plate
        h, w = f.shape[:2]
        x = rng.randint(0, w)
        f[:, : x] *= rng.uniform(0.4, 0.8)
    if rng.random() < 0.5 * strength:
        f = f + np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 14), f.shape)
    out = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(15, 90)])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out
