"""Region codes of the ``regions`` parameter, plate templates and confusion repair."""

from __future__ import annotations

import json
import re

import pytest
from helpers import DEV_DATA, REPO

from platehub.engine.regions import (
    DIGIT_TO_LETTER,
    LETTER_TO_DIGIT,
    REGION_CODES,
    TEMPLATES,
    country_of,
    look_alike,
    matches,
    normalize_region,
    templates_for,
)

SPEC = REPO.parent / "shared/specs/003_78413a868baf8827.txt"
PLATES_DEV = DEV_DATA or REPO.parent / "shared/data/plates-dev"

# Labelled plates known not to fit their country's templates, with the reason.
KNOWN_MISFITS = {
    # Soviet-era trailer plate with Cyrillic series letters that have no Latin look-alike; templates
    # (and the API's output alphabet) are Latin-only.
    ("ua", "7686ЖЦ"),
}


def _matches_any(text: str, templates: tuple[str, ...]) -> bool:
    return any(matches(text, t) for t in templates)


# ---- region codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("us-ca", "us-ca"),
        ("mx", "mx"),
        ("th-10b", "th-10b"),
        ("th-10c", "th-10c"),
        ("br_sc", "br-sc"),
        ("br-sc", "br-sc"),
        ("BR_SC", "br-sc"),
        (" US-CA ", "us-ca"),
        ("au-nsw", "au-nsw"),
        ("ca-qc", "ca-qc"),
        ("ae-du", "ae-du"),
        ("gb", "gb"),
        ("hr", "hr"),
        ("us", "us"),
        ("au", "au"),
        ("th", "th"),
        ("ca", "ca"),
        ("ae", "ae"),
        ("br", "br"),
        ("cn", "cn"),
        ("jp", "jp"),
    ],
)
def test_known_codes_normalise(code: str, expected: str) -> None:
    assert normalize_region(code) == expected


@pytest.mark.parametrize(
    "code", ["xx", "us-zz", "", "  ", "us-", "th-10d", "br-xx", "uk", "usa", "fr-75", "ca-on-x"]
)
def test_unknown_codes_rejected(code: str) -> None:
    assert normalize_region(code) is None


def test_region_codes_are_canonical() -> None:
    assert all(code == code.strip().lower() and "_" not in code for code in REGION_CODES)
    assert "br_sc" not in REGION_CODES
    assert "br-sc" in REGION_CODES


def test_every_code_of_the_spec_table_is_accepted() -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} not available")
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("## Countries") : text.index("# SDK")]
    codes = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and re.fullmatch(r"[a-z]{2}(?:[-_][a-z0-9]+)?", cells[1]):
            codes.add(cells[1])
    assert len(codes) > 250  # ~95 countries + ~185 state codes
    rejected = sorted(c for c in codes if normalize_region(c) is None)
    assert rejected == []
    # and nothing beyond the table except the parents and the platehub extensions
    normalised = {normalize_region(c) for c in codes}
    assert REGION_CODES - normalised == {"us", "au", "th", "ca", "ae", "cn", "jp"}


@pytest.mark.parametrize(
    ("code", "country"),
    [("us-ca", "us"), ("fr", "fr"), ("th-10b", "th"), ("br_sc", "br"), ("AU-NSW", "au"), ("cn", "cn")],
)
def test_country_of(code: str, country: str) -> None:
    assert country_of(code) == country


# ---- template tables -------------------------------------------------------------------------------

_REQUIRED = (
    "hr ua ro gb de fr it es pl nl be pt at ch cz sk hu bg si rs ba me mk al gr se no fi dk ee lv lt ie lu "
    "tr ru by md kz ge am az uz br ar mx cl co pe us ca au nz in id my th vn ph sg za ae il jp kr cn"
)
REQUIRED_COUNTRIES = _REQUIRED.split()


