"""Greedy CTC decoding shared by the recognisers: per-step probabilities → characters, each with
its probability and the next likeliest characters at its step."""

from __future__ import annotations

import numpy as np

from platehub.engine.types import CharProb, TextLine


def decode(probs: np.ndarray, alphabet: str, alternatives: int = 2, rows: int = 1) -> TextLine:
    """Greedy CTC over [T, 1 + len(alphabet)] probabilities, blank first. With `rows` = 2 the steps
    are two feature rows one after the other (top row first): the line's `rows` says how many of
    them emitted characters."""
    best = probs.argmax(1)
    chars: list[CharProb] = []
    emitted = set()
    t = 0
    while t < len(best):
        k = best[t]
        end = t
        while end + 1 < len(best) and best[end + 1] == k:
            end += 1
        if k != 0:
            run = probs[t : end + 1]
            peak = run[run[:, k].argmax()]
            order = np.argsort(-peak[1:])[: alternatives + 1] + 1
            alts = tuple((alphabet[j - 1], float(peak[j])) for j in order if j != k and peak[j] > 0.01)
            chars.append(CharProb(alphabet[k - 1], float(peak[k]), alts[:alternatives]))
            emitted.add(rows * t // len(best))
        t = end + 1
    return TextLine(tuple(chars), rows=max(1, len(emitted)))
