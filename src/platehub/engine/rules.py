"""Plate rules: from recognised rows of characters to ranked plate candidates.

- Candidates come from the recogniser's own alternatives at uncertain positions (a beam over
  per-character probabilities), for every reading of the plate: all text rows top to bottom, the
  main row alone, and the whole plate box read as one line (slightly penalised).
- Templates of the requested `regions` and the `text_formats` regexes guide the choice among
  what the recogniser saw: a candidate that fits one ranks first. A read is fitted to a template
  position by position only with characters the recogniser proposed there (its read or one of
  its alternatives given at least 2 %), or with the look-alike (O/0, I/1, B/8, S/5, Z/2 …) of a
  character it was unsure of; a confident character is never rewritten into one it did not see
  (except I/O where a country issues neither: Chinese serials). Up to two stray
  end characters it was unsure of (EU band, sticker edges) may be trimmed. The guide is ignored
  when fitting needs too many changes or the fitted read is much less likely than the raw one
  ("treated as a guide"), and it never prefers a shorter text that drops characters one of the
  readings was sure of (a partial reading that happens to fit a shorter template). A wrong region
  therefore costs nothing: no full read fits, the raw read stays.
- `region: strict` keeps only candidates that fit a template or a text format.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from platehub.engine import regions as reg
from platehub.engine.types import Candidate, CharProb, EngineOptions, TextLine

MAX_SUBSTITUTIONS = 2
MAX_TRIM = 2
UNSURE_CHAR = 0.6  # below this probability a character may become its look-alike without being proposed
SEEN_MIN = 0.02  # an alternative the recogniser gave less than this is not a contender the guide may pick
UNSEEN_LOOK_ALIKE = 0.5  # probability factor for such a look-alike swap
TRIM_FACTOR = 0.9
TRIM_MAX_PROB = 0.7  # characters read at least this surely are never trimmed or dropped by the guide
SECOND_ROW_PENALTY = 0.97  # the main row alone, when a second row was found, ranks just below both
WHOLE_BOX_FACTOR = 0.95  # the whole box read as one line: a fallback behind the text-row reading
GUIDE_MIN_RATIO = 0.8  # a guided candidate keeps at least this share of the raw read's score (no junk)
RARE_FACTOR = 0.85  # a read that fits only a special-use series (regions.RARE_TEMPLATES) ranks this much lower


@dataclass(frozen=True)
class Guide:
    regions: tuple[str, ...]
    templates: tuple[str, ...]
    formats: tuple[re.Pattern[str], ...]
    strict: bool
    common: tuple[str, ...] = ()  # the templates without the special-use series

    @property
    def active(self) -> bool:
        return bool(self.templates or self.formats)

    def fits(self, text: str) -> bool:
        return reg.fits_any(text, self.templates) or any(f.fullmatch(text) for f in self.formats)

    def fits_common(self, text: str) -> bool:
        """Whether `text` fits a common template or a text format: nothing for a second reading to settle."""
        return self.fits(text) and self.weight(text) == 1.0

    def weight(self, text: str) -> float:
        """1 for a text that fits a common template or a text format, RARE_FACTOR for one that
        fits only a special-use series."""
        if len(self.common) == len(self.templates) or reg.fits_any(text, self.common):
            return 1.0
        return 1.0 if any(f.fullmatch(text) for f in self.formats) else RARE_FACTOR


def guide_for(options: EngineOptions) -> Guide:
    formats = tuple(re.compile(f, re.IGNORECASE) for f in options.text_formats)
    templates = reg.templates_for(options.regions) if options.regions else ()
    common = reg.templates_for(options.regions, common=True) if options.regions else ()
    return Guide(options.regions, templates, formats, options.region_strict and bool(templates or formats), common)


def _mean(probs: Sequence[float]) -> float:
    return sum(probs) / len(probs) if probs else 0.0


def beam(chars: Sequence[CharProb], width: int) -> list[tuple[str, list[float]]]:
    """The `width` likeliest strings using each position's alternatives, with their char probs."""
    paths: list[tuple[float, str, list[float]]] = [(0.0, "", [])]
    for cp in chars:
        options = [(cp.char, cp.prob), *cp.alternatives]
        grown = [
            (cost - _log(p), text + ch, [*probs, p]) for cost, text, probs in paths for ch, p in options
        ]
        paths = heapq.nsmallest(width, grown, key=lambda x: x[0])
    return [(text, probs) for _, text, probs in paths]


