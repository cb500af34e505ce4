"""Plate rules on recogniser output: candidates, template guidance, look-alike repair."""

from __future__ import annotations

from platehub.engine import EngineOptions
from platehub.engine.rules import candidates, guide_for, infer_region, readings
from platehub.engine.types import CharProb, TextLine


def line(text: str, probs: list[float] | None = None, alts: dict[int, list[tuple[str, float]]] | None = None):
    probs = probs or [0.95] * len(text)
    alts = alts or {}
    return TextLine(tuple(CharProb(c, p, tuple(alts.get(i, ()))) for i, (c, p) in enumerate(zip(text, probs))))


def test_without_regions_the_raw_read_wins():
    cands = candidates(readings([line("AB1234CO")], 0), guide_for(EngineOptions()))
    assert cands[0].plate == "AB1234CO"


def test_template_repairs_look_alikes_the_recogniser_was_unsure_of():
    # Ukrainian plates are two letters, four digits, two letters: an unsure O in a digit position
    # is 0, an unsure 0 in a letter position is O.
    unsure = line("AB12O4C0", probs=[0.95] * 4 + [0.5, 0.95, 0.95, 0.5])
    cands = candidates(readings([unsure], 0), guide_for(EngineOptions(regions=("ua",))))
    assert cands[0].plate == "AB1204CO"
    assert "AB12O4C0" in [c.plate for c in cands]  # the raw read stays a candidate


def test_a_confident_character_is_never_rewritten_into_one_the_recogniser_did_not_see():
    # Issue 10: with regions=us, YG9X2G became Y69XZG and 8FV480 BFV480. A region guides the choice
    # among what the recogniser saw; it does not invent characters.
    for text, region in (("YG9X2G", "us"), ("8FV480", "us"), ("1049338", "us"), ("AB12O4C0", "ua")):
        cands = candidates(readings([line(text)], 0), guide_for(EngineOptions(regions=(region,))))
        assert cands[0].plate == text


def test_a_seen_alternative_fixes_a_confident_look_alike_where_the_format_decides():
    # a Brazilian plate (ABC1234) read with a confident O among the digits, 0 a distant second
    read = line("ABC12O4", alts={5: [("0", 0.04)]})
    cands = candidates(readings([read], 0), guide_for(EngineOptions(regions=("br",))))
    assert cands[0].plate == "ABC1204"
    assert candidates(readings([read], 0), guide_for(EngineOptions()))[0].plate == "ABC12O4"  # no region: raw


def test_alternative_proposed_by_the_recogniser_is_used():
    # position 2 read as 'I' with '1' a close second: the template picks the alternative
    guide = guide_for(EngineOptions(regions=("ua",)))
    cands = candidates(readings([line("ABI234CO", alts={2: [("1", 0.4)]})], 0), guide)
    assert cands[0].plate == "AB1234CO"


def test_stray_end_character_trimmed_by_template():
    cands = candidates(readings([line("UAAB1234CO", probs=[0.6, 0.6] + [0.95] * 8)], 0),
                       guide_for(EngineOptions(regions=("ua",))))
    assert cands[0].plate == "AB1234CO"


def test_guide_ignored_when_the_read_is_too_different():
    cands = candidates(readings([line("12345")], 0), guide_for(EngineOptions(regions=("ua",))))
    assert cands[0].plate == "12345"


def test_strict_keeps_only_fitting_candidates():
    strict = guide_for(EngineOptions(regions=("ua",), region_strict=True))
    assert candidates(readings([line("12345")], 0), strict) == []
    assert candidates(readings([line("AB1234CO")], 0), strict)[0].plate == "AB1234CO"


def test_strict_without_region_or_format_does_nothing():
    # the spec: "A region must be specified in order for this parameter to work"
    assert candidates(readings([line("12345")], 0), guide_for(EngineOptions(region_strict=True)))[0].plate == "12345"


def test_two_rows_joined_top_to_bottom_with_main_row_alone_as_candidate():
    cands = candidates(readings([line("10922"), line("BX")], 0), guide_for(EngineOptions()))
    assert cands[0].plate == "10922BX"
    assert "10922" in [c.plate for c in cands]


def test_whole_box_reading_is_a_fallback_behind_the_rows():
    both = readings([line("AB1234CO")], 0, whole=line("AB1Z34CO"))
    cands = candidates(both, guide_for(EngineOptions()))
    assert [c.plate for c in cands[:2]] == ["AB1234CO", "AB1Z34CO"]
    only_whole = readings([], 0, whole=line("AB1234CO"))
    assert candidates(only_whole, guide_for(EngineOptions()))[0].plate == "AB1234CO"


def test_candidates_ranked_by_score():
    cands = candidates(readings([line("AB1234CO", alts={7: [("0", 0.3)]})], 0), guide_for(EngineOptions()))
    assert [c.plate for c in cands[:2]] == ["AB1234CO", "AB1234C0"]
    assert cands[0].score > cands[1].score


def test_region_inferred_from_templates():
    assert infer_region("ZG9757HG", ("hr",)) == ("hr", 1.0)
    code, score = infer_region("皖A00E66", ())
    assert (code, score) == ("cn", 1.0)
    assert infer_region("!!!", ()) == ("", 0.0)


