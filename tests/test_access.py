"""Access lists: entries and their parsing, schedules and time zones, the repository (SQLite and
PostgreSQL), the matcher, CSV/XLSX import and export."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import store_on

from platehub.config import Settings
from platehub.core import listfile, similar
from platehub.core.access import (
    AccessLists,
    Entry,
    ListError,
    Window,
    _KeyIndex,
    format_schedule,
    parse_entry,
    parse_schedule,
    parse_time,
    variants,
)
from platehub.core.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday, 13:00 in Berlin


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    s = store_on(request, tmp_path, ("access_entries",))
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path / "images")
    yield s
    s.close()


def lists_of(store, **settings) -> AccessLists:
    return AccessLists(store.access, Settings(timezone=settings.pop("timezone", "Europe/Berlin"), **settings))


# ---- parsing ----------------------------------------------------------------------------------------------

def test_schedule_text_round_trips():
    windows = parse_schedule("mon-fri 07:00-19:00; sat 08:00-12:00")
    assert windows == (Window(frozenset({0, 1, 2, 3, 4}), time(7), time(19)), Window(frozenset({5}), time(8), time(12)))
    for text_ in ("mon-fri 07:00-19:00; sat 08:00-12:00", "fri-mon 22:00-06:00", "daily", "sat,sun",
                  "mon,wed,fri 07:00-09:00,17:00-19:00", "tue 00:00-24:00", "Monday 08:00-09:00"):
        parsed = parse_schedule(text_)
        assert parse_schedule(format_schedule(parsed)) == parsed, text_
    assert parse_schedule("fri-mon")[0].days == frozenset({4, 5, 6, 0})
    assert parse_schedule("") == ()
    for bad in ("funday 07:00-08:00", "mon 25:00-26:00", "mon 7-8", "mon-fri 07:00", 42, "mon 07:60-08:00"):
        with pytest.raises(ListError, match="schedule"):
            parse_schedule(bad)


def test_window_crossing_midnight():
    night = parse_schedule("fri 22:00-06:00")[0]
    assert night.covers(4, time(23)) and night.covers(5, time(5, 59))
    assert not night.covers(5, time(6)) and not night.covers(4, time(21, 59)) and not night.covers(0, time(1))
    whole = parse_schedule("wed")[0]
    assert whole.covers(2, time(0)) and whole.covers(2, time(23, 59)) and not whole.covers(3, time(0))


def test_times_iso_and_spec_format_naive_is_site_local():
    spec = parse_time("2026-07-01 08:00:00", BERLIN)  # summer: UTC+2
    assert spec == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert parse_time("2026-01-01T08:00:00", BERLIN) == datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
    assert parse_time("2026-01-01T08:00:00Z", BERLIN) == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert parse_time("2026-01-01T08:00:00.789+01:00", None) == datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
    assert parse_time("", BERLIN) is None and parse_time(None, BERLIN) is None
    for bad in ("yesterday", "2026-13-01 00:00:00", "2026-01-01 25:00:00", 20260101):
        with pytest.raises(ListError):
            parse_time(bad, BERLIN)


def test_parse_entry_validates():
    e = parse_entry({"list": "ALLOW", "plate": " ab-123 cd ", "devices": "cam1 cam2;cam1", "tag": 7}, BERLIN)
    assert (e.list, e.plate, e.devices, e.tag) == ("allow", "AB123CD", ("cam1", "cam2"), "7")
    cases = [({"list": "allow", "plate": " - "}, "plate: empty"), ({"list": "maybe", "plate": "X1"}, "list"),
             ({"plate": "X1"}, "list: missing"), ({"list": "deny"}, "plate: missing"),
             ({"list": "deny", "plate": "X1", "valid_from": "2026-02-01", "valid_until": "2026-01-01"}, "after"),
             ({"list": "deny", "plate": "X1", "colour": "red"}, "unknown field"),
             ({"list": "deny", "plate": ["X1"]}, "plate"), ({"list": "deny", "plate": "X1", "devices": 5}, "devices"),
             ({"list": "deny", "plate": "X" * 40}, "longer")]
    for fields, message in cases:
        with pytest.raises(ListError, match=message):
            parse_entry(fields, BERLIN)


# ---- repository -------------------------------------------------------------------------------------------

def test_repo_crud_and_version(store):
    lists = lists_of(store)
    v0 = store.access.version()
    a = lists.add({"list": "allow", "plate": "AB123CD", "tag": "staff", "schedule": "mon-fri 07:00-19:00",
                   "valid_from": "2026-01-01 00:00:00", "devices": ["gate-1"]})
    assert a.id > 0 and a.valid_from == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert store.access.version() == v0 + 1
    with pytest.raises(ListError, match="holds AB123CD already"):
        lists.add({"list": "allow", "plate": "ab 123 cd"})
    assert store.access.version() == v0 + 1  # a failed write does not count
    d = lists.add({"list": "deny", "plate": "AB123CD"})  # the other list may hold it
    assert store.access.get(a.id) == a
    changed = lists.update(a.id, {"comment": "boss", "devices": None})
    assert changed.comment == "boss" and changed.devices is None and changed.tag == "staff"
    assert changed.schedule == a.schedule and changed.created_at == a.created_at
    with pytest.raises(ListError):
        lists.update(d.id, {"list": "allow"})  # would collide with entry a
    entry, added = lists.put({"list": "deny", "plate": "AB123CD", "tag": "banned"})
    assert not added and entry.id == d.id and entry.tag == "banned"
    v = store.access.version()
    assert lists.remove(d.id).plate == "AB123CD" and lists.remove(d.id) is None
    assert store.access.version() == v + 1
    assert lists.update(99999, {"tag": "x"}) is None


def test_repo_list_filters_and_paging(store):
    lists = lists_of(store)
    for i in range(30):
        lists.add({"list": "allow" if i % 3 else "deny", "plate": f"KA{i:03d}", "tag": "odd" if i % 2 else "even",
                   "devices": "cam-a" if i % 5 == 0 else None})
    total, page = store.access.list(limit=10)
    assert total == 30 and len(page) == 10 and page[0].list == "allow"
    total, page = store.access.list("deny", offset=5, limit=100)
    assert total == 10 and len(page) == 5
    assert store.access.list(tag="odd")[0] == 15
    assert sorted(e.plate for e in store.access.list(q="A01")[1]) == ["KA010", "KA011", "KA012", "KA013", "KA014",
                                                              "KA015", "KA016", "KA017", "KA018", "KA019"]
    assert store.access.list(q="%")[0] == 0  # LIKE characters are literal
    # device: its own entries and those for every device
    assert store.access.list(device="cam-a")[0] == 30
    assert store.access.list(device="cam-b", limit=1000)[1] and all(
        e.devices is None for e in store.access.list(device="cam-b", limit=1000)[1])
    assert len(list(store.access.iterate(batch=7))) == 30
    assert [e.plate for e in store.access.iterate("deny", batch=3)] == sorted(f"KA{i:03d}" for i in range(0, 30, 3))


# ---- matcher ----------------------------------------------------------------------------------------------

def test_match_exact_beats_lookalike_beats_edit(store):
    lists = lists_of(store)
    lists.add({"list": "allow", "plate": "AB123CD"})
    lists.add({"list": "allow", "plate": "AB128CD"})
    lists.add({"list": "deny", "plate": "A8123CD"})
    lists.add({"list": "allow", "plate": "ZZ999ZZ"})
    m = lists.match("AB-123-CD", None, NOW)
    assert [(x.entry.plate, x.kind, x.distance) for x in m] == [
        ("AB123CD", "exact", 0), ("A8123CD", "lookalike", 0), ("AB128CD", "edit", 1)]
    assert m[0].why == "allow list entry AB123CD (exact)"
    assert m[2].why == "allow list entry AB128CD (1 edit: read AB123CD)"
    assert "look-alike" in m[1].why and m[1].entry.list == "deny"
    # look-alikes off: the swap is an ordinary edit
    off = lists.match("AB123CD", None, NOW, lookalikes=False)
    assert [(x.entry.plate, x.kind, x.distance) for x in off] == [
        ("AB123CD", "exact", 0), ("A8123CD", "edit", 1), ("AB128CD", "edit", 1)]
    assert [x.entry.plate for x in lists.match("AB123CD", None, NOW, edits=0)] == ["AB123CD", "A8123CD"]
    assert [x.entry.plate for x in lists.match("AB123CD", None, NOW, edits=0, lookalikes=False)] == ["AB123CD"]
    assert lists.match("", None, NOW) == [] and lists.match("QQ000QQ", None, NOW) == []


def test_match_edits_never_beyond_tolerance(store):
    lists = lists_of(store)
    lists.add({"list": "allow", "plate": "KL4567XY"})
    assert lists.match("KL4567X", None, NOW)[0].distance == 1  # a character missing
    assert lists.match("KL45667XY", None, NOW)[0].distance == 1  # one extra
    assert lists.match("KL4597XW", None, NOW) == []  # two changes, one edit allowed
    two = lists.match("KL4597XW", None, NOW, edits=2)
    assert [(x.kind, x.distance) for x in two] == [("edit", 2)] and "2 edits" in two[0].why
    assert lists.match("KL45XY", None, NOW, edits=2)[0].distance == 2
    assert lists.match("K4597XW", None, NOW, edits=2) == []  # three
    with pytest.raises(ListError):
        lists.match("KL4567XY", None, NOW, edits=3)


def test_match_deny_first_at_equal_quality_and_active_first(store):
    lists = lists_of(store)
    lists.add({"list": "allow", "plate": "MN100"})
    lists.add({"list": "deny", "plate": "MN100"})
    assert [x.entry.list for x in lists.match("MN100", None, NOW)] == ["deny", "allow"]
    lists.add({"list": "deny", "plate": "MN101", "valid_until": "2026-01-01 00:00:00"})
    lists.add({"list": "allow", "plate": "MN102"})
    m = lists.match("MN10Z", None, NOW)  # Z = 2 (look-alike of MN102); MN100, MN101 one edit
    assert m[0].entry.plate == "MN102" and m[0].kind == "lookalike"
    rest = [(x.entry.plate, x.entry.list, x.active) for x in m[1:]]
    assert rest == [("MN100", "deny", True), ("MN100", "allow", True), ("MN101", "deny", False)]
    assert m[-1].inactive_reason == "expired" and "expired 2026-01-01T00:00:00+01:00" in m[-1].why


def test_match_devices_validity_and_schedule_in_site_time(store):
    lists = lists_of(store)  # Europe/Berlin
    lists.add({"list": "allow", "plate": "GATE1", "devices": "north"})
    lists.add({"list": "allow", "plate": "LATER1", "valid_from": "2026-06-01 00:00:00"})
    lists.add({"list": "allow", "plate": "OFFICE1", "schedule": "mon-fri 07:00-13:30"})
    lists.add({"list": "allow", "plate": "NIGHT1", "schedule": "tue 22:00-06:00"})
    assert lists.match("GATE1", "south", NOW) == [] and lists.match("GATE1", None, NOW) == []
    assert lists.match("GATE1", "north", NOW)[0].active
    later = lists.match("LATER1", None, NOW)[0]
    assert (later.active, later.inactive_reason) == (False, "not yet valid") and "not yet valid" in later.why
    assert lists.match("LATER1", None, datetime(2026, 5, 31, 22, 0, tzinfo=UTC))[0].active  # midnight in Berlin
    office = lists.match("OFFICE1", None, NOW)[0]  # Wednesday 13:00 Berlin
    assert office.active
    late = lists.match("OFFICE1", None, NOW + timedelta(hours=1))[0]  # 14:00
    assert late.inactive_reason == "outside schedule" and "mon-fri 07:00-13:30" in late.why
    # 13:00 UTC is inside by UTC (< 13:30) but 14:00 in Berlin: the schedule is site time
    assert not lists.match("OFFICE1", None, datetime(2026, 3, 4, 13, 0, tzinfo=UTC))[0].active
    # Tuesday 22:00 → Wednesday 06:00 Berlin = Wednesday 04:59 UTC is inside, 05:00 UTC outside
    assert lists.match("NIGHT1", None, datetime(2026, 3, 4, 4, 59, tzinfo=UTC))[0].active
    assert not lists.match("NIGHT1", None, datetime(2026, 3, 4, 5, 0, tzinfo=UTC))[0].active
    # another site zone changes the answer
    tokyo = lists_of(store, timezone="Asia/Tokyo")
    assert not tokyo.match("OFFICE1", None, NOW)[0].active  # 21:00 in Tokyo


def test_match_chinese_plates(store):
    lists = lists_of(store)
    lists.add({"list": "deny", "plate": "京A12345"})
    assert lists.match("京A12345", None, NOW)[0].kind == "exact"
    assert lists.match("沪A12345", None, NOW)[0].distance == 1  # province misread
    assert lists.match("A12345", None, NOW)[0].distance == 1  # province missing
    assert lists.match("京A1Z345", None, NOW)[0].kind == "lookalike"
    assert lists.match("京A12345", None, NOW, edits=2)[0].kind == "exact"
    assert lists.match("沪A1234", None, NOW, edits=2)[0].distance == 2


def test_two_edit_index_follows_the_version(sqlite_store):
    lists = lists_of(sqlite_store)
    assert lists.match("PQ12RS", None, NOW, edits=2) == []
    lists.add({"list": "allow", "plate": "PQ1234RS"})
    assert lists.match("PQ12RS", None, NOW, edits=2)[0].entry.plate == "PQ1234RS"  # rebuilt after the add


def test_variants_cover_one_edit():
    key = similar.canonical("AB12")
    found = variants(key)
    for other in ("AB1", "XAB12", "AB912", "8B12", "京AB12", "AB12警"):
        assert similar.canonical(other) in found, other
    assert all(similar.edits(key, v, lookalikes=False) <= 1 for v in found)


def test_one_and_two_edit_index_find_what_brute_force_finds():
    """The matcher's prefix/suffix search (`within_one`) against the brute force it replaced (`variants`),
    over keys of several lengths and scripts, the read's first and last character edited too."""
    rng = random.Random(5)
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    keys = {similar.canonical("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))) for _ in range(3000)}
    keys |= {similar.canonical(k) for k in ("京A12345", "A12345", "沪A1234", "AB12警", "AB12", "A", "B1")}
    index = _KeyIndex(keys, version=1)
    reads = [*rng.sample(sorted(keys), 300), "京A12345", "A1234", "AB12", "", "Z"]
    for read in reads:
        key = similar.canonical(read)
        expected = {k for k in keys if similar.edits(key, k, lookalikes=False, limit=1) <= 1}
        assert index.within_one(key) == expected, read
        assert variants(key) & keys <= expected  # the old candidate set: never more
        two = {k for k in keys if similar.edits(key, k, lookalikes=False, limit=2) <= 2}
        assert index.within_two(key) == two, read  # so the two-edit match needs no variants beside it


def test_edits_counts_lookalikes_as_free():
    assert similar.edits("AB123CD", "A8I23CD") == 0
    assert similar.edits("AB123CD", "A8I23CD", lookalikes=False) == 2
    assert similar.edits("ABCDEFG", "XYZ", limit=1) == 2


# ---- files ------------------------------------------------------------------------------------------------

def test_csv_round_trip_exact(store):
    lists = lists_of(store)
    lists.add({"list": "allow", "plate": "AB123CD", "valid_from": "2026-01-01 08:00:00",
               "valid_until": "2026-07-01T08:00:00+02:00", "schedule": "mon-fri 07:00-19:00; sat 08:00-12:00",
               "tag": "staff", "comment": 'says "hi", twice;\nnew line', "devices": "north south"})
    lists.add({"list": "deny", "plate": "京A12345", "comment": "Müller"})
    lists.add({"list": "deny", "plate": "0123"})
    before = {(e.list, e.plate): e for e in store.access.iterate()}
    buf = io.StringIO()
    assert listfile.write_csv(store.access.iterate(), lists.zone, buf) == 3
    data = ("\ufeff" + buf.getvalue()).encode()
    store.access.clear(("allow", "deny"))
    result = listfile.import_file(store.access, data, lists.zone)
    assert (result.added, result.updated, result.refused) == (3, 0, ())
    after = {(e.list, e.plate): e for e in store.access.iterate()}
    strip = lambda e: (e.list, e.plate, e.valid_from, e.valid_until, e.schedule, e.tag, e.comment, e.devices)  # noqa: E731
    assert {k: strip(v) for k, v in after.items()} == {k: strip(v) for k, v in before.items()}
    # streamed chunks: the same bytes
    assert b"".join(listfile.csv_chunks(store.access.iterate(), lists.zone, rows=1)) == data
    # importing again updates
    again = listfile.import_file(store.access, data, lists.zone)
    assert (again.added, again.updated) == (0, 3)


def test_xlsx_round_trip(sqlite_store, tmp_path):
    lists = lists_of(sqlite_store)
    lists.add({"list": "allow", "plate": "0042", "valid_until": "2027-01-01 00:00:00", "schedule": "daily 06:00-22:00"})
    lists.add({"list": "deny", "plate": "粤B12345", "devices": "cam1"})
    out = io.BytesIO()
    listfile.write_xlsx(sqlite_store.access.iterate(), lists.zone, out)
    before = [(e.list, e.plate, e.valid_until, e.schedule, e.devices) for e in sqlite_store.access.iterate()]
    sqlite_store.access.clear(("allow", "deny"))
    result = listfile.import_file(sqlite_store.access, out.getvalue(), lists.zone, fmt="x.xlsx")
    assert (result.added, result.refused) == (2, ())
    assert [(e.list, e.plate, e.valid_until, e.schedule, e.devices) for e in sqlite_store.access.iterate()] == before


def test_import_bad_rows_reported_good_rows_kept(sqlite_store):
    lists = lists_of(sqlite_store)
    data = (b"Plate;LIST;Valid_Until;tag\n"
            b"AB1;allow;2026-01-01 00:00:00;x\n"
            b";allow;;\n"  # line 3: no plate
            b"AB2;maybe;;\n"  # line 4
            b"AB3;deny;not a time;\n"  # line 5
            b"ab-1;allow;;dup\n"  # line 6: duplicate of line 2
            b"AB4;deny;;;extra\n"  # line 7: too many columns
            b"\n"
            b"AB5;deny;;\n")
    result = listfile.import_file(sqlite_store.access, data, lists.zone)
    assert (result.added, result.updated) == (2, 0)
    assert [(r.line, r.reason.split(":")[0]) for r in result.refused] == [
        (3, "plate"), (4, "list"), (5, "valid_until"), (6, "AB1 is on line 2 of the allow list already"),
        (7, "5 columns, the header has 4")]
    assert sorted(e.plate for e in sqlite_store.access.iterate()) == ["AB1", "AB5"]


def test_import_whole_file_errors(sqlite_store):
    z = None
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    for data, fmt, message in ((png, "lists.xlsx", "not an XLSX"), (png, None, "not a text"),
                               (b"PK\x03\x04garbage" * 10, None, "XLSX"), (b"", None, "no header"),
                               (b"plate,list,colour\nA1,allow,red\n", None, "unknown column"),
                               (b"plate,plate,list\n", None, "more than once"), (b"tag\nx\n", None, "missing")):
        with pytest.raises(listfile.ListFileError, match=message):
            listfile.import_file(sqlite_store.access, data, z, fmt=fmt)
    with pytest.raises(listfile.ListFileError, match="mode"):
        listfile.import_file(sqlite_store.access, b"list,plate\n", z, mode="wipe")
    assert sqlite_store.access.count() == 0


def test_import_encodings_and_delimiters(sqlite_store):
    z = None
    cp1252 = "list,plate,comment\nallow,AB1,Müller\n".encode("cp1252")
    gb = "list\tplate\tcomment\ndeny\t京A11111\t黑名单\n".encode("gb18030")
    utf16 = "list;plate\nallow;AB2\n".encode("utf-16")
    for data in (cp1252, gb, utf16):
        assert listfile.import_file(sqlite_store.access, data, z).added == 1
    assert sqlite_store.access.find("allow", "AB1").comment == "Müller"
    assert sqlite_store.access.find("deny", "京A11111").comment == "黑名单"


def test_import_replace_and_list_parameter(sqlite_store):
    z = None
    lists = lists_of(sqlite_store)
    for plate in ("OLD1", "KEEP1"):
        lists.add({"list": "allow", "plate": plate})
    lists.add({"list": "deny", "plate": "DENY1"})
    result = listfile.import_file(sqlite_store.access, b"plate,tag\nKEEP1,t\nNEW1,\n", z, mode="replace",
                                  list_="allow")
    assert (result.added, result.updated, result.removed) == (1, 1, 1)
    assert sorted(e.plate for e in sqlite_store.access.iterate("allow")) == ["KEEP1", "NEW1"]
    assert sqlite_store.access.count("deny") == 1
    # a row for another list than the import's is refused
    result = listfile.import_file(sqlite_store.access, b"list,plate\ndeny,X9\nallow,X8\n", z, list_="allow")
    assert result.added == 1 and result.refused[0].line == 2
    # replace with only bad rows changes nothing
    v = sqlite_store.access.version()
    result = listfile.import_file(sqlite_store.access, b"list,plate\nallow,\n", z, mode="replace", list_="allow")
    assert result.refused and sqlite_store.access.count("allow") == 3 and sqlite_store.access.version() == v


def test_entry_dataclass_is_frozen():
    e = Entry(list="allow", plate="X1")
    with pytest.raises(AttributeError):
        e.plate = "Y"  # type: ignore[misc]


def test_two_edit_search_equals_brute_force():
    import random

    from platehub.core.access import _KeyIndex

    rng = random.Random(5)
    alphabet = "AB1CDE2X京"
    keys = {"".join(rng.choices(alphabet, k=rng.randint(1, 8))) for _ in range(3000)}
    index = _KeyIndex(keys, 1)
    for _ in range(150):
        query = "".join(rng.choices(alphabet, k=rng.randint(1, 9)))
        brute = {k for k in keys if similar.edits(query, k, lookalikes=False) <= 2}
        assert index.within_two(query) == brute, query