def _plausible_swaps(text: str, probs: Sequence[float], chars: Sequence[CharProb]) -> bool:
    """Whether every alternative the beam took instead of the read character was a real contender."""
    return all(p >= SEEN_MIN for t, p, cp in zip(text, probs, chars) if t != cp.char)


def _log(p: float) -> float:
    return math.log(max(p, 1e-6))


def _seen(cp: CharProb, cls: str) -> tuple[str, float] | None:
    """The likeliest character the recogniser saw at this position that fits the template class:
    its own read, one of its alternatives, or — only where it was unsure — the read's look-alike.
    Where the country issues no I or O at all (class `&`, Chinese serials), a read I or O is the
    same glyph as 1 or 0, however sure the recogniser was."""
    if reg.fits_class(cp.char, cls):
        return cp.char, cp.prob
    seen = [(ch, p) for ch, p in cp.alternatives if p >= SEEN_MIN and reg.fits_class(ch, cls)]
    if cls == "&" and cp.char in "IO":
        seen.append((reg.LETTER_TO_DIGIT[cp.char], cp.prob))
    if seen:
        return max(seen, key=lambda x: x[1])
    if cp.prob < UNSURE_CHAR:
        twin = reg.look_alike(cp.char, cls)
        if twin is not None:
            return twin, cp.prob * UNSEEN_LOOK_ALIKE
    return None


def _fit(chars: Sequence[CharProb], template: str) -> tuple[str, list[float], int] | None:
    """`chars` made to fit `template` with what the recogniser saw: (text, char probs, changes)."""
    if len(chars) != len(template):
        return None
    text, probs, changes = [], [], 0
    for cp, cls in zip(chars, template):
        seen = _seen(cp, cls)
        if seen is None:
            return None
        text.append(seen[0])
        probs.append(seen[1])
        changes += seen[0] != cp.char
    return "".join(text), probs, changes


def _guided(chars: Sequence[CharProb], guide: Guide) -> list[tuple[str, float]]:
    """Template fits of one read: characters the recogniser saw (never a confident character
    rewritten into one it did not propose), and stray end characters it was unsure of trimmed."""
    out = []
    n = len(chars)
    probs = [c.prob for c in chars]
    trims = 0 if guide.fits("".join(c.char for c in chars)) else MAX_TRIM  # a fitting read has no strays
    for lead in range(trims + 1):
        for tail in range(trims + 1 - lead):
            if n - lead - tail < 2:
                continue
            dropped = [*probs[:lead], *probs[n - tail :]]
            if any(p >= TRIM_MAX_PROB for p in dropped):
                continue
            sub_chars = chars[lead : n - tail]
            factor = TRIM_FACTOR ** (lead + tail)
            fits = [f for f in (_fit(sub_chars, t) for t in guide.templates) if f is not None]
            fits += [("".join(c.char for c in sub_chars), [c.prob for c in sub_chars], 0)] if any(
                f.fullmatch("".join(c.char for c in sub_chars)) for f in guide.formats) else []
            for text, p, changes in fits:
                if changes <= MAX_SUBSTITUTIONS and (changes or lead or tail):
                    out.append((text, _mean(p) * factor * guide.weight(text)))
    return out


def _drops_sure(text: str, read: str, probs: Sequence[float]) -> bool:
    """Whether `text` is `read` with characters missing that the recogniser was sure of: `text`
    laid over `read` where they agree most, the uncovered end characters of `read` are the dropped ones."""
    missing = len(read) - len(text)
    if missing <= 0:
        return False

    def dropped(lead: int) -> list[float]:
        return [*probs[:lead], *probs[lead + len(text):]]

    lead = min(range(missing + 1), key=lambda k: (sum(a != b for a, b in zip(text, read[k:])), max(dropped(k))))
    return max(dropped(lead)) >= TRIM_MAX_PROB


Reading = tuple[tuple[CharProb, ...], float]  # characters read, and a prior factor on their score


