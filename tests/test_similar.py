"""Similar plates (core/similar.py): look-alike swaps rank before other edits; LIKE patterns find them."""

from __future__ import annotations

import re

import pytest

from platehub.core import similar


def like(pattern: str, value: str) -> bool:
    """SQL LIKE with `\\` as the escape character, as the store runs it."""
    rx, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            rx += re.escape(pattern[i + 1])
            i += 2
            continue
        rx += "." if c == "_" else ".*" if c == "%" else re.escape(c)
        i += 1
    return re.fullmatch(rx, value) is not None


def test_canonical_merges_look_alikes():
    assert similar.canonical("ab-1O8s") == similar.canonical("A8I085") == "48108" + "5"
    assert similar.canonical("XY") == "XY"


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("AB1234", "AB1234", 0.0),
    ("AB1234", "A81234", 0.25),  # B/8
    ("AB1234", "AB1Z34", 0.25),  # 2/Z
    ("SO1234", "5O1Z34", 0.5),   # S/5 and 2/Z
    ("AB1234", "AB134", 1.0),    # a missing character
    ("AB1234", "AB12345", 1.0),  # an extra character
    ("AB1234", "AB1294", 1.0),   # 3/9 is no look-alike
    ("AB1234", "XY1234", 2.0),
])
def test_distance(a, b, expected):
    assert similar.distance(a, b) == pytest.approx(expected)
    assert similar.distance(b, a) == pytest.approx(expected)


def test_rank_orders_look_alikes_first_and_drops_far_plates():
    stored = ["AB1294", "XY1234", "A81234", "AB1234", "AB134", "A8I234", "AB12345", "ZZ9999", "A81234"]
    assert similar.rank("ab 1234", stored) == ["AB1234", "A81234", "A8I234", "AB12345", "AB1294", "AB134"]
    assert similar.rank("AB1234", stored, limit=2) == ["AB1234", "A81234"]
    assert similar.rank("", stored) == []


def test_patterns_find_every_plate_within_one_edit():
    keyword = "SO1234"
    near = ["SO1234", "5O1234", "S01Z34", "5O1Z3A", "SO134", "SO12345", "XSO1234", "SO1294", "O1234"]
    far = ["SO12", "SO123456", "S"]  # patterns are a superset: lengths outside n-1..n+1 never match
    pats = similar.patterns(keyword)
    for plate in near:
        assert similar.distance(keyword, plate) <= similar.MAX_DISTANCE
        assert any(like(p, plate) for p in pats), plate
    for plate in far:
        assert not any(like(p, plate) for p in pats), plate
    assert similar.rank(keyword, ["XY1234", *near]) == similar.rank(keyword, near)


def test_patterns_escape_like_wildcards():
    assert all("%" not in p.replace("\\%", "") for p in similar.patterns("A%B"))
    assert similar.patterns("") == []
