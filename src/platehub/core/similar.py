"""Similar plates: the plates a read could have been, given how plate readers typically go wrong.

Pure functions, no database. A distance is an edit distance in which swapping two look-alike
characters (0/O, 1/I, 8/B, 5/S, 2/Z …) costs less than any other change; a missing or an extra
character and any other substitution cost 1. `patterns()` gives the SQL LIKE patterns that find the
candidates within one edit (`_` for any character), `rank()` orders candidates."""

from __future__ import annotations

from collections.abc import Iterable

from platehub.core.read import normalize_plate

MAX_KEYWORD = 32  # characters of a normalised search keyword: no stored plate is longer (reads.plate)
LOOK_ALIKE_COST = 0.25
EDIT_COST = 1.0
MAX_DISTANCE = 1.0  # one missing/extra/other character, or up to four look-alike swaps

_GROUPS = ("0OQD", "1IL", "8B", "5S", "2Z", "6G", "7T", "4A")
_CLASS = {ch: group[0] for group in _GROUPS for ch in group}
LOOK_ALIKES = {ch: rep for ch, rep in _CLASS.items() if ch != rep}  # what canonical() replaces


class KeywordTooLong(ValueError):
    """A search keyword longer than any plate: it can match nothing, and the work it would cost
    (patterns, SQL expressions, edit distances) grows with its length."""

    def __init__(self, length: int) -> None:
        super().__init__(f"the keyword has {length} characters; a plate has at most {MAX_KEYWORD}")
        self.length = length


def search_keyword(keyword: str | None) -> str:
    """The normalised keyword of a search; KeywordTooLong above MAX_KEYWORD characters. Every search
    by keyword goes through here (the doors first, for their own error replies)."""
    kw = normalize_plate(keyword or "")
    if len(kw) > MAX_KEYWORD:
        raise KeywordTooLong(len(kw))
    return kw


def canonical(plate: str) -> str:
    """The plate with every look-alike character replaced by its group's representative."""
    return "".join(_CLASS.get(ch, ch) for ch in normalize_plate(plate))


def look_alike(a: str, b: str) -> bool:
    return a != b and _CLASS.get(a, a) == _CLASS.get(b, b)


def distance(a: str, b: str) -> float:
    """Weighted edit distance of two normalised plates (look-alike swaps cost LOOK_ALIKE_COST)."""
    a, b = normalize_plate(a), normalize_plate(b)
    prev = [j * EDIT_COST for j in range(len(b) + 1)]
    for i, ca in enumerate(a, 1):
        cur = [i * EDIT_COST]
        for j, cb in enumerate(b, 1):
            sub = 0.0 if ca == cb else LOOK_ALIKE_COST if look_alike(ca, cb) else EDIT_COST
            cur.append(min(prev[j - 1] + sub, prev[j] + EDIT_COST, cur[j - 1] + EDIT_COST))
        prev = cur
    return prev[-1]


def patterns(keyword: str) -> list[str]:
    """LIKE patterns covering every plate within one edit of `keyword`, look-alike positions as `_`.

    A plate with look-alike swaps only has the keyword's length; one missing character: one shorter;
    one extra: one longer. (Patterns are a superset: `rank` decides.)"""
    kw = search_keyword(keyword)
    if not kw:
        return []
    escaped = [_escape(c) for c in kw]
    loose = ["_" if c in _CLASS else e for c, e in zip(kw, escaped, strict=True)]
    out = []
    for i in range(len(kw)):  # one character changed (not only a look-alike)
        out.append("".join(loose[:i]) + "_" + "".join(loose[i + 1:]))
    for i in range(len(kw)):  # one character missing
        if len(kw) > 1:
            out.append("".join(loose[:i]) + "".join(loose[i + 1:]))
    for i in range(len(kw) + 1):  # one character extra
        out.append("".join(loose[:i]) + "_" + "".join(loose[i:]))
    return list(dict.fromkeys(out))


def canonical_lookups(keyword: str) -> tuple[list[str], list[str], list[str]]:
    """What finds the plates within one edit by their canonical form C (look-alikes merged):
    (canonical forms equal to C or C with one character missing, forms of the canonical form
    without its first character — a change or an extra character in front —, GLOB patterns with a
    literal prefix for a change or an extra character further on)."""
    c = canonical(search_keyword(keyword))
    if not c:
        return [], [], []
    exact = list(dict.fromkeys([c] + [c[:i] + c[i + 1:] for i in range(len(c))]))
    tails = list(dict.fromkeys([c[1:], c]))
    g = [_glob_escape(ch) for ch in c]
    globs = ["".join(g[:i]) + "?" + "".join(g[i + 1:]) for i in range(1, len(c))]
    globs += ["".join(g[:i]) + "?" + "".join(g[i:]) for i in range(1, len(c) + 1)]
    return exact, tails, list(dict.fromkeys(globs))


def _glob_escape(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch


def _escape(ch: str) -> str:
    return "\\" + ch if ch in "%_\\" else ch


def rank(keyword: str, plates: Iterable[str], limit: int = 50,
         max_distance: float = MAX_DISTANCE) -> list[str]:
    """The plates within `max_distance` of `keyword`, closest first (ties: alphabetical)."""
    kw = search_keyword(keyword)
    if not kw:
        return []
    scored = []
    for plate in set(plates):
        d = distance(kw, plate)
        if d <= max_distance:
            scored.append((d, plate))
    scored.sort()
    return [p for _, p in scored[:max(0, limit)]]


def edits(a: str, b: str, lookalikes: bool = True, limit: int | None = None) -> int:
    """Character edits (Levenshtein) between two normalised plates; with `lookalikes` swapping two
    look-alike characters costs nothing. Above `limit` (when given) returns limit + 1 early."""
    if lookalikes:
        a, b = "".join(_CLASS.get(c, c) for c in a), "".join(_CLASS.get(c, c) for c in b)
    if a == b:
        return 0
    cap = limit + 1 if limit is not None else None
    if cap is not None and abs(len(a) - len(b)) >= cap:
        return cap
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j - 1] + (ca != cb), prev[j] + 1, cur[j - 1] + 1))
        if cap is not None and min(cur) >= cap:
            return cap
        prev = cur
    return prev[-1] if cap is None else min(prev[-1], cap)