def readings(rows: Sequence[TextLine], main: int, whole: TextLine | None = None) -> list[Reading]:
    """The ways one plate was read: its text rows top to bottom (and the main row alone, when a
    second row was found), and the whole plate box read as one line, when given."""
    out: list[Reading] = []
    if len(rows) > 1:
        out.append((tuple(c for r in rows for c in r.chars), 1.0))
        out.append((rows[main].chars, SECOND_ROW_PENALTY))
    elif rows:
        out.append((rows[main].chars, 1.0))
    if whole is not None:
        out.append((whole.chars, WHOLE_BOX_FACTOR if out else 1.0))
    return out


def candidates(options: Sequence[Reading], guide: Guide, limit: int = 10) -> list[Candidate]:
    """Ranked candidates (best first) from one plate's readings.

    Empty when nothing was read, or when strict mode found nothing that fits."""
    raw: dict[str, float] = {}
    guided: dict[str, float] = {}
    reads: list[tuple[str, list[float]]] = []  # each reading's own text: what it was sure of
    for chars, factor in options:
        if not chars:
            continue
        reads.append(("".join(c.char for c in chars), [c.prob for c in chars]))
        for text, probs in beam(chars, limit):
            score = _mean(probs) * factor
            raw[text] = max(raw.get(text, 0.0), score)
            if guide.fits(text) and _plausible_swaps(text, probs, chars):
                guided[text] = max(guided.get(text, 0.0), score * guide.weight(text))
        if guide.active:
            for fixed, s in _guided(chars, guide):
                guided[fixed] = max(guided.get(fixed, 0.0), s * factor)
    if not raw:
        return []
    best_raw = max(raw.values())
    ranked: list[Candidate] = []
    if guide.active:
        good = {t: s for t, s in guided.items()
                if s >= GUIDE_MIN_RATIO * best_raw and not any(_drops_sure(t, r, p) for r, p in reads)}
        ranked += [Candidate(t, round(s, 3)) for t, s in sorted(good.items(), key=lambda x: -x[1])]
    if not guide.strict:
        ranked += [Candidate(t, round(s, 3)) for t, s in sorted(raw.items(), key=lambda x: -x[1])]
    seen: set[str] = set()
    unique = [c for c in ranked if not (c.plate in seen or seen.add(c.plate))]
    return unique[:limit]



CONFIDENT_SCORE = 0.95  # under it the second opinion reads the plate too (chosen: models/plate_reader.md)
PLAUSIBLE_LENGTH = range(4, 11)


def confident(cands: Sequence[Candidate], guide: Guide) -> bool:
    """Whether the best candidate needs no second reading: a good score, Latin letters and digits
    only, and a text that fits the requested templates/formats (or, with none requested, has a
    plate's length). The plate reader learnt Chinese characters from rendered plates only (it
    reads about a third of real Chinese crops exactly, models/plate_reader.md): a read with one is
    always doubtful."""
    if not cands or cands[0].score < CONFIDENT_SCORE or not cands[0].plate.isascii():
        return False
    if not guide.active:
        return len(cands[0].plate) in PLAUSIBLE_LENGTH
    return guide.fits_common(cands[0].plate)


def settled(cands: Sequence[Candidate], guide: Guide) -> bool:
    """Fast mode's test: the read stands unless it fits none of the requested templates/formats
    (or a special-use series only) or carries Chinese characters (see `confident`)."""
    plate = cands[0].plate if cands else ""
    if not plate.isascii():
        return False
    return not guide.active or (bool(cands) and guide.fits_common(plate))


def infer_region(plate: str, requested: Sequence[str]) -> tuple[str, float]:
    """A template-based guess: the requested region (else any country) whose templates fit the
    plate, scored 1/number of countries that fit equally. ("", 0.0) when none fits.

    platehub has no region-classifier model; this is all the evidence the text gives."""
    text = reg.clean_plate(plate)
    for pool in (list(requested), list(reg.TEMPLATES)):
        fitting = [code for code in pool if reg.shape(reg.TEMPLATES.get(reg.country_of(code), ())).fullmatch(text)]
        if fitting:
            countries = {reg.country_of(c) for c in fitting}
            return fitting[0], round(1.0 / len(countries), 3)
    return "", 0.0
