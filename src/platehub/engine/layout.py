"""Which text on a plate crop is the plate number: rows of text lines, top to bottom.

The tallest text line is the main row. Lines level with it and at least 60 % of its height join
it (a plate split by a sticker or a gap). A line above or below it whose height is at least
55 % of the main row's and that overlaps it horizontally is a second row — the lower half of
square two-row plates (Ukrainian trailers, motorcycles, Chinese rear plates). Smaller text (EU
country band, US state names and slogans, dealer frames) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SAME_ROW_MIN_HEIGHT = 0.6
OTHER_ROW_MIN_HEIGHT = 0.55


@dataclass(frozen=True, eq=False)
class Line:
    quad: np.ndarray  # tl, tr, br, bl

    @property
    def x1(self) -> float:
        return float(self.quad[:, 0].min())

    @property
    def x2(self) -> float:
        return float(self.quad[:, 0].max())

    @property
    def y1(self) -> float:
        return float(self.quad[:, 1].min())

    @property
    def y2(self) -> float:
        return float(self.quad[:, 1].max())

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def cy(self) -> float:
        return (self.y1 + self.y2) / 2


def rows(quads: list[np.ndarray]) -> tuple[list[list[Line]], int]:
    """Rows of plate text, top to bottom, each left to right, and the index of the main row."""
    lines = [Line(q) for q in quads if q[:, 1].max() - q[:, 1].min() >= 4]
    if not lines:
        return [], 0
    main = max(lines, key=lambda ln: ln.height)
    same = [ln for ln in lines if main.y1 <= ln.cy <= main.y2 and ln.height >= SAME_ROW_MIN_HEIGHT * main.height]
    out = [sorted(same, key=lambda ln: ln.x1)]
    main_index = 0
    rest = [ln for ln in lines if ln not in same and ln.height >= OTHER_ROW_MIN_HEIGHT * main.height]
    x1, x2 = min(ln.x1 for ln in same), max(ln.x2 for ln in same)
    for side in ("above", "below"):
        cand = [
            ln for ln in rest
            if (ln.cy < main.y1 if side == "above" else ln.cy > main.y2)
            and min(ln.x2, x2) - max(ln.x1, x1) > 0.3 * (ln.x2 - ln.x1)
        ]
        if cand:
            nearest = min(cand, key=lambda ln: abs(ln.cy - main.cy))
            row = sorted([ln for ln in cand if nearest.y1 <= ln.cy <= nearest.y2], key=lambda ln: ln.x1)
            if side == "above":
                out.insert(0, row)
                main_index = 1
            else:
                out.append(row)
    return out, main_index


def crop_quad(img: np.ndarray, quad: np.ndarray) -> np.ndarray | None:
    """The quad's contents warped to an upright rectangle."""
    q = quad.astype(np.float32)
    w = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    h = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    if w < 2 or h < 2:
        return None
    m = cv2.getPerspectiveTransform(q, np.float32([[0, 0], [w, 0], [w, h], [0, h]]))
    return cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
