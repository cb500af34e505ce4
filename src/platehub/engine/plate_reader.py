"""platehub's own plate reader: one pass over a whole detector crop (one-row and two-row plates),
CTC over the plate alphabet, per-character probabilities with alternatives.

Trained by `platehub train` (`platehub/training/`); the model card is
`models/plate_reader.md`. The network's feature map keeps two rows that are read top row first,
so a two-row plate comes out as its top row followed by its bottom row.
"""

from __future__ import annotations

import json

import cv2
import numpy as np

from platehub.engine.ctc import decode
from platehub.engine.ocr import CN_PROVINCES, CN_SPECIAL, DIGITS, LATIN
from platehub.engine.runtime import session
from platehub.engine.types import TextLine

HEIGHT, WIDTH = 32, 128
ALPHABET = LATIN + DIGITS + CN_PROVINCES + CN_SPECIAL  # CTC class k+1 is ALPHABET[k]; 0 is blank
MODEL = "plate_reader.onnx"


def prepare(crop: np.ndarray) -> np.ndarray:
    """A BGR (or grey) crop → the network's input, [1, HEIGHT, WIDTH] float32, grey levels
    standardised (dark and bright plates look alike to the network). The crop is stretched to the
    fixed size whatever its shape: the network learnt plates of every aspect."""
    gray = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    x = cv2.resize(gray, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA if gray.shape[1] > WIDTH else cv2.INTER_LINEAR)
    x = x.astype(np.float32)
    return ((x - x.mean()) / max(float(x.std()), 8.0))[None]


class PlateReader:
    """`recognize(crops) -> list[TextLine]`, batched: one network call for all plates of an image."""

    def __init__(self, model: str = MODEL, threads: int = 1) -> None:
        self.sess = session(model, threads)
        meta = self.sess.get_modelmeta().custom_metadata_map
        self.alphabet = json.loads(meta["alphabet"]) if "alphabet" in meta else ALPHABET
        self.input = self.sess.get_inputs()[0].name

    def recognize(self, crops: list[np.ndarray]) -> list[TextLine]:
        if not crops:
            return []
        batch = np.stack([prepare(c) for c in crops])
        logp = self.sess.run(None, {self.input: batch})[0]
        return [decode(np.exp(p), self.alphabet, rows=2) for p in logp]
