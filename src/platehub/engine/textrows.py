"""The second opinion on doubtful plates: PP-OCRv4's text detector finds the text rows inside a
padded plate crop, PP-OCRv4's recogniser reads each row, or the whole box where it finds none
(platehub's first engine). It knows every Chinese plate character and generic Latin text;
platehub's own plate reader (`plate_reader.py`) knows plate fonts. The pipeline asks this one only where the plate
reader's read is not confident, and keeps whichever reading the plate rules rank first."""

from __future__ import annotations

import numpy as np

from platehub.engine import layout, rules
from platehub.engine.ocr import PPOCRRecognizer, TextRecognizer
from platehub.engine.textdet import TextDetector
from platehub.engine.types import CharProb, TextLine


def _join(lines: list[TextLine]) -> TextLine:
    chars: tuple[CharProb, ...] = tuple(c for ln in lines for c in ln.chars)
    return TextLine(chars)


class TextRowReader:
    def __init__(self, recognizer: TextRecognizer, text_detector: TextDetector) -> None:
        self.recognizer = recognizer
        self.text_detector = text_detector

    @classmethod
    def load(cls, threads: int = 1) -> TextRowReader:
        return cls(PPOCRRecognizer(threads=threads), TextDetector(threads=threads))

    def _rows(self, crop: np.ndarray) -> tuple[list[list[np.ndarray]], int]:
        """The plate's text rows as image pieces (each row: its lines left to right); ([], 0) when
        the text detector finds no line."""
        found, main = layout.rows(self.text_detector.detect(crop))
        pieces = [[p for p in (layout.crop_quad(crop, ln.quad) for ln in row) if p is not None] for row in found]
        if not pieces or not pieces[main]:
            return [], 0
        main -= sum(1 for row in pieces[:main] if not row)
        return [row for row in pieces if row], main

    def row_lines(self, crop: np.ndarray) -> tuple[list[TextLine], int]:
        """One plate's text rows read (top to bottom), and which is the main one."""
        found, main = self._rows(crop)
        lines = iter(self.recognizer.recognize([p for row in found for p in row]))
        return [_join([next(lines) for _ in row]) for row in found], main

    def readings(self, plates: list[tuple[np.ndarray | None, np.ndarray]]) -> list[list[rules.Reading]]:
        """For each plate (its padded crop for the text detector, or None to skip row finding; its
        box): the readings of its text rows, or of its whole box where no row was found. One
        recogniser call in all. (The whole box read as well, when rows were found, changed no
        result on the dev photos: the plate reader has read the whole box already.)"""
        rows = [self._rows(padded) if padded is not None else ([], 0) for padded, _ in plates]
        pieces = [p for found, _ in rows for row in found for p in row]
        row_less = [box for (found, _), (_, box) in zip(rows, plates) if not found]
        lines = iter(self.recognizer.recognize(pieces + row_less))
        row_lines = [[_join([next(lines) for _ in row]) for row in found] for found, _ in rows]
        return [rules.readings(rl, main, None if found else next(lines)) for rl, (found, main) in zip(row_lines, rows)]