def test_confidence_decides_whether_a_second_reading_is_needed():
    from platehub.engine.rules import confident

    ua = guide_for(EngineOptions(regions=("ua",)))
    assert confident(candidates(readings([line("AB1234CO")], 0), ua), ua)
    assert not confident(candidates(readings([line("AB3391AK9")], 0), ua), ua)  # fits no Ukrainian template
    assert not confident(candidates(readings([line("AB1234CO", probs=[0.5] * 8)], 0), ua), ua)  # weak
    free = guide_for(EngineOptions())
    assert confident(candidates(readings([line("AB1234CO")], 0), free), free)
    assert not confident(candidates(readings([line("AB")], 0), free), free)  # too short for a plate
    assert not confident([], free)
    cn = guide_for(EngineOptions(regions=("cn",)))  # the reader's Chinese comes from rendered plates only
    assert not confident(candidates(readings([line("京AM987F", [0.99] * 7)], 0), cn), cn)


def test_fast_mode_asks_again_only_for_misfits_and_chinese_reads():
    from platehub.engine.rules import settled

    ua, free = guide_for(EngineOptions(regions=("ua",))), guide_for(EngineOptions())
    assert settled(candidates(readings([line("AB1234CO", [0.5] * 8)], 0), ua), ua)  # weak but fits
    assert not settled(candidates(readings([line("AB3391AK9")], 0), ua), ua)
    assert settled(candidates(readings([line("AB3391AK9")], 0), free), free)  # nothing to fit
    assert not settled(candidates(readings([line("京AM987F")], 0), free), free)


def test_a_partial_reading_that_fits_never_beats_the_full_read():
    # Issue 10: with a wrong region a second reading that lost the plate's first letters (1585ES
    # of ZG4585ES) fitted a shorter template and won. Characters read surely are never dropped.
    guide = guide_for(EngineOptions(text_formats=(r"[0-9]{4}[A-Z]{2}",)))
    full, partial = line("ZG4585ES", [0.99] * 8), line("1585ES", [0.96] * 6)
    assert candidates([(full.chars, 1.0), (partial.chars, 1.0)], guide)[0].plate == "ZG4585ES"
    unsure = line("ZG4585ES", [0.5, 0.5] + [0.99] * 6)  # ends read unsurely: the fitting reading may win
    assert candidates([(unsure.chars, 1.0), (partial.chars, 1.0)], guide)[0].plate == "1585ES"


def test_a_faint_alternative_is_no_contender():
    # a Mercosur plate (ABC1D23) with a wrong region whose format wants a digit there: the
    # recogniser gave 5 one per cent against a sure S, so the S stays
    read = line("KZX7S22", [0.99] * 7, alts={4: [("5", 0.01)]})
    guide = guide_for(EngineOptions(text_formats=(r"[A-Z]{3}[0-9]{4}",)))
    assert candidates(readings([read], 0), guide)[0].plate == "KZX7S22"


def test_where_a_country_issues_no_i_or_o_a_sure_o_is_the_digit():
    # Chinese serials never carry the letters I and O (GA 36): PP-OCR's sure "皖A05INO" is 皖A051N0
    # (a dev crop), while without the region the raw read stays
    read = line("皖A05INO", [0.99, 1.0, 0.99, 1.0, 0.56, 1.0, 0.98], alts={6: [("Q", 0.01)]})
    assert candidates(readings([read], 0), guide_for(EngineOptions(regions=("cn",))))[0].plate == "皖A051N0"
    assert candidates(readings([read], 0), guide_for(EngineOptions()))[0].plate == "皖A05INO"


def test_a_special_use_series_ranks_below_a_common_plate():
    # A dev crop: the plate reader read 川X90621 as NX90621 (N 0.93), which has the shape of a
    # Chinese military plate (VA12345); PP-OCR read the province character. With regions=cn the
    # common shape (province + letter + 5) wins; the military read stays a candidate, is not taken
    # as confident, and alone it is still the answer (nothing is invented).
    from platehub.engine.rules import confident

    cn = guide_for(EngineOptions(regions=("cn",)))
    reader = line("NX90621", [0.93] + [0.99] * 6, alts={0: [("M", 0.05), ("川", 0.02)]})
    second = line("川X90621", [1.0, 0.97] + [0.99] * 5)
    cands = candidates([(reader.chars, 1.0), (second.chars, 1.0)], cn)
    assert cands[0].plate == "川X90621" and "NX90621" in [c.plate for c in cands]
    unseen = line("NX90621", [0.93] + [0.99] * 6, alts={0: [("M", 0.05)]})  # no reading saw a province
    alone = candidates(readings([unseen], 0), cn)
    assert alone[0].plate == "NX90621" and not confident(alone, cn)
    military = line("VA12345", [0.99] * 7)
    assert candidates(readings([military], 0), cn)[0].plate == "VA12345"
    # where another requested country issues that shape commonly (Norway: AB 12345), it is common
    both = guide_for(EngineOptions(regions=("cn", "no")))
    assert confident(candidates(readings([military], 0), both), both)