def _valid_template_char(ch: str) -> bool:
    return ch in "@#*&^%$" or "A" <= ch <= "Z" or "0" <= ch <= "9" or "\u4e00" <= ch <= "\u9fff"


def test_required_countries_have_templates() -> None:
    missing = [c for c in REQUIRED_COUNTRIES if not TEMPLATES.get(c)]
    assert missing == []


def test_template_tables_are_well_formed() -> None:
    for country, templates in TEMPLATES.items():
        assert country in REGION_CODES and "-" not in country, country
        assert isinstance(templates, tuple) and templates, country
        assert len(set(templates)) == len(templates), f"duplicates in {country}"
        for template in templates:
            assert template and all(_valid_template_char(ch) for ch in template), (country, template)
            # every template constrains something: at least one letter/digit/CJK class or literal
            assert set(template) - {"*"}, (country, template)


def test_confusion_maps_are_conservative() -> None:
    assert all(k.isalpha() and k.isupper() and v.isdigit() for k, v in LETTER_TO_DIGIT.items())
    assert all(k.isdigit() and v.isalpha() and v.isupper() for k, v in DIGIT_TO_LETTER.items())
    # round trips are consistent where both directions exist (8 <-> B, 5 <-> S, ...)
    for digit, letter in DIGIT_TO_LETTER.items():
        assert LETTER_TO_DIGIT[letter] == digit
    for dubious in ("L", "J", "U", "X", "K"):
        assert dubious not in LETTER_TO_DIGIT
    for dubious in ("3", "9"):
        assert dubious not in DIGIT_TO_LETTER


