"""The video tracker (platehub.video.tracker) and channel zones (platehub.video.zones): pure rules,
stated as tables of made-up frame sequences. One read per vehicle pass, Plate Recognizer Stream's
`max_prediction_delay` ("Maximum delay in seconds before a prediction is returned") and
`memory_decay` ("Maximum time in seconds that a result stays in memory")."""

from __future__ import annotations

import pytest

from platehub.video.tracker import Sighting, Tracker, TrackerSettings
from platehub.video.zones import parse_polygons, wanted

FPS = 5


def moving(text: str, t0: float, seconds: float, x: float = 500, y: float = 300, dx: float = 0, dy: float = 20,
           texts: dict[int, tuple[str, float]] | None = None, w: float = 100, h: float = 30):
    """A plate seen in every frame from t0 for `seconds`, moving (dx, dy) pixels a frame; `texts`: frame
    index → (text, score) overrides (misreads)."""
    out = []
    for i in range(int(seconds * FPS)):
        read, score = (texts or {}).get(i, (text, 0.95))
        bx, by = x + dx * i, y + dy * i
        out.append(Sighting(t0 + i / FPS, (bx, by, bx + w, by + h), read, score, 0.8, ref=i))
    return out


def run(sightings: list[Sighting], until: float, settings: TrackerSettings | None = None):
    """Feed every frame time from 0 to `until`; returns (time reported, pass) pairs, flush at `until`."""
    tracker = Tracker(settings)
    out = []
    by_t: dict[float, list[Sighting]] = {}
    for s in sightings:
        by_t.setdefault(round(s.t, 3), []).append(s)
    for i in range(int(until * FPS) + 1):
        t = round(i / FPS, 3)
        out += [(t, p) for p in tracker.update(t, by_t.get(t, []))]
    out += [(until, p) for p in tracker.flush()]
    return out


CASES = [
    # name, sightings, until, settings, expected [(plate, direction, reported at)]
    ("a plate crossing the view is one pass, reported once lost for lost_after (1.5 s)",
     moving("34A36837", 1.0, 2.0), 6.0, None, [("34A36837", "in", 4.4)]),
    ("misreads are outvoted by score-weighted vote across frames",
     moving("89C20339", 0.0, 2.0, texts={0: ("BPCZ0379", 0.5), 1: ("B9C20339", 0.9), 2: ("B9C20339", 0.9),
                                          3: ("69C20339", 0.93)}), 5.0, None, [("89C20339", "in", 3.4)]),
    ("a shorter partial read joins the track it continues",
     moving("34A23126", 0.0, 1.4, texts={0: ("A23126", 1.0)}), 4.0, None, [("34A23126", "in", 2.8)]),
    ("moving up the image is out",
     moving("AB1234CD", 0.0, 2.0, dy=-20, y=600), 5.0, None, [("AB1234CD", "out", 3.4)]),
    ("two plates side by side are two passes",
     moving("AAA111", 0.0, 2.0, x=100) + moving("BBB222", 0.0, 2.0, x=900), 5.0, None,
     [("AAA111", "in", 3.4), ("BBB222", "in", 3.4)]),
    ("one stray read is not a vehicle",
     moving("XYZ999", 1.0, 0.2), 5.0, None, []),
    ("a plate still in view is reported max_prediction_delay after it was first seen, and only then",
     moving("PARK001", 0.0, 20.0, dy=0), 25.0, TrackerSettings(max_prediction_delay=6.0),
     [("PARK001", None, 6.0)]),
    ("a parked plate hidden for a while and seen again is remembered (memory_decay), not reported again",
     moving("PARK001", 0.0, 4.0, dy=0) + moving("PARK001", 10.0, 4.0, dy=0) + moving("PARK001", 30.0, 4.0, dy=0),
     40.0, TrackerSettings(memory_decay=300), [("PARK001", None, 5.4)]),
    ("the same plate misread by one character within memory_decay is not a new pass",
     moving("89C20339", 0.0, 2.0) + moving("B9C20339", 20.0, 2.0) + moving("89C20389", 40.0, 2.0), 50.0, None,
     [("89C20339", "in", 3.4)]),
    ("a plate two characters off is another vehicle",
     moving("89C20339", 0.0, 2.0) + moving("89C21139", 20.0, 2.0), 30.0, None,
     [("89C20339", "in", 3.4), ("89C21139", "in", 23.4)]),
    ("the same text after memory_decay is a new pass",
     moving("AB1234CD", 0.0, 2.0) + moving("AB1234CD", 20.0, 2.0), 30.0, TrackerSettings(memory_decay=10),
     [("AB1234CD", "in", 3.4), ("AB1234CD", "in", 23.4)]),
    ("a plate missed in one frame keeps its track",
     [s for s in moving("34A36837", 0.0, 3.0) if s.ref != 5], 6.0, None, [("34A36837", "in", 4.4)]),
]


@pytest.mark.parametrize("name, sightings, until, settings, expected", CASES, ids=[c[0] for c in CASES])
def test_tracker(name, sightings, until, settings, expected):
    got = run(sightings, until, settings)
    assert [(p.plate, p.direction, t) for t, p in got] == [(e[0], e[1], pytest.approx(e[2])) for e in expected]


def test_a_pass_carries_its_best_sighting_votes_and_times():
    s = moving("89C20339", 1.0, 2.0, texts={2: ("B9C20339", 0.9), 4: ("89C20339", 0.99)})
    [(_, p)] = run(s, 5.0)
    assert p.best.ref == 4 and p.best.text == "89C20339"  # the best-scored sighting of the winning text
    assert (p.first_seen, p.last_seen, p.sightings) == (1.0, pytest.approx(2.8), 10)
    assert [c[0] for c in p.candidates] == ["89C20339", "B9C20339"]
    assert p.candidates[0][1] > 0.85 and abs(sum(c[1] for c in p.candidates) - 1) < 1e-3


ZONE = [[[0, 2160], [7680, 2160], [7680, 4320], [0, 4320]]]  # the lower half of the view
MASK = [[[0, 3240], [1920, 3240], [1920, 4320], [0, 4320]]]  # its bottom-left corner


@pytest.mark.parametrize("box, size, zones, masks, expected", [
    ((100, 100, 200, 130), (1920, 1080), [], [], True),
    ((100, 100, 200, 130), (1920, 1080), ZONE, [], False),  # upper half
    ((900, 700, 1000, 730), (1920, 1080), ZONE, [], True),
    ((450, 350, 500, 365), (960, 540), ZONE, [], True),  # same place, half the resolution
    ((100, 900, 200, 930), (1920, 1080), ZONE, MASK, False),  # masked
    ((1500, 900, 1600, 930), (1920, 1080), ZONE, MASK, True),
])
def test_zones_and_masks_are_in_8k_logical_coordinates(box, size, zones, masks, expected):
    assert wanted(box, *size, parse_polygons(zones, "zones"), parse_polygons(masks, "masks")) is expected


@pytest.mark.parametrize("value", ["x", [[[0, 0], [1, 1]]], [[[0, 0], [1, 1], [9000, 1]]],
                                   [[[0, 0], [1, "a"], [2, 2]]]])
def test_bad_polygons_are_refused_with_the_reason(value):
    with pytest.raises(ValueError, match="zones"):
        parse_polygons(value, "zones")
