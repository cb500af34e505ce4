"""Retention: personal data (plates, images) kept no longer than the settings say.

Per kind, 0 = for ever (the default): reads older than PLATEHUB_RETAIN_READS_DAYS (by `first_seen`)
go with their gate decisions and image files, and so do finished parking visits (closed, exit only,
lost) that ended before the same limit (open visits stay: the vehicle is inside), and so does the
occupancy history (each lot's `history_since` moves up to the limit: no count is shown for a time
whose changes are gone; core/occupancy.py); image files of days
older than PLATEHUB_RETAIN_IMAGES_DAYS go (the reads stay, without images; screenshots too); beyond
PLATEHUB_RETAIN_IMAGES_GB the oldest image files go until the store is under the cap; event log
entries older than PLATEHUB_RETAIN_EVENTS_DAYS go. Exemption: a vehicle on one of the lists in
PLATEHUB_RETAIN_KEEP_LISTS (its normalised plate equals an entry's) keeps its newest read, however old.

Every step works in batches of `batch` rows or files, one short transaction each, with a pause
between them: ingest never waits for more than one batch. A reference is dropped before its file is
deleted, so a crash leaves at most a file no read names (the next run removes it), never a read naming
a missing file. Files written in the last `IN_FLIGHT` seconds are never touched (their read may not
be stored yet). `RetentionJob` runs it every PLATEHUB_RETAIN_INTERVAL seconds in the server;
`platehub retention run [--dry-run]` runs it once."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, and_, delete, func, or_, select, text, update

from platehub.core import tasks
from platehub.core.read import utcnow
from platehub.core.store.schema import (
    access_entries,
    decisions,
    event_log,
    occupancy_changes,
    parking_lots,
    reads,
    visits,
)

log = logging.getLogger("platehub.retention")

BATCH = 500
PAUSE = 0.02  # seconds between batches: writers of ingest get the database in between
IN_FLIGHT = 300.0  # seconds: younger image files may belong to a read not stored yet
GB = 1024**3


@dataclass
class Counts:
    """What one run removed (or, dry, would remove)."""

    reads: int = 0
    decisions: int = 0
    visits: int = 0
    occupancy: int = 0  # changes of the parking counters' history
    images: int = 0  # image files
    image_bytes: int = 0
    events: int = 0
    kept: int = 0  # old reads kept by a list exemption
    dry_run: bool = field(default=False, compare=False)

    def summary(self) -> str:
        parts = [f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self) if f.name != "dry_run"]
        return ("would remove: " if self.dry_run else "removed: ") + ", ".join(parts)


def forget_images(conn: Connection, paths: list[str]) -> None:
    """Drop the references of stored reads to `paths` (files named after the read or its recognition:
    the first 32 characters of the file name are that id, so the indexed columns find them)."""
    owners = list({Path(p).name[:32] for p in paths})
    owned = or_(reads.c.id.in_(owners), reads.c.event_id.in_(owners))
    conn.execute(update(reads).where(owned & reads.c.image_full.in_(paths)).values(image_full=None))
    conn.execute(update(reads).where(owned & reads.c.image_plate.in_(paths)).values(image_plate=None))


def unlink(store, paths: Iterable[str]) -> tuple[int, int]:
    """Delete image files (relative paths); (files, bytes) removed."""
    n = size = 0
    for rel in paths:
        try:
            path = store.images.path(rel)
            size_of = path.stat().st_size
            path.unlink()
        except (FileNotFoundError, ValueError):
            continue
        n, size = n + 1, size + size_of
    return n, size


def prune_plate_index(conn: Connection, plates: Iterable[str]) -> None:
    """SQLite keeps each distinct plate in `plate_index` (migration 0004); drop those no read has now."""
    plates = list(set(plates))
    if conn.dialect.name != "sqlite" or not plates:
        return
    conn.execute(text("DELETE FROM plate_index WHERE plate IN (SELECT value FROM json_each(:plates)) AND NOT EXISTS "
                      "(SELECT 1 FROM reads WHERE reads.plate = plate_index.plate)"),
                 {"plates": json.dumps(plates)})


def _day(path: Path, root: Path) -> date | None:
    try:
        y, m, d = path.relative_to(root).parts[:3]
        return date(int(y), int(m), int(d))
    except (ValueError, TypeError):
        return None


class Retention:
    def __init__(self, settings, store, batch: int = BATCH, pause: float = PAUSE) -> None:
        self.settings = settings
        self.store = store
        self.batch = batch
        self.pause = pause

    @property
    def enabled(self) -> bool:
        s = self.settings
        return any((s.retain_reads_days, s.retain_images_days, s.retain_images_gb, s.retain_events_days))

    def run(self, dry_run: bool = False, now: datetime | None = None) -> Counts:
        """One pass over every kind (blocking: call it off the event loop)."""
        now = now or utcnow()
        counts = Counts(dry_run=dry_run)
        s = self.settings
        if s.retain_reads_days:
            self._reads(now - timedelta(days=s.retain_reads_days), counts, dry_run)
            self._visits(now - timedelta(days=s.retain_reads_days), counts, dry_run)
            self._occupancy(now - timedelta(days=s.retain_reads_days), counts, dry_run)
        if s.retain_images_days:
            self._images_by_age((now - timedelta(days=s.retain_images_days)).date(), counts, dry_run)
        if s.retain_images_gb:
            self._images_by_size(int(s.retain_images_gb * GB), counts, dry_run)
        if s.retain_events_days:
            self._events(now - timedelta(days=s.retain_events_days), counts, dry_run)
        log.info("retention %s", counts.summary())
        return counts

    def _rest(self) -> None:
        if self.pause:
            time.sleep(self.pause)

    # ---- reads ----
    def _old_reads(self, cutoff: datetime) -> Iterator[list]:
        """Batches of (id, plate, first_seen, image_full, image_plate) older than `cutoff`, oldest first
        (keyset pagination: rows kept by an exemption are not met again)."""
        last = None
        cols = (reads.c.id, reads.c.plate, reads.c.first_seen, reads.c.image_full, reads.c.image_plate)
        while True:
            q = select(*cols).where(reads.c.first_seen < cutoff)
            if last is not None:
                fs = reads.c.first_seen
                q = q.where(or_(fs > last[2], and_(fs == last[2], reads.c.id > last[0])))
            with self.store.engine.connect() as conn:
                rows = conn.execute(q.order_by(reads.c.first_seen, reads.c.id).limit(self.batch)).all()
            if not rows:
                return
            last = rows[-1]
            yield rows

    def _exempt(self, rows: list) -> set[str]:
        """Ids among `rows` that are the newest read of a vehicle on a keep list."""
        keep_lists = list(self.settings.retain_keep_lists)
        plates = list({r.plate for r in rows if r.plate})
        if not keep_lists or not plates:
            return set()
        with self.store.engine.connect() as conn:
            listed = conn.execute(select(access_entries.c.plate).where(
                access_entries.c.list.in_(keep_lists) & access_entries.c.plate.in_(plates))).scalars().all()
            newest = {conn.execute(select(reads.c.id).where(reads.c.plate == p)
                                   .order_by(reads.c.first_seen.desc(), reads.c.id.desc()).limit(1)).scalar()
                      for p in set(listed)}
        return newest & {r.id for r in rows}

    def _reads(self, cutoff: datetime, counts: Counts, dry_run: bool) -> None:
        for rows in self._old_reads(cutoff):
            kept = self._exempt(rows)
            gone = [r for r in rows if r.id not in kept]
            counts.kept += len(kept)
            if not gone:
                continue
            ids = [r.id for r in gone]
            paths = list({p for r in gone for p in (r.image_full, r.image_plate) if p})
            if dry_run:
                with self.store.engine.connect() as conn:
                    counts.decisions += conn.execute(select(func.count()).select_from(decisions)
                                                     .where(decisions.c.read_id.in_(ids))).scalar_one()
                counts.reads += len(ids)
                counts.images += len(paths)
                continue
            with self.store.engine.begin() as conn:
                counts.decisions += conn.execute(delete(decisions).where(decisions.c.read_id.in_(ids))).rowcount
                counts.reads += conn.execute(delete(reads).where(reads.c.id.in_(ids))).rowcount
                prune_plate_index(conn, (r.plate for r in gone))
            # a file is shared by the reads of one recognition: kept while another read names it
            n, size = unlink(self.store, [p for p in paths if not self.store.reads.names_image(p, Path(p).name[:32])])
            counts.images, counts.image_bytes = counts.images + n, counts.image_bytes + size
            log.info("retention: %d reads up to %s removed (%d so far)", len(ids), gone[-1].first_seen, counts.reads)
            self._rest()

    def _visits(self, cutoff: datetime, counts: Counts, dry_run: bool) -> None:
        ended = func.coalesce(visits.c.exited_at, visits.c.entered_at)
        old = (visits.c.status != "open") & (ended < cutoff)
        while True:
            with self.store.engine.begin() as conn:
                if dry_run:
                    counts.visits += conn.execute(select(func.count()).select_from(visits).where(old)).scalar_one()
                    return
                ids = conn.execute(select(visits.c.id).where(old).limit(self.batch)).scalars().all()
                if not ids:
                    return
                counts.visits += conn.execute(delete(visits).where(visits.c.id.in_(ids))).rowcount
            self._rest()

    def _occupancy(self, cutoff: datetime, counts: Counts, dry_run: bool) -> None:
        old = occupancy_changes.c.at < cutoff
        if dry_run:
            with self.store.engine.connect() as conn:
                counts.occupancy += conn.execute(select(func.count()).select_from(occupancy_changes)
                                                 .where(old)).scalar_one()
            return
        since = parking_lots.c.history_since
        with self.store.engine.begin() as conn:  # first: a sample never counts from a partial history
            conn.execute(update(parking_lots).where(or_(since.is_(None), since < cutoff)).values(history_since=cutoff))
        while True:
            with self.store.engine.begin() as conn:
                ids = conn.execute(select(occupancy_changes.c.id).where(old).limit(self.batch)).scalars().all()
                if not ids:
                    return
                counts.occupancy += conn.execute(delete(occupancy_changes)
                                                 .where(occupancy_changes.c.id.in_(ids))).rowcount
            self._rest()

    # ---- images ----
    def _files(self) -> Iterator[tuple[date, list[os.DirEntry]]]:
        """Each day directory of the image store, oldest first, with its files oldest first."""
        root = self.store.images.root
        for day_dir in sorted(p for p in root.glob("[0-9]*/[0-9]*/[0-9]*") if p.is_dir()):
            day = _day(day_dir, root)
            if day is None:
                continue
            entries = [e for e in os.scandir(day_dir) if e.is_file()]
            entries.sort(key=lambda e: e.stat().st_mtime)
            yield day, entries

    def _remove_files(self, entries: list[os.DirEntry], counts: Counts, dry_run: bool) -> None:
        root = self.store.images.root
        for i in range(0, len(entries), self.batch):
            chunk = entries[i:i + self.batch]
            if dry_run:
                counts.images += len(chunk)
                counts.image_bytes += sum(e.stat().st_size for e in chunk)
                continue
            rels = [Path(e.path).relative_to(root).as_posix() for e in chunk]
            with self.store.engine.begin() as conn:
                forget_images(conn, rels)
            n, size = unlink(self.store, rels)
            counts.images, counts.image_bytes = counts.images + n, counts.image_bytes + size
            log.info("retention: %d image files removed (%d so far)", n, counts.images)
            self._rest()

    def _images_by_age(self, cutoff: date, counts: Counts, dry_run: bool) -> None:
        recent = time.time() - IN_FLIGHT
        for day, entries in self._files():
            if day >= cutoff:
                break
            self._remove_files([e for e in entries if e.stat().st_mtime < recent], counts, dry_run)
            if not dry_run:
                self._drop_empty(self.store.images.root / f"{day:%Y/%m/%d}")

    def _images_by_size(self, cap: int, counts: Counts, dry_run: bool) -> None:
        days = list(self._files())
        total = sum(e.stat().st_size for _, entries in days for e in entries) - (
            counts.image_bytes if dry_run else 0)  # a dry run has removed nothing yet
        if total <= cap:
            return
        recent = time.time() - IN_FLIGHT
        over, chosen = total - cap, []
        for _, entries in days:
            for e in entries:
                if over <= 0:
                    break
                if e.stat().st_mtime < recent:
                    chosen.append(e)
                    over -= e.stat().st_size
        log.info("retention: image store %.3f GB over its cap of %.3f GB: removing the %d oldest files",
                 (total - cap) / GB, cap / GB, len(chosen))
        self._remove_files(chosen, counts, dry_run)
        if not dry_run:
            for day, _ in days:
                self._drop_empty(self.store.images.root / f"{day:%Y/%m/%d}")

    def _drop_empty(self, day_dir: Path) -> None:
        """Remove a day directory left empty, and its month and year when they are empty too."""
        root = self.store.images.root
        for d in (day_dir, day_dir.parent, day_dir.parent.parent):
            if d == root:
                return
            try:
                d.rmdir()
            except OSError:  # not empty (or gone)
                return

    # ---- event log ----
    def _events(self, cutoff: datetime, counts: Counts, dry_run: bool) -> None:
        old = event_log.c.at < cutoff
        while True:
            with self.store.engine.begin() as conn:
                if dry_run:
                    counts.events += conn.execute(select(func.count()).select_from(event_log).where(old)).scalar_one()
                    return
                ids = conn.execute(select(event_log.c.id).where(old).order_by(event_log.c.id)
                                   .limit(self.batch)).scalars().all()
                if not ids:
                    return
                counts.events += conn.execute(delete(event_log).where(event_log.c.id.in_(ids))).rowcount
            log.info("retention: %d event log entries removed (%d so far)", len(ids), counts.events)
            self._rest()


class RetentionJob:
    """Runs `Retention` every PLATEHUB_RETAIN_INTERVAL seconds in a worker thread (first run at start)."""

    def __init__(self, retention: Retention) -> None:
        self.retention = retention
        self._task: asyncio.Task | None = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(None, self.retention.run)
            except Exception:  # a database hiccup: the next run tries again
                log.exception("retention run failed")
            await asyncio.sleep(self.retention.settings.retain_interval)

    def start(self) -> None:
        if self.retention.enabled and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None
