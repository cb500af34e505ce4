"""Greedy CTC decoding shared by the plate reader and the PP-OCR recogniser."""

from __future__ import annotations

import numpy as np

from platehub.engine.ctc import decode


def steps(seq: str, alphabet: str, p: float = 0.9, alt: dict[int, tuple[str, float]] | None = None) -> np.ndarray:
    """Per-step probabilities for a path like "-A-AB--" ('-' is blank)."""
    probs = np.full((len(seq), len(alphabet) + 1), 0.0)
    for t, ch in enumerate(seq):
        k = 0 if ch == "-" else alphabet.index(ch) + 1
        probs[t, k] = p
        rest = 1 - p
        if alt and t in alt:
            probs[t, alphabet.index(alt[t][0]) + 1] = alt[t][1]
            rest -= alt[t][1]
        probs[t, 0 if k else 1] += rest
    return probs


def test_repeats_merge_and_blanks_separate():
    line = decode(steps("-AA-A-B--", "AB0"), "AB0")
    assert line.text == "AAB" and line.rows == 1
    assert all(abs(c.prob - 0.9) < 1e-6 for c in line.chars)


def test_alternatives_come_from_the_characters_peak_step():
    line = decode(steps("-O-", "O0", p=0.6, alt={1: ("0", 0.35)}), "O0")
    assert line.text == "O" and line.chars[0].alternatives[0][0] == "0"
    assert abs(line.chars[0].alternatives[0][1] - 0.35) < 1e-6


def test_two_feature_rows_tell_two_row_plates():
    # 8 steps = top row (first 4) then bottom row (last 4)
    assert decode(steps("-AB-" "-0--", "AB0"), "AB0", rows=2).rows == 2
    assert decode(steps("----" "AB0-", "AB0"), "AB0", rows=2).rows == 1
    assert decode(steps("--------", "AB0"), "AB0", rows=2).text == ""
