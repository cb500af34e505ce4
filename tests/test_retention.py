"""Retention (core/retention.py) and erasure (core/erasure.py, `platehub purge`) on real stores with real
image files, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import store_on
from sqlalchemy import func, select, text

from platehub.config import Settings
from platehub.core.access import Entry
from platehub.core.bus import Bus
from platehub.core.eventlog import EventLog
from platehub.core.read import Read, normalize_plate
from platehub.core.retention import Retention
from platehub.core.store import Store
from platehub.core.store.decisions import Decision
from platehub.core.store.eventlog import EventLogRepo
from platehub.core.store.schema import reads

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0" + b"x" * 1000  # 1004 bytes


TABLES = ("decisions", "visits", "reads", "event_log", "access_entries", "commands")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    s = store_on(request, tmp_path, TABLES)
    yield s
    s.close()


def add_read(store, plate: str, when: datetime, images: bool = True, event_id: str | None = None) -> Read:
    """A stored read with a full image and a crop written as ingest writes them (files dated `when`)."""
    read = Read(plate=normalize_plate(plate), plate_raw=plate, protocol="test", first_seen=when, received_at=when,
                event_id=event_id)
    if images:
        name = event_id or read.id
        full = store.images.save(name, JPEG, when)
        crop = store.images.save(f"{read.id}-plate", JPEG, when)
        for rel in (full, crop):
            os.utime(store.images.root / rel, (when.timestamp(), when.timestamp()))
        read = Read(**{**read.__dict__, "image_full": full, "image_plate": crop})
    store.reads.add([read])
    return read


def files(store) -> set[str]:
    root = store.images.root
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def decide(store, read: Read, entry_plate: str | None = None) -> None:
    store.decisions.add(Decision(read.id, "cam1", "allow_list", "open", "allowed",
                                 f"allow-list entry {entry_plate or read.plate}", read.first_seen, "allow", 1,
                                 entry_plate or read.plate, 0))


def retention(store, **settings) -> Retention:
    return Retention(Settings(**settings), store, batch=2, pause=0)  # small batches: several per run


def test_old_reads_go_with_decisions_and_images_recent_stay_allow_listed_keep_their_last(store):
    old = [add_read(store, f"OLD{i}", NOW - timedelta(days=40, minutes=i)) for i in range(5)]
    resident_older = add_read(store, "RES1", NOW - timedelta(days=50))
    resident_last = add_read(store, "RES1", NOW - timedelta(days=45))
    recent = add_read(store, "NEW1", NOW - timedelta(days=3))
    store.access.add(Entry(list="allow", plate="RES1"))
    for r in (*old, resident_last, recent):
        decide(store, r)

    counts = retention(store, retain_reads_days=30, retain_keep_lists=("allow",)).run(now=NOW)

    assert (counts.reads, counts.decisions, counts.kept) == (6, 5, 1)
    assert store.reads.get(recent.id) and store.reads.get(resident_last.id)
    assert store.reads.count() == 2 and store.reads.get(resident_older.id) is None
    assert store.decisions.get(old[0].id) is None and store.decisions.get(recent.id) is not None
    kept = {p for r in (recent, resident_last) for p in (r.image_full, r.image_plate)}
    assert files(store) == kept  # the removed reads' files are gone, the kept ones' are there
    assert counts.images == 12 and counts.image_bytes == 12 * len(JPEG)


def test_a_full_image_shared_by_a_kept_read_stays(store):
    when = NOW - timedelta(days=40)
    gone = add_read(store, "AA111", when, event_id="e" * 32)
    shared = add_read(store, "BB222", when, event_id="e" * 32)  # same recognition: same full image
    store.access.add(Entry(list="allow", plate="BB222"))
    retention(store, retain_reads_days=30, retain_keep_lists=("allow",)).run(now=NOW)
    assert store.reads.get(gone.id) is None and store.reads.get(shared.id) is not None
    assert files(store) == {shared.image_full, shared.image_plate}


def test_images_older_than_the_limit_go_and_their_reads_stay_without_them(store):
    old = add_read(store, "OLD1", NOW - timedelta(days=10))
    recent = add_read(store, "NEW1", NOW - timedelta(days=1))
    snapshot = store.images.save("snapshot-cam1-x", JPEG, NOW - timedelta(days=12))
    os.utime(store.images.root / snapshot, ((NOW - timedelta(days=12)).timestamp(),) * 2)

    counts = retention(store, retain_images_days=7).run(now=NOW)

    assert counts.images == 3 and counts.reads == 0
    kept = store.reads.get(old.id)
    assert kept is not None and (kept.image_full, kept.image_plate) == (None, None)
    assert files(store) == {recent.image_full, recent.image_plate}
    assert not (store.images.root / f"{NOW - timedelta(days=10):%Y/%m/%d}").exists()  # empty day dirs go


def test_the_disk_cap_removes_the_oldest_files_first(store):
    reads = [add_read(store, f"CAP{i}", NOW - timedelta(days=9 - i)) for i in range(5)]  # 2 files each
    cap_gb = 4.5 * len(JPEG) / 1024**3  # room for 4 files (and a half)

    counts = retention(store, retain_images_gb=cap_gb).run(now=NOW)

    assert counts.images == 6
    assert files(store) == {p for r in reads[3:] for p in (r.image_full, r.image_plate)}
    assert [store.reads.get(r.id).image_full is None for r in reads] == [True, True, True, False, False]
    assert retention(store, retain_images_gb=cap_gb).run(now=NOW).images == 0  # under the cap now


def test_old_event_log_entries_go(store):
    repo = EventLogRepo(store.engine)
    for days in (100, 95, 91, 10):
        repo.add("system", "startup", NOW - timedelta(days=days))
    counts = retention(store, retain_events_days=90).run(now=NOW)
    assert counts.events == 3
    assert [e.at for e in repo.find()[1]] == [NOW - timedelta(days=10)]


def test_finished_parking_visits_go_with_the_reads_open_ones_stay(store):
    lot = store.lots.add("P1", max_count=10)
    done = store.visits.open(lot.id, "AB1", None, NOW - timedelta(days=60))
    store.visits.close(done, None, "AB1", 0, NOW - timedelta(days=59))
    inside = store.visits.open(lot.id, "CD2", None, NOW - timedelta(days=60))
    counts = retention(store, retain_reads_days=30).run(now=NOW)
    assert counts.visits == 1
    assert store.visits.get(done) is None and store.visits.get(inside) is not None


def test_a_dry_run_changes_nothing(store):
    for i in range(3):
        decide(store, add_read(store, f"OLD{i}", NOW - timedelta(days=40)))
    EventLogRepo(store.engine).add("system", "startup", NOW - timedelta(days=400))
    before = (files(store), store.reads.count())
    counts = retention(store, retain_reads_days=30, retain_images_days=30, retain_events_days=90,
                       retain_images_gb=1e-9).run(dry_run=True, now=NOW)
    assert (counts.reads, counts.decisions, counts.events) == (3, 3, 1) and counts.images >= 6
    assert (files(store), store.reads.count()) == before
    assert EventLogRepo(store.engine).find()[0] == 1


def _cli(store, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    url = store.engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    return subprocess.run([sys.executable, "-m", "platehub.cli", *args, "--database-url", url,
                           "--data", str(store.images.root.parent)], env=env, capture_output=True, text=True,
                          timeout=120)


def test_purge_removes_every_trace_of_the_plate_and_logs_who_without_it(store):
    victim = [add_read(store, "ZG 9757-HG", NOW - timedelta(days=d)) for d in (1, 2)]
    group = add_read(store, "ZG9757HG", NOW, event_id="f" * 32)  # one recognition, two vehicles
    other = add_read(store, "AB1234", NOW, event_id="f" * 32)
    lookalike = add_read(store, "ZG9757H6", NOW)  # another read decided by the victim's list entry
    for r in (*victim, group):
        decide(store, r)
    decide(store, lookalike, entry_plate="ZG9757HG")
    entry = store.access.add(Entry(list="allow", plate="ZG9757HG"))
    lot = store.lots.add("P1", max_count=10)
    visit = store.visits.open(lot.id, "ZG9757HG", victim[0].id, NOW)
    log = EventLog(EventLogRepo(store.engine), Bus())
    log.record("access", "unknown", source="cam1", details={"plate": "ZG9757HG", "why": "no entry ZG9757HG"})
    log.settings_changed("allow list", "admin", None, {"plate": "ZG9757HG", "id": 1})
    command = store.commands.enqueue("cam1", "whitelist_add", {"plate": "ZG9757HG"})
    store.commands.mark_delivered([command.id], "reply")
    before = files(store)

    dry = _cli(store, "purge", "--plate", "zg-9757 hg", "--dry-run")
    assert dry.returncode == 0 and "would remove: reads 3" in dry.stdout, dry.stderr
    assert files(store) == before and store.reads.count() == 5

    done = _cli(store, "purge", "--plate", "zg-9757 hg", "--by", "dpo@example.org", "--lists")
    assert done.returncode == 0, done.stderr

    assert {r.plate for r in store.reads.find(limit=100)} == {"AB1234", "ZG9757H6"}
    kept = {p for r in (other, lookalike) for p in (r.image_full, r.image_plate) if p}
    assert files(store) == kept - {group.image_full}  # the shared full image showed the plate: gone
    assert store.reads.get(other.id).image_full is None
    assert all(store.decisions.get(r.id) is None for r in (*victim, group))
    masked = store.decisions.get(lookalike.id)
    assert masked.entry_plate is None and "ZG9757HG" not in masked.why
    assert store.visits.get(visit) is None and store.access.get(entry.id) is None
    assert store.commands.list("cam1") == []
    entries = EventLogRepo(store.engine).find(max_count=100)[1]
    assert "ZG9757HG" not in json.dumps([e.details for e in entries])  # nowhere in the log, no hash either
    erased = [e for e in entries if (e.type, e.code) == ("privacy", "erased")]
    assert len(erased) == 1 and erased[0].user == "dpo@example.org"
    assert erased[0].details["reads"] == 3 and erased[0].details["lists"] is True
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":  # the plate search index forgets it too
            assert conn.execute(text("SELECT count(*) FROM plate_index WHERE plate = 'ZG9757HG'")).scalar() == 0
        assert conn.execute(select(func.count()).select_from(reads).where(reads.c.plate == "ZG9757HG")).scalar() == 0


def test_purge_keeps_list_entries_unless_asked_and_names_the_os_user(store):
    add_read(store, "KL123", NOW)
    store.access.add(Entry(list="allow", plate="KL123"))
    done = _cli(store, "purge", "--plate", "KL123")
    assert done.returncode == 0, done.stderr
    assert store.reads.count() == 0 and store.access.find("allow", "KL123") is not None
    erased = [e for e in EventLogRepo(store.engine).find()[1] if e.code == "erased"]
    assert erased[0].user.startswith("cli:") and len(erased[0].user) > 4


def test_retention_run_cli_reports_and_dry_run_keeps(store):
    add_read(store, "OLD1", datetime.now(UTC) - timedelta(days=40))
    out = _cli(store, "retention", "run", "--dry-run")
    assert out.returncode == 0 and out.stderr.startswith("nothing to do")  # no limit set
    os.environ["PLATEHUB_RETAIN_READS_DAYS"] = "30"
    try:
        dry = _cli(store, "retention", "run", "--dry-run")
        assert dry.returncode == 0 and "would remove: reads 1" in dry.stdout, dry.stderr
        assert store.reads.count() == 1
        run = _cli(store, "retention", "run")
        assert run.returncode == 0 and "removed: reads 1" in run.stdout and store.reads.count() == 0
    finally:
        del os.environ["PLATEHUB_RETAIN_READS_DAYS"]


def test_bad_retention_settings_are_refused(monkeypatch):
    monkeypatch.setenv("PLATEHUB_RETAIN_KEEP_LISTS", "allow,vip")
    with pytest.raises(ValueError, match="vip"):
        Settings.from_env()
    monkeypatch.setenv("PLATEHUB_RETAIN_KEEP_LISTS", "allow")
    monkeypatch.setenv("PLATEHUB_RETAIN_READS_DAYS", "-1")
    with pytest.raises(ValueError, match="PLATEHUB_RETAIN_READS_DAYS"):
        Settings.from_env()


def test_the_server_applies_the_limits_by_itself(tmp_path):
    import time

    from helpers import InProcess

    data = tmp_path / "data"
    store = Store.open(Settings(data_dir=data))
    now = datetime.now(UTC)
    old = add_read(store, "OLD1", now - timedelta(days=40))
    recent = add_read(store, "NEW1", now - timedelta(days=1))
    EventLogRepo(store.engine).add("system", "startup", now - timedelta(days=400))
    store.close()
    srv = InProcess(data, engine=object(), retain_reads_days=30, retain_events_days=90).start()
    try:
        deadline = time.time() + 30
        while srv.hub.store.reads.get(old.id) is not None and time.time() < deadline:
            time.sleep(0.1)
        assert srv.hub.store.reads.get(old.id) is None and srv.hub.store.reads.get(recent.id) is not None
        assert files(srv.hub.store) == {recent.image_full, recent.image_plate}
        while EventLogRepo(srv.hub.store.engine).find(end=now - timedelta(days=90))[0] and time.time() < deadline:
            time.sleep(0.1)
        assert EventLogRepo(srv.hub.store.engine).find(end=now - timedelta(days=90))[0] == 0
    finally:
        srv.stop()