# One or more real-world examples per country (format references: Wikipedia plate articles).
EXAMPLES = {
    "hr": ["ZG 1234-AB", "ZG 123-A", "ST 123-AB", "RI 1234-A"],
    "ua": ["AA 1234 BB", "123-45 KI", "1234 AB"],
    "ro": ["B 123 ABC", "B 12 ABC", "CJ 12 ABC", "IF 01 XYZ"],
    "gb": ["AB12 CDE", "A123 BCD", "ABC 123D", "ABZ 1234"],
    "de": ["M-AE 2821", "R-WI 282", "MY-RS 9999", "OF-PS 309E", "FFB-AM 483", "B-A 1", "S-XY 123H"],
    "fr": ["AB-123-CD", "1234 AB 56", "123 ABC 2A", "12 AB 974"],
    "it": ["AB 123 CD", "AB 12345"],
    "es": ["1234 BCD", "M 1234 AB", "GR 1234 AB", "C 1234 BCD"],
    "pl": ["WX 12345", "KR 1234A", "WPI A123", "PO 1AB23"],
    "nl": ["XX-99-99", "99-XXX-9", "9-XXX-99", "XX-999-X", "GV-123-X"],
    "be": ["1-ABC-123", "ABC-123"],
    "pt": ["AA-00-AA", "00-AA-00", "00-00-AA", "AA-00-00"],
    "at": ["W-12345A", "S 626 VY", "KU 217 BI", "ZE 248 KJ", "ME 639 A"],
    "ch": ["ZH 123456", "BE 1", "GE 12345"],
    "cz": ["1A2 3456", "2AB 1234"],
    "sk": ["BA 123 AB"],
    "hu": ["ABC-123", "AA AA-123"],
    "bg": ["CA 1234 AB", "B 1234 AB"],
    "si": ["LJ 12-345", "LJ AB-123"],
    "rs": ["BG 123-AB", "BG 1234-AB"],
    "ba": ["A12-E-345", "123-A-456"],
    "me": ["PG AB 123"],
    "mk": ["SK 1234 AB"],
    "al": ["AA 123 AA"],
    "gr": ["ABC-1234", "ABC-123"],
    "se": ["ABC 123", "ABC 12D"],
    "no": ["AB 12345", "EL 12345"],
    "fi": ["ABC-123", "AB-1"],
    "dk": ["AB 12 345"],
    "ee": ["123 ABC"],
    "lv": ["AB-1234", "AB-1"],
    "lt": ["ABC 123"],
    "ie": ["12-D-12345", "141-D-1", "231-KY-123"],
    "lu": ["AB 1234", "12345"],
    "tr": ["34 A 1234", "34 AB 123", "34 ABC 12", "06 AB 1234"],
    "ru": ["A123BC 77", "A123BC 777", "1234 AB 77"],
    "by": ["1234 AB-7"],
    "md": ["ABC 123"],
    "kz": ["123 ABC 02", "123 AB 02"],
    "ge": ["AB-123-CD"],
    "am": ["12 AB 345"],
    "az": ["10 AB 123"],
    "uz": ["01 A 123 BC", "01 123 ABC"],
    "br": ["ABC-1234", "ABC1D23"],
    "ar": ["ABC 123", "AB 123 CD"],
    "mx": ["ABC-123-D", "ABC-12-34"],
    "cl": ["BBBB 12", "AB 1234"],
    "co": ["ABC 123", "ABC 12D"],
    "pe": ["A1B-234", "ABC-123"],
    "us": ["7ABC123", "ABC-1234", "123-ABC", "ABC 123"],
    "ca": ["ABCD 123", "ABC-1234", "A12 BCD"],
    "au": ["AB 12 CD", "1AB 2CD", "123 ABC", "S123 ABC"],
    "nz": ["ABC123"],
    "in": ["MH 12 AB 1234", "DL 3C AB 1234", "KA 01 A 1234", "22 BH 1234 AB"],
    "id": ["B 1234 ABC", "D 1234 AB", "AB 123 C"],
    "my": ["WXY 1234", "VAB 1234 A", "W 1"],
    "th": ["1กก 1234", "กข 1234", "ก 12"],
    "vn": ["30A-123.45", "29-B1 123.45"],
    "ph": ["ABC 1234", "ABC 123"],
    "sg": ["SBA 1234 A", "E 12 A"],
    "za": ["AB 12 CD GP", "CA 123-456", "ND 123-456", "ABC 123 EC"],
    "ae": ["A 12345", "AB 12345", "1 12345", "12 1234"],
    "il": ["12-345-67", "123-45-678"],
    "jp": ["12-34", "1"],
    "kr": ["12가 3456", "123가 4567", "서울 12가 3456"],
    "cn": ["京A·12345", "皖A00E66", "粤B·D12345", "粤B·12345D", "沪A·1234学", "京A·0001警", "粤Z·1234港"],
}


@pytest.mark.parametrize(("country", "plate"), [(c, p) for c, plates in EXAMPLES.items() for p in plates])
def test_example_plates_match_their_country(country: str, plate: str) -> None:
    assert _matches_any(plate, TEMPLATES[country]), (country, plate)


@pytest.mark.parametrize(
    ("country", "plate"),
    [
        ("ro", "CJ 123 ABC"),  # counties only get 2 digits; 3 digits are Bucharest-only
        ("ro", "CJ 12 AB"),
        ("ua", "AA 123 BB"),
        ("hr", "ZG 12345-AB"),
        ("br", "ABC1D2E"),
        ("gb", "AB12 CD"),
        ("cn", "京12345"),
        ("cn", "AA12345X"),
        ("it", "AB 123 C"),
        ("es", "1234 BC1"),
    ],
)
def test_wrong_shapes_are_rejected(country: str, plate: str) -> None:
    assert not _matches_any(plate, TEMPLATES[country]), (country, plate)


def test_matches_semantics() -> None:
    assert matches("zg 9757-hg", "@@####@@")  # case and separators ignored
    assert matches("АВ 1234 СН", "@@####@@")  # Cyrillic look-alikes read as Latin
    assert not matches("ZG9757H", "@@####@@")
    assert not matches("ZG97571G", "@@####@@")
    assert matches("A1", "**") and not matches("A!", "**")
    assert matches("B123ABC", "B###@@@") and not matches("C123ABC", "B###@@@")
    assert matches("皖A00E66", "^@*****") and not matches("AA00E66", "^@*****")
    assert matches("沪A1234学", "^@****学") and not matches("沪A1234警", "^@****学")


