"""Plate text recognisers. Anything with `recognize(crops) -> list[TextLine]` fits.

PPOCRRecognizer runs PaddleOCR's PP-OCRv4 CTC recogniser (6,623 Chinese and Latin characters)
restricted to the characters plates use: A–Z (lower- and upper-case probabilities merged),
0–9 and the Chinese province and usage characters. The probability of every other non-CJK
character (spaces, dashes, dots, stray symbols) counts as blank, so separators vanish instead
of turning into letters.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from platehub.engine.ctc import decode
from platehub.engine.runtime import session
from platehub.engine.types import TextLine

LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
CN_SPECIAL = "使领警学挂港澳"
PLATE_ALPHABET = LATIN + DIGITS + CN_PROVINCES + CN_SPECIAL
HEIGHT = 48


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


class TextRecognizer(Protocol):
    def recognize(self, crops: list[np.ndarray]) -> list[TextLine]: ...


class PPOCRRecognizer:
    def __init__(self, model: str = "ch_PP-OCRv4_rec_infer.onnx", threads: int = 1,
                 alternatives: int = 2, min_width: int = 160) -> None:
        self.sess = session(model, threads)
        chars = self.sess.get_modelmeta().custom_metadata_map["character"].splitlines()
        vocab = ["<blank>", *chars, " "]
        index = {c: i for i, c in enumerate(vocab)}
        self.symbols = list(PLATE_ALPHABET)
        self.alphabet = PLATE_ALPHABET
        # for each output symbol, the model classes whose probability it collects
        upper = [index[c] for c in self.symbols]
        lower = [index.get(c.lower(), -1) if c in LATIN else -1 for c in self.symbols]
        self._upper = np.array(upper)
        self._lower_pos = np.array([i for i, v in enumerate(lower) if v >= 0])
        self._lower_idx = np.array([v for v in lower if v >= 0])
        used = set(upper) | set(self._lower_idx.tolist()) | {0}
        self._as_blank = np.array(
            [i for i, c in enumerate(vocab) if i not in used and not _is_cjk(c)]
        )
        self.alternatives = alternatives
        self.min_width = min_width

    def _batch(self, crops: list[np.ndarray]) -> np.ndarray:
        ratio = max(c.shape[1] / c.shape[0] for c in crops)
        width = max(self.min_width, int(np.ceil(HEIGHT * ratio / 8)) * 8)
        batch = np.zeros((len(crops), 3, HEIGHT, width), np.float32)
        for i, c in enumerate(crops):
            w = min(width, int(np.ceil(HEIGHT * c.shape[1] / c.shape[0])))
            x = cv2.resize(c, (w, HEIGHT)).astype(np.float32)
            batch[i, :, :, :w] = ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        return batch

    def _reduce(self, probs: np.ndarray) -> np.ndarray:
        """[T, vocab] → [T, 1 + len(symbols)]: blank first, then the plate alphabet."""
        sym = probs[:, self._upper]
        sym[:, self._lower_pos] += probs[:, self._lower_idx]
        blank = probs[:, 0] + probs[:, self._as_blank].sum(1)
        return np.concatenate([blank[:, None], sym], axis=1)

    def recognize(self, crops: list[np.ndarray]) -> list[TextLine]:
        if not crops:
            return []
        out = self.sess.run(None, {"x": self._batch(crops)})[0]
        return [decode(self._reduce(p), self.alphabet, self.alternatives) for p in out]
