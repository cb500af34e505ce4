"""The recognition engine on real photos from the dev set."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from platehub.engine import EngineOptions
from platehub.engine.image import ImageError, decode


def img(dev_data, name: str) -> np.ndarray:
    return cv2.imread(str(dev_data / "images" / name))


def test_reads_croatian_plate(engine, dev_data):
    results = engine.recognize(img(dev_data, "hr-01.jpg"), EngineOptions(regions=("hr",)))
    assert [r.plate for r in results] == ["ZG9757HG"]
    r = results[0]
    # the labelled box is [142, 230, 269, 307]
    assert abs(r.box.xmin - 142) < 15 and abs(r.box.ymax - 307) < 15
    assert 0.5 < r.dscore <= 1 and 0.6 < r.score <= 1
    assert r.candidates[0].plate == r.plate
    assert r.region == "hr" and r.region_score == 1.0


def test_reads_two_row_plate(engine, dev_data):
    """A square Ukrainian trailer plate: digits on top, letters below, read top then bottom."""
    results = engine.recognize(img(dev_data, "ua-multiline-26.jpeg"), EngineOptions(regions=("ua",)))
    assert results and results[0].plate == "10922BX"
    assert results[0].rows == 2


def test_a_square_plate_the_first_passes_miss_is_found_by_the_last_resort(engine, dev_data):
    """A Ukrainian tractor plate (square, two rows): neither 704 pass scores it over the floor; the
    larger last-resort pass, run because nothing was found, does."""
    results = engine.recognize(img(dev_data, "ua-multiline-28.jpeg"), EngineOptions(regions=("ua",)))
    assert [r.plate for r in results] == ["30217BI"]


def test_vehicle_fields_follow_not_found_convention(engine, dev_data):
    r = engine.recognize(img(dev_data, "hr-01.jpg"))[0]
    assert (r.vehicle.type, r.vehicle.score, r.vehicle.box.as_dict()) == (
        "Unknown", 0.0, {"xmin": 0, "ymin": 0, "xmax": 0, "ymax": 0})


def test_fast_mode_uses_one_detection_pass(engine):
    """On an image without plates regular mode tries a second (colour) pass, then a larger input;
    fast never does, and uses the quick (int8) detector."""
    calls = []
    originals = engine.detector.detect, engine.quick_detector.detect
    assert engine.quick_detector is not engine.detector
    engine.detector.detect = lambda img, size, *a, **k: calls.append(("fp32", size)) or originals[0](img, size, *a, **k)
    engine.quick_detector.detect = lambda img, size, *a, **k: calls.append(("int8", size)) or originals[1](
        img, size, *a, **k)
    blank = np.full((480, 640, 3), 127, np.uint8)
    try:
        engine.recognize(blank, EngineOptions(mode="fast"))
        assert calls == [("int8", 512)]
        calls.clear()
        engine.recognize(blank, EngineOptions(mode="regular"))
        assert calls == [("fp32", 704), ("fp32", 704), ("fp32", 960)]
    finally:
        engine.detector.detect, engine.quick_detector.detect = originals


def test_redaction_mode_finds_at_least_what_regular_finds(engine, dev_data):
    image = img(dev_data, "ro-dashcam-dayride_type1_001-t1192.jpg")
    regular = engine.recognize(image, EngineOptions(threshold_o=0))
    redaction = engine.recognize(image, EngineOptions(mode="redaction", threshold_o=0))
    assert len(redaction) >= len(regular) >= 1


def test_region_strict_discards_reads_outside_the_templates(engine, dev_data):
    image = img(dev_data, "hr-01.jpg")
    assert engine.recognize(image, EngineOptions(regions=("hr",), region_strict=True))[0].plate == "ZG9757HG"
    # a Croatian plate cannot fit the Chinese templates: strict mode drops it, guide mode keeps it
    assert engine.recognize(image, EngineOptions(regions=("cn",), region_strict=True)) == []
    assert engine.recognize(image, EngineOptions(regions=("cn",)))[0].plate == "ZG9757HG"


def test_text_formats_with_strict(engine, dev_data):
    image = img(dev_data, "hr-01.jpg")
    fits = EngineOptions(text_formats=("[a-z]{2}[0-9]{4}[a-z]{2}",), region_strict=True)
    assert engine.recognize(image, fits)[0].plate == "ZG9757HG"
    wrong = EngineOptions(text_formats=("[0-9]{3}[a-z]{2}",), region_strict=True)
    assert engine.recognize(image, wrong) == []


def test_thresholds_filter(engine, dev_data):
    image = img(dev_data, "hr-01.jpg")
    assert engine.recognize(image, EngineOptions(threshold_d=0.99)) == []
    assert engine.recognize(image, EngineOptions(threshold_o=0.9999)) == []


def test_chinese_plate_crop(engine, dev_data):
    crop = cv2.imread(str(dev_data / "crops-cn" / "皖A00E66.jpg"))
    r = engine.read_plate(crop, EngineOptions(regions=("cn",), threshold_o=0))
    assert r is not None and r.plate == "皖A00E66" and r.region == "cn"


def test_no_plate_in_a_blank_image(engine):
    assert engine.recognize(np.full((480, 640, 3), 127, np.uint8)) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "not a supported image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "truncated"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "truncated"),
    ],
)
def test_decode_refuses_what_is_not_an_image(data, message):
    with pytest.raises(ImageError, match=message):
        decode(data)


def test_decode_refuses_a_truncated_photo(photo):
    data = photo("hr-01.jpg")
    assert decode(data).shape == (480, 640, 3)
    with pytest.raises(ImageError, match="truncated"):
        decode(data[: len(data) // 2])


def test_one_reader_pass_per_image_and_a_second_opinion_only_for_doubtful_plates(engine, dev_data):
    """Every plate of an image goes through the plate reader in one batched call; the PP-OCR text-row
    reader is asked only about plates whose read is doubtful (in fast mode: fits no requested region).
    The reader is replaced by one that reads every crop as a given line, to choose what is doubtful."""
    from platehub.engine.pipeline import Engine
    from platehub.engine.types import CharProb, TextLine

    class Reader:
        def __init__(self, text: str, prob: float) -> None:
            self.line, self.calls = TextLine(tuple(CharProb(c, prob) for c in text)), []

        def recognize(self, crops):
            self.calls.append(len(crops))
            return [self.line] * len(crops)

    opinions = []
    second = engine.second_opinion.readings
    engine.second_opinion.readings = lambda plates: opinions.append(len(plates)) or second(plates)
    photo = img(dev_data, "hr-01.jpg")
    try:
        sure = Engine(engine.detector, Reader("ZG9757HG", 0.99), engine.second_opinion, engine.quick_detector)
        assert sure.recognize(photo, EngineOptions(regions=("hr",)))[0].plate == "ZG9757HG"
        assert sure.reader.calls == [1] and opinions == []  # a confident read that fits the region
        sure.recognize(photo, EngineOptions(regions=("cn",)))  # fits no Chinese template: doubtful
        assert sure.reader.calls == [1, 1] and opinions == [1]
        opinions.clear()
        sure.recognize(photo, EngineOptions(regions=("hr",), mode="fast"))
        assert opinions == []
        sure.recognize(photo, EngineOptions(regions=("cn",), mode="fast"))  # fast: only a misfit is read again
        assert opinions == [1]
        opinions.clear()
        unsure = Engine(engine.detector, Reader("ZG9757HG", 0.7), engine.second_opinion, engine.quick_detector)
        assert unsure.recognize(photo, EngineOptions(regions=("hr",)))[0].plate == "ZG9757HG"
        assert opinions == [1]  # a weak read: the second opinion joins (and agrees)
        opinions.clear()
        unsure.recognize(photo, EngineOptions(regions=("hr",), mode="fast"))
        assert opinions == []
    finally:
        engine.second_opinion.readings = second


def test_chinese_plates_get_the_chinese_recogniser(engine, dev_data):
    """Doubtful plates that look Chinese are read by the Chinese plate recogniser too; on the first
    200 dev crops it lifts exact reads (regions cn), and it is never asked about a Latin plate that
    the plate reader is sure of."""
    import json

    rows = [json.loads(x) for x in (dev_data / "crops-cn.jsonl").read_text(encoding="utf-8").splitlines()[:200]]
    crops = [(cv2.imread(str(dev_data / r["image"])), r["text"]) for r in rows]
    options = EngineOptions(regions=("cn",), threshold_o=0.0)

    def exact(e) -> int:
        return sum((got := e.read_plate(crop, options)) is not None and got.plate == text for crop, text in crops)

    asked = []
    chinese = engine.chinese.recognize
    engine.chinese.recognize = lambda plates: asked.append(len(plates)) or chinese(plates)
    try:
        with_it = exact(engine)
        assert len(asked) == 200
        asked.clear()
        engine.recognize(img(dev_data, "hr-01.jpg"), EngineOptions(regions=("hr",)))
        assert asked == []
    finally:
        engine.chinese.recognize = chinese
    from platehub.engine import Engine

    without = exact(Engine(engine.detector, engine.reader, engine.second_opinion, engine.quick_detector))
    assert with_it >= 196 and with_it > without, (with_it, without)


def _dev_reads(engine, dev_data, regions_of) -> list[tuple[str, list[str], list[str]]]:
    """(truth, reads without regions, reads with `regions_of(country)`) for the labelled hr/ua photos."""
    import json

    out = []
    for line in (dev_data / "manifest.jsonl").read_text().splitlines():
        item = json.loads(line)
        truth = item["plates"][0].get("text")
        if truth and item["country"] in ("hr", "ua"):
            photo = img(dev_data, Path(item["image"]).name)
            free = [r.plate for r in engine.recognize(photo, EngineOptions(threshold_o=0))]
            guided = engine.recognize(photo, EngineOptions(regions=regions_of(item["country"]), threshold_o=0))
            out.append((truth, free, [r.plate for r in guided]))
    return out


def test_the_right_region_never_turns_a_right_read_wrong(engine, dev_data):
    """Issue 10: for every labelled photo of the dev set (Croatian and Ukrainian plates), passing its
    country as `regions` never turns a right read wrong, and fixes some (look-alikes, strays)."""
    reads = _dev_reads(engine, dev_data, lambda country: (country,))
    assert [(t, g) for t, free, g in reads if t in free and t not in g] == []
    assert sum(t in g and t not in free for t, free, g in reads) >= 1


def test_a_wrong_region_costs_nothing(engine, dev_data):
    """Issue 10: a region the plates are not from (mx, us-ca for Croatian and Ukrainian plates)
    turns no right read wrong — no partial reading that fits a shorter template (ZG9757H for
    ZG9757HG, 0680EA for AB0680EA), no confident letter rewritten into a digit it gave 1 %."""
    reads = _dev_reads(engine, dev_data, lambda country: ("mx", "us-ca"))
    assert [(t, g) for t, free, g in reads if t in free and t not in g] == []
