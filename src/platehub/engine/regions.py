"""Region codes of the Snapshot API ``regions`` parameter and licence-plate templates.

Region codes
    ``REGION_CODES`` holds every code accepted by the ``regions`` request parameter: the country
    codes and the state codes (``us-*``, ``th-*``, ``au-*``, ``br-*``, ``ca-*``, ``ae-*``) of the
    Plate Recognizer "Countries" table, plus the parent codes of the state tables.  The table spells
    Santa Catarina ``br_sc``; both spellings are accepted and normalised to ``br-sc`` (in general an
    underscore is read as a dash).  ``cn`` and ``jp`` are platehub extensions absent from the table.

Templates
    ``TEMPLATES`` maps a country code to plate templates; a state code uses its country's entry.
    Plate text is compared after upper-casing and removing separators (spaces, dashes, dots, middle
    dots, underscores); Cyrillic letters that look exactly like Latin ones (Ukrainian/Russian plates
    use only those) are read as their Latin twins.  One template character is one plate character:

    ``@``  a Latin letter A-Z
    ``#``  a digit 0-9
    ``*``  a letter A-Z or a digit
    ``&``  a letter other than I and O, or a digit -- platehub extension: Chinese serials never use
           I or O (they would be confused with 1 and 0), so a read I/O there is repaired to 1/0
    ``^``  one CJK character: a Chinese hanzi (province abbreviation, 学, 警, ...), a Korean Hangul
           syllable or a Japanese kana
    ``%``  one Thai consonant (ก-ฮ) -- platehub extension, Thai plates cannot be written otherwise
    ``$``  a letter with a Cyrillic twin: A B C E H I K M O P T X -- platehub extension: Ukrainian
           series use only these (so a G or Q read there is a C the recogniser was unsure of)
    other  that literal character (upper-case Latin letter, digit or CJK character)

    Country-band letters (EU "HR", "D", ...) and region names printed in small type are not part of
    the plate text.  Two-row plates are read top row first, so the single-row templates usually
    apply.  The lists cover the common private/commercial series (current and still-circulating
    older formats), not every special series; vanity/personalised plates (frequent in the US,
    Canada, Australia) are deliberately not modelled, so strict matching is discouraged there.

Look-alikes
    ``look_alike`` gives the character of the other class that a read character resembles; the
    plate rules (``rules.py``) use it only for characters the recogniser was unsure of.  Only pairs
    that plate OCR genuinely confuses in plate fonts (DIN/FE-Schrift, UK Charles Wright, CN GA36) are
    used, and each map is a function, so a repair is never ambiguous:

    letter -> digit (position needs ``#``): O->0, Q->0, D->0, I->1, Z->2, A->4, S->5, G->6, T->7, B->8
    digit -> letter (position needs ``@``): 0->O, 1->I, 2->Z, 4->A, 5->S, 6->G, 7->T, 8->B

    Deliberately excluded: L->1 and J->3/U->0 (shapes differ in plate fonts), 3->B/E and 9->g (rare
    and ambiguous), 0->D/Q (0 already maps to O, the most likely reading).  ``*``, ``^``, ``%`` and
    literal positions are never altered; ``&`` positions only turn I/O into 1/0; ``$`` positions
    also take G->C, Q->O, D->O.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

__all__ = [
    "DIGIT_TO_LETTER",
    "LETTER_TO_DIGIT",
    "REGION_CODES",
    "TEMPLATES",
    "clean_plate",
    "country_of",
    "fits_class",
    "look_alike",
    "matches",
    "normalize_region",
    "templates_for",
]

# --------------------------------------------------------------------------------------------------
# Region codes
# --------------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Country codes of the "Countries" table.  Note: the table lists "Guatamala" as ``gp`` (Guatemala is
# ``gt`` in ISO 3166; ``gp`` is Guadeloupe); the documented code is kept as is.
_COUNTRY_CODES = _words(
    "al ad ao ar am at az by be bz bo ba br bn bg cl co cr hr cy cz dk ec sv ee fi fr gf ge de gi gr "
    "gp gy va hn hu is il in id ie it jo kz ke kr lv lb li lt lu my mv mt mx md mc me np nl nz ni ng "
    "mk no pa py pe ph pl pt qa ro ru sm rs sg sk si za es sr se ch tz tr ua gb uy uz ve vn zm"
)

# Parent codes of the state tables (these countries have no own row in the table).
_PARENT_CODES = ("us", "au", "th", "br", "ca", "ae")

# platehub extensions: not in the Plate Recognizer table.
_EXTENSION_CODES = ("cn", "jp")

_US_STATES = _words(
    "al ak az ar ca co ct de dc fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm "
    "ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy"
)
_TH_STATES = _words(
    "37 15 14 10 10b 10c 99 38 31 24 18 36 22 50 57 20 86 46 62 71 40 81 52 51 42 16 58 44 49 26 73 "
    "48 30 60 80 55 96 39 43 12 13 94 82 93 56 67 76 66 65 54 83 25 77 85 70 21 45 27 47 11 74 75 19 "
    "91 17 33 90 64 72 84 32 63 92 23 53 34 41 61 95 35"
)
_AU_STATES = _words("nsw qld sa tas vic wa")
# ``sc`` is spelled ``br_sc`` in the table (typo); normalize_region accepts both.
_BR_STATES = _words("ac al ap am ba ce df es go mg ma ms mt pe pa pb pr pi rj rn rs ro rr sp se sc to")
_CA_STATES = _words("ab bc mb nb nl nt ns nu on pe qc sk yt")
_AE_STATES = _words("az aj du fu rk sh uq")

_STATE_TABLES = {
    "us": _US_STATES,
    "th": _TH_STATES,
    "au": _AU_STATES,
    "br": _BR_STATES,
    "ca": _CA_STATES,
    "ae": _AE_STATES,
}

REGION_CODES: frozenset[str] = frozenset(
    [*_COUNTRY_CODES, *_PARENT_CODES, *_EXTENSION_CODES]
    + [f"{country}-{state}" for country, states in _STATE_TABLES.items() for state in states]
)


def normalize_region(code: str) -> str | None:
    """Canonical form of a ``regions`` code (``" BR_SC "`` -> ``"br-sc"``), None if unknown."""
    if not isinstance(code, str):
        return None
    canonical = code.strip().lower().replace("_", "-")
    return canonical if canonical in REGION_CODES else None


def country_of(code: str) -> str:
    """Country part of a region code: ``us-ca`` -> ``us``, ``fr`` -> ``fr``, ``br_sc`` -> ``br``."""
    return code.strip().lower().replace("_", "-").split("-", 1)[0]


# --------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------


def _combos(*parts: Sequence[str], min_len: int = 0, max_len: int = 99) -> tuple[str, ...]:
    """All concatenations of one alternative per part, within [min_len, max_len], order kept."""
    out: dict[str, None] = {}
    for pieces in itertools.product(*parts):
        template = "".join(pieces)
        if min_len <= len(template) <= max_len:
            out[template] = None
    return tuple(out)


def _runs(char: str, lo: int, hi: int) -> tuple[str, ...]:
    """``char`` repeated lo..hi times, e.g. ``_runs("#", 1, 3)`` -> ``("#", "##", "###")``."""
    return tuple(char * n for n in range(lo, hi + 1))


def _join(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t for group in groups for t in group))


TEMPLATES: dict[str, tuple[str, ...]] = {
    # ---- Europe ------------------------------------------------------------------------------------
    # Croatia: city code + 3-4 digits + 1-2 letters (ZG 1234-AB).
    "hr": ("@@###@@", "@@####@@", "@@###@", "@@####@"),
    # Ukraine: 2004+ region/number/series (AA 1234 BB, also trailers); 1995-2004 (123-45 KI);
    # motorcycles and 2004 square plates read row by row (1234 AB).
    "ua": ("$$####$$", "#####$$", "####$$"),
    # Romania: county + 2 digits + 3 letters (CJ 12 ABC); Bucharest B + 2-3 digits + 3 letters;
    # temporary red plates (county + 5-6 digits, leading 0); Ministry of Internal Affairs (MAI 12345).
    # County + 3 digits + 3 letters (@@###@@@) is not issued.
    "ro": ("@@##@@@", "B##@@@", "B###@@@", "@@######", "@@#####", "B######", "B#####", "MAI#####"),
    # United Kingdom: current (AB12 CDE); prefix (A123 BCD); suffix (ABC 123D); Northern Ireland
    # (ABZ 1234) and dateless registrations with 3 letters.
    "gb": (
        "@@##@@@",
        "@###@@@",
        "@##@@@",
        "@#@@@",
        "@@@###@",
        "@@@##@",
        "@@@#@",
        "@@@####",
        "@@@###",
        "@@@##",
    ),
    # Germany: district 1-3 letters, 1-2 letters, 1-4 digits (max. 8), optional E (electric) /
    # H (historic) suffix.
    "de": _join(
        _combos(_runs("@", 1, 3), _runs("@", 1, 2), _runs("#", 1, 4), max_len=8),
        _combos(_runs("@", 1, 3), _runs("@", 1, 2), _runs("#", 1, 4), ("E", "H"), max_len=9),
    ),
    # France: SIV since 2009 (AB-123-CD); FNI 1950-2009: 1-4 digits, 1-3 letters, department
    # (2 digits, 2A/2B Corsica, 97x overseas).
    "fr": _join(
        ("@@###@@",),
        _combos(_runs("#", 1, 4), _runs("@", 1, 3), ("##", "2A", "2B", "97#"), max_len=9),
    ),
    # Italy: cars since 1994 (AB 123 CD); motorcycles since 1999 (AB 12345).
    "it": ("@@###@@", "@@#####"),
    # Spain: since 2000 (1234 BCD); special prefixes C (mopeds), E, H, P, R, S, T, V (1234 BCD with
    # prefix letter); provincial 1971-2000 (M 1234 AB / GR 1234 AB).
    "es": ("####@@@", "@####@@@", "@####@@", "@@####@@", "@####@", "@@####@"),
    # Poland: 2-letter district + 5 characters, 3-letter district + 4 characters.
    "pl": (
        "@@#####",
        "@@####@",
        "@@###@@",
        "@@#@###",
        "@@#@@##",
        "@@@@###",
        "@@@##@@",
        "@@@#@##",
        "@@@##@#",
        "@@@#@@#",
        "@@@@@##",
        "@@@####",
        "@@@###@",
    ),
    # Netherlands: sidecodes 1-14 (XX-99-99 ... 999-XX-9).
    "nl": (
        "@@####",
        "####@@",
        "##@@##",
        "@@##@@",
        "@@@@##",
        "##@@@@",
        "##@@@#",
        "#@@@##",
        "@@###@",
        "@###@@",
        "@@@##@",
        "@##@@@",
        "#@@###",
        "###@@#",
    ),
    # Belgium: since 2008 (1-ABC-123); 1973-2008 (ABC-123, 123-ABC).
    "be": ("#@@@###", "@@@###", "###@@@"),
    # Portugal: 1937-92 (AA-00-00), 1992-2005 (00-00-AA), 2005-20 (00-AA-00), 2020+ (AA-00-AA).
    "pt": ("@@####", "####@@", "##@@##", "@@##@@"),
    # Austria: district 1-2 letters + serial (1-5 digits + 1-3 letters, 3-6 characters).
    "at": _combos(_runs("@", 1, 2), _runs("#", 1, 5), _runs("@", 1, 3), min_len=4, max_len=8),
    # Switzerland: canton + 1-6 digits (ZH 123456).
    "ch": _combos(("@@",), _runs("#", 1, 6)),
    # Czechia: since 2001 (1A2 3456, second character letter or digit); 1960-2001 (ABC 12-34).
    "cz": ("#@*####", "@@@####", "@@####"),
    # Slovakia: 1997-2022 district + 3 digits + 2 letters; 2023+ same shape (AB 123 CD).
    "sk": ("@@###@@",),
    # Hungary: 1990-2022 (ABC-123); 2022+ (AA AA-123).
    "hu": ("@@@###", "@@@@###"),
    # Bulgaria: province 1-2 letters + 4 digits + 2 letters (CA 1234 AB).
    "bg": ("@####@@", "@@####@@"),
    # Slovenia: region + 5 characters (LJ 12-34A, LJ AB-123).
    "si": ("@@*****",),
    # Serbia: city + 3-5 digits + 2 letters (BG 123-AB).
    "rs": ("@@###@@", "@@####@@", "@@#####@@"),
    # Bosnia and Herzegovina: since 2009 (A12-E-345); 1998-2009 (123-A-456).
    "ba": ("*##@###",),
    # Montenegro: municipality + letters + digits (PG AB 123, PG A 123).
    "me": ("@@@@###", "@@@###"),
    # North Macedonia: city + 3-4 digits + 2 letters (SK 1234 AB).
    "mk": ("@@####@@", "@@###@@"),
    # Albania: since 2011 (AA 123 AA); older city + 4 digits + letter (TR 1234 A).
    "al": ("@@###@@", "@@####@"),
    # Greece: cars (ABC-1234); motorcycles (ABC-123).
    "gr": ("@@@####", "@@@###"),
    # Sweden: ABC 123, since 2019 also ABC 12D.
    "se": ("@@@###", "@@@##@"),
    # Norway: cars (AB 12345, EL/EK/EV 12345 electric); motorcycles (AB 1234).
    "no": ("@@#####", "@@####"),
    # Finland: 2-3 letters + 1-3 digits (ABC-123).
    "fi": _combos(_runs("@", 2, 3), _runs("#", 1, 3)),
    # Denmark: AB 12 345.
    "dk": ("@@#####",),
    # Estonia: 123 ABC.
    "ee": ("###@@@",),
    # Latvia: 2 letters + 1-4 digits (AB-1234).
    "lv": _combos(("@@",), _runs("#", 1, 4)),
    # Lithuania: ABC 123.
    "lt": ("@@@###",),
    # Ireland: year (2 digits until 2012, 3 digits since 2013) + county (1-2 letters) + 1-6 digits.
    "ie": _combos(("##", "###"), ("@", "@@"), _runs("#", 1, 6)),
    # Luxembourg: AB 1234, older 4-5 digit and letter+4 digit plates.
    "lu": ("@@####", "@####", "#####", "####"),
    # Turkey: province (2 digits) + 1 letter & 4-5 digits / 2 letters & 3-4 digits / 3 letters &
    # 2-3 digits (34 ABC 12).
    "tr": ("##@####", "##@#####", "##@@###", "##@@####", "##@@@##", "##@@@###"),
    # Russia: cars (A123BC 77 / 777); motorcycles (1234 AB 77); trailers (AB 1234 77); taxis
    # (AB 123 77).
    "ru": ("@###@@##", "@###@@###", "####@@##", "####@@###", "@@######", "@@#######", "@@#####"),
    # Belarus: 1234 AB-7; trailers AB 1234-7.
    "by": ("####@@#", "@@#####"),
    # Moldova: ABC 123; regional C AB 123.
    "md": ("@@@###", "@@@@###"),
    # Kazakhstan: since 2012 (123 ABC 02, 123 AB 02); 1993-2012 (A 123 ABC).
    "kz": ("###@@@##", "###@@##", "@###@@@"),
    # Georgia: since 2004 (AB-123-CD); older ABC-123.
    "ge": ("@@###@@", "@@@###"),
    # Armenia: 12 AB 345; older 123 AB 12.
    "am": ("##@@###", "###@@##"),
    # Azerbaijan: 10 AB 123.
    "az": ("##@@###",),
    # Uzbekistan: private (01 A 123 BC); legal entities (01 123 ABC).
    "uz": ("##@###@@", "#####@@@"),
    # Cyprus: ABC 123.
    "cy": ("@@@###",),
    # Malta: ABC 123.
    "mt": ("@@@###",),
    # Iceland: AB 123 / AB C12.
    "is": ("@@*##",),
    # Gibraltar: G 1234 A.
    "gi": ("G####@",),
    # Vatican City: SCV 1234, CV 1234.
    "va": ("SCV####", "CV####", "SCV###", "CV###"),
    # ---- Americas ----------------------------------------------------------------------------------
    # Brazil: old (ABC-1234); Mercosul since 2018 (ABC1D23).
    "br": ("@@@####", "@@@#@##"),
    # Argentina: 1995-2016 (ABC 123); Mercosur since 2016 (AB 123 CD).
    "ar": ("@@@###", "@@###@@"),
    # Uruguay / Paraguay (old national and Mercosur formats).
    "uy": ("@@@####",),
    "py": ("@@@####", "@@@@###"),
    # Mexico: state series vary (ABC-123-D, ABC-12-34, AB-1234-C, 123-ABC ...).
    "mx": ("@@@####", "@@@###@", "@@####@", "###@@@", "@@@###", "@##@@@"),
    # Chile: since 2007 (BBBB 12); 1985-2007 (AB 1234); motorcycles (BBB 12).
    "cl": ("@@@@##", "@@####", "@@@##"),
    # Colombia: cars (ABC 123); motorcycles (ABC 12D).
    "co": ("@@@###", "@@@##@"),
    # Peru: since 2010 (A1B-234, ABC-123); motorcycles (1234-AB).
    "pe": ("@*@###", "####@@"),
    # Ecuador: ABC-1234 (older ABC-123).
    "ec": ("@@@####", "@@@###"),
    # Costa Rica: ABC-123, numeric 123456.
    "cr": ("@@@###", "######"),
    # Venezuela: since 2008 (AB123CD).
    "ve": ("@@###@@",),
    # Bolivia: 1234 ABC.
    "bo": ("####@@@",),
    # Guatemala (coded ``gp`` in the table): P 123 ABC and other type letters.
    "gp": ("@###@@@",),
    # United States: no single template. Every shape of 4-7 characters that some state issues, from
    # the per-state patterns of openalpr's us.patterns (plates-train/synth-assets; letters and digits
    # only: state-specific letter classes widened to @). Vanity plates are not modelled.
    "us": (
        "#######", "######@", "#####@#", "#####@@", "####@@@", "###@###", "##@###@", "##@##@#",
        "##@#@#@", "##@@###", "#@#####", "#@####@", "#@##@##", "#@@####", "#@@###@", "#@@@###",
        "@######", "@#####@", "@@#####", "@@####@", "@@#@###", "@@@####", "@@@###@", "@@@@###",
        "######", "#####@", "####@@", "###@@#", "###@@@", "##@###", "##@@##", "##@@@#",
        "#@####", "#@@###", "#@@##@", "#@@@##", "#@@@@#", "@#####", "@###@@", "@##@@@",
        "@#@###", "@@####", "@@###@", "@@##@@", "@@#@#@", "@@@###", "@@@##@", "@@@@##",
        "@@@@@#", "#####", "####@", "###@#", "###@@", "##@##", "##@@@", "#@@#@",
        "@####", "@@###", "@@@##", "####", "###@", "##@@", "@###",
    ),
    # Canada: ON (ABCD 123), AB (ABC-1234), QC (A12 BCD / 123 ABC), BC (AB1 23C), prairies/maritimes
    # (ABC 123 / 123 ABC).
    "ca": ("@@@@###", "@@@####", "@@@###", "###@@@", "@##@@@", "@@###@"),
    # ---- Oceania -----------------------------------------------------------------------------------
    # Australia: NSW (AB 12 CD, ABC 12D), VIC (1AB 2CD, ABC 123), QLD (123 ABC, 123 AB4),
    # SA (S123 ABC), WA (1ABC 123), TAS (A12 BC).
    "au": ("@@##@@", "@@@##@", "#@@#@@", "@@@###", "###@@@", "###@@#", "S###@@@", "#@@@###", "@##@@"),
    # New Zealand: ABC123, older AB1234.
    "nz": ("@@@###", "@@####"),
    # ---- Asia --------------------------------------------------------------------------------------
    # India: state + district + series (0-3 letters) + 4 digits (MH 12 AB 1234, DL 3C AB 1234);
    # Bharat series (22 BH 1234 AB).
    "in": _join(
        _combos(("@@",), ("##", "#"), ("", "@", "@@", "@@@"), ("####",)),
        ("##BH####@@", "##BH####@"),
    ),
    # Indonesia: region 1-2 letters + 1-4 digits + 0-3 letters (B 1234 ABC).
    "id": _combos(_runs("@", 1, 2), _runs("#", 1, 4), ("", "@", "@@", "@@@")),
    # Malaysia: prefix 1-3 letters + 1-4 digits + optional suffix letter (WXY 1234 A).
    "my": _combos(_runs("@", 1, 3), _runs("#", 1, 4), ("", "@")),
    # Thailand: optional leading digit + 1-2 Thai consonants + 1-4 digits (1กก 1234); the province
    # name printed below is not part of the text.
    "th": _combos(("", "#"), ("%", "%%"), _runs("#", 1, 4)),
    # Vietnam: cars (30A 123.45, 30A 1234, 51LD 12345); motorcycles (29-B1 123.45).
    "vn": ("##@#####", "##@####", "##@######", "##@@#####", "##@@####"),
    # Philippines: since 2014 (ABC 1234); older (ABC 123); motorcycles (123 ABC, AB 1234, 1234 AB).
    "ph": ("@@@####", "@@@###", "###@@@", "@@####", "####@@"),
    # Singapore: prefix 1-3 letters + 1-4 digits + checksum letter (SBA 1234 A).
    "sg": _combos(_runs("@", 1, 3), _runs("#", 1, 4), ("@",)),
    # United Arab Emirates: emirate code (letter(s) in Dubai/Sharjah/RAK..., 1-2 digit category in
    # Abu Dhabi) + 1-5 digits.
    "ae": _combos(("@", "@@", "#", "##"), _runs("#", 1, 5)),
    # Israel: 7 digits (12-345-67), 8 digits since 2017 (123-45-678).
    "il": ("#######", "########"),
    # Japan (platehub extension): the serial number (1-4 digits, "12-34"); region kanji, class
    # number and kana are read separately.
    "jp": _runs("#", 1, 4),
    # South Korea: 12가 3456, since 2019 123가 4567; old regional plates (서울 12가 3456).
    "kr": ("##^####", "###^####", "^^##^####"),
    # China (platehub extension): province + letter + 5 alphanumerics (京A 12345, 皖A D1234);
    # new-energy 8 characters (small: 粤B D12345 / DA1234, large: 粤B 12345D); suffixed series:
    # learner 学, police 警, trailer 挂, Hong Kong 港 / Macau 澳 cross-border, consulate 领,
    # test 试, oversized 超; embassy (使 123456); armed police (WJ 京 1234X); military (VA 12345).
    "cn": (
        "^@&&&&&",
        "^@@&####",
        "^@#####@",
        "^@&&&&学",
        "^@&&&&警",
        "^@&&&&挂",
        "^@&&&&港",
        "^@&&&&澳",
        "^@&&&&领",
        "^@&&&&试",
        "^@&&&&超",
        "使######",
        "WJ^####*",
        "@@#####",
    ),
    # ---- Africa ------------------------------------------------------------------------------------
    # South Africa: Gauteng (AB 12 CD GP, ABC 123 GP), Western Cape (CA 123-456, CA 12345),
    # KwaZulu-Natal (ND 123-456), other provinces (ABC 123 EC/MP/NW/FS/NC, ABC 123 L).
    "za": (
        "@@##@@GP",
        "@@@###GP",
        "C@######",
        "C@#####",
        "C@@#####",
        "N@######",
        "N@#####",
        "@@@###EC",
        "@@@###MP",
        "@@@###NW",
        "@@@###FS",
        "@@@###NC",
        "@@@###L",
    ),
    # Kenya: KAB 123C.
    "ke": ("K@@###@",),
    # Nigeria: ABC 123 DE.
    "ng": ("@@@###@@",),
}

# French overseas departments use the French series.
TEMPLATES["gf"] = TEMPLATES["fr"]


# --------------------------------------------------------------------------------------------------
# Matching and repair
# --------------------------------------------------------------------------------------------------

# Separators dropped before comparison (space, dash, dot, middle dot, underscore, slash).
_SEPARATORS = frozenset(" \t-._/\u00b7\u2010\u2011\u2013\u2014\u2022\u30fb")

# Cyrillic letters identical in shape to Latin ones (the only letters on Ukrainian/Russian plates).
_CYRILLIC_TO_LATIN = str.maketrans("АВЕІКМНОРСТХУ", "ABEIKMHOPCTXY")

LETTER_TO_DIGIT: dict[str, str] = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "I": "1",
    "Z": "2",
    "A": "4",
    "S": "5",
    "G": "6",
    "T": "7",
    "B": "8",
}
DIGIT_TO_LETTER: dict[str, str] = {
    "0": "O",
    "1": "I",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "B",
}

_CLASSES = frozenset("@#*&^%$")
_CYRILLIC_TWINS = frozenset("ABCEHIKMOPTX")


def clean_plate(text: str) -> str:
    """Upper-case, map Cyrillic look-alikes to Latin and drop separators."""
    upper = text.upper().translate(_CYRILLIC_TO_LATIN)
    return "".join(ch for ch in upper if ch not in _SEPARATORS)


def _is_latin(ch: str) -> bool:
    return "A" <= ch <= "Z"


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF  # CJK Unified Ideographs
        or 0x3400 <= cp <= 0x4DBF  # CJK Extension A
        or 0xAC00 <= cp <= 0xD7A3  # Hangul syllables
        or 0x3041 <= cp <= 0x30FF  # Hiragana + Katakana
    )


def _is_thai_consonant(ch: str) -> bool:
    return "\u0e01" <= ch <= "\u0e2e"


def fits_class(ch: str, cls: str) -> bool:
    if cls == "@":
        return _is_latin(ch)
    if cls == "#":
        return _is_digit(ch)
    if cls == "*":
        return _is_latin(ch) or _is_digit(ch)
    if cls == "&":
        return (_is_latin(ch) and ch not in "IO") or _is_digit(ch)
    if cls == "^":
        return _is_cjk(ch)
    if cls == "%":
        return _is_thai_consonant(ch)
    if cls == "$":
        return ch in _CYRILLIC_TWINS
    return ch == cls


_CLASS_PATTERNS = {
    "@": "[A-Z]",
    "#": "[0-9]",
    "*": "[A-Z0-9]",
    "&": "[A-HJ-NP-Z0-9]",
    "^": "[\u4e00-\u9fff\u3400-\u4dbf\uac00-\ud7a3\u3041-\u30ff]",
    "%": "[\u0e01-\u0e2e]",
    "$": "[ABCEHIKMOPTX]",
}


@lru_cache(maxsize=512)
def shape(templates: tuple[str, ...]) -> re.Pattern[str]:
    """One compiled pattern for a set of templates (a plate is checked against a country's
    hundreds of US-state shapes in one regex match, not one Python loop per template)."""
    alternatives = ("".join(_CLASS_PATTERNS.get(cls) or re.escape(cls) for cls in t) for t in templates)
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or "(?!)")


def fits_any(text: str, templates: tuple[str, ...]) -> bool:
    """True if ``text`` (separators ignored) has exactly the shape of one of ``templates``."""
    return bool(templates) and shape(templates).fullmatch(clean_plate(text)) is not None


def matches(text: str, template: str) -> bool:
    """True if ``text`` (separators ignored) has exactly the shape of ``template``."""
    return fits_any(text, (template,))


# Special-use series a country issues in small numbers. A read that fits only one of these ranks
# below a read that fits a common template (rules.RARE_FACTOR) and is not taken as confident: a
# Chinese province character misread as a Latin letter (川X90621 read NX90621) otherwise looks
# exactly like a military plate (VA12345).
RARE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "cn": ("使######", "WJ^####*", "@@#####"),  # embassy, armed police, military
}


def templates_for(regions: Iterable[str], common: bool = False) -> tuple[str, ...]:
    """Union of the templates of the given regions' countries, deduplicated, order kept; with
    `common`, without each country's special-use series (RARE_TEMPLATES).

    Unknown region codes and countries without templates contribute nothing.
    """
    out: dict[str, None] = {}
    for region in regions:
        code = normalize_region(region)
        if code is None:
            continue
        country = country_of(code)
        rare = RARE_TEMPLATES.get(country, ()) if common else ()
        for template in TEMPLATES.get(country, ()):
            if template not in rare:
                out[template] = None
    return tuple(out)


_LETTER_TWINS = {"G": "C", "Q": "O", "D": "O"}  # letters outside the Cyrillic-twin set, and their twin


def look_alike(ch: str, cls: str) -> str | None:
    """The look-alike of ``ch`` that fits template class ``cls`` (O -> 0 where a digit is due, 8 -> B
    where a letter is ...), or None."""
    if cls == "#" or (cls == "&" and ch in "IO"):
        twin = LETTER_TO_DIGIT.get(ch)
    elif cls in "@$":
        twin = DIGIT_TO_LETTER.get(ch) or (_LETTER_TWINS.get(ch) if cls == "$" else None)
    else:
        return None
    return twin if twin is not None and fits_class(twin, cls) else None