def test_templates_for_union_order_and_dedup() -> None:
    assert templates_for(["hr"]) == TEMPLATES["hr"]
    assert templates_for(["us-ca"]) == TEMPLATES["us"]
    assert templates_for(["br_sc"]) == TEMPLATES["br"]
    both = templates_for(["hr", "ua", "hr-xx", "xx", "HR"])
    assert both == TEMPLATES["hr"] + tuple(t for t in TEMPLATES["ua"] if t not in TEMPLATES["hr"])
    assert len(set(both)) == len(both)
    assert templates_for(["us", "us-ny", "us-tx"]) == TEMPLATES["us"]
    assert templates_for([]) == ()
    assert templates_for(["xx"]) == ()


# ---- confusion repair -----------------------------------------------------------------------------


def test_look_alikes_by_class() -> None:
    assert look_alike("O", "#") == "0" and look_alike("S", "#") == "5" and look_alike("B", "#") == "8"
    assert look_alike("0", "@") == "O" and look_alike("8", "@") == "B" and look_alike("2", "@") == "Z"
    assert look_alike("O", "&") == "0" and look_alike("A", "&") is None  # & only turns I/O into 1/0
    assert look_alike("G", "$") == "C" and look_alike("8", "$") == "B"
    assert look_alike("2", "$") is None  # Z is no Cyrillic twin
    assert look_alike("X", "#") is None and look_alike("3", "@") is None
    for cls in "*^%B":  # any-character, CJK, Thai and literal positions are never altered
        assert look_alike("0", cls) is None


def test_ukrainian_series_use_letters_with_cyrillic_twins() -> None:
    assert any(matches("AB1234CO", t) for t in TEMPLATES["ua"])
    assert not any(matches("AG1234CQ", t) for t in TEMPLATES["ua"])


# ---- real labelled plates ---------------------------------------------------------------------------


def test_manifest_plates_match_their_country() -> None:
    manifest = PLATES_DEV / "manifest.jsonl"
    if not manifest.exists():
        pytest.skip(f"{manifest} not available")
    matched, unlabelled, misfits = 0, 0, []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        country = entry["country"]
        assert country in TEMPLATES, country
        for plate in entry["plates"]:
            text = plate.get("text")
            if not text:
                unlabelled += 1
                continue
            if _matches_any(text, TEMPLATES[country]):
                matched += 1
            else:
                misfits.append((country, text, entry["image"]))
    print(f"manifest: {matched} matched, {len(misfits)} misfits, {unlabelled} unlabelled; misfits: {misfits}")
    assert matched > 0
    assert {(c, t) for c, t, _ in misfits} <= KNOWN_MISFITS, misfits


def test_cn_crops_match_cn_templates() -> None:
    crops = PLATES_DEV / "crops-cn.jsonl"
    if not crops.exists():
        pytest.skip(f"{crops} not available")
    texts = [
        json.loads(line)["text"] for line in crops.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    assert texts
    misfits = [t for t in texts if not _matches_any(t, TEMPLATES["cn"])]
    print(f"crops-cn: {len(texts) - len(misfits)}/{len(texts)} matched; misfits: {misfits}")
    assert len(misfits) <= 0.01 * len(texts), misfits


def test_cn_crops_fit_the_templates_as_they_are() -> None:
    """Valid CN plates fit a Chinese template without any change (no repair needed, none made)."""
    crops = PLATES_DEV / "crops-cn.jsonl"
    if not crops.exists():
        pytest.skip(f"{crops} not available")
    for line in crops.read_text(encoding="utf-8").splitlines()[:200]:
        text = json.loads(line)["text"]
        assert any(matches(text, t) for t in TEMPLATES["cn"]), text
