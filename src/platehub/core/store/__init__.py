"""The store: database (SQLite by default, PostgreSQL by URL) plus image files."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event

from platehub.core.store.access import AccessRepo
from platehub.core.store.accounts import TokenRepo, UserRepo
from platehub.core.store.camera_lists import CameraListRepo
from platehub.core.store.channels import ChannelRepo
from platehub.core.store.database import Durability, WalSync, connect, migrate, sqlite_path
from platehub.core.store.decisions import DecisionRepo
from platehub.core.store.devices import CommandRepo, DeviceRepo
from platehub.core.store.direct import DirectReads
from platehub.core.store.hooks import WebhookRepo
from platehub.core.store.images import TMP, ImageStore
from platehub.core.store.keys import KeyRepo
from platehub.core.store.outbox import OutboxRepo
from platehub.core.store.parking import LotRepo, VisitRepo
from platehub.core.store.reads import ReadRepo
from platehub.core.store.sessions import SessionRepo
from platehub.core.store.usage import UsageRepo

log = logging.getLogger("platehub.store")

# seconds an image file must have existed before a start-up sweep may take it for an orphan, on a store
# other processes write into too (PostgreSQL: `platehub serve --workers N`, several hosts on one volume):
# theirs may be saved with the read not yet stored. SQLite has one server process: no wait.
SETTLE = 60.0


class Store:
    def __init__(self, url: str, image_root: Path) -> None:
        if url.startswith("sqlite"):
            image_root.mkdir(parents=True, exist_ok=True)
        self.engine = connect(url)
        migrate(self.engine)
        path = sqlite_path(self.engine)
        self._wal = WalSync(path, also=self._sync_names) if path is not None else None
        # what a thread owes before acknowledging: its commits (any connection) and image saves
        self.durability = Durability(self._wal.wait if self._wal is not None else self._sync_names)
        event.listen(self.engine, "commit", lambda _conn: self.durability.touched())
        self.images = ImageStore(image_root, saved=self.durability.touched)
        self.reads = ReadRepo(self.engine, self.durability)
        self.users = UserRepo(self.engine)
        self.tokens = TokenRepo(self.engine)
        self.sessions = SessionRepo(self.engine)
        self.webhooks = WebhookRepo(self.engine)
        self.outbox = OutboxRepo(self.engine)  # webhook deliveries owed
        self.usage = UsageRepo(self.engine)
        self.direct = DirectReads(self.engine)  # the point reads of every pushed read
        self.devices = DeviceRepo(self.engine, self.direct)
        self.commands = CommandRepo(self.engine, self.direct)
        self.access = AccessRepo(self.engine, self.direct)
        self.lots = LotRepo(self.engine)
        self.visits = VisitRepo(self.engine)
        self.decisions = DecisionRepo(self.engine)
        self.camera_lists = CameraListRepo(self.engine)
        self.channels = ChannelRepo(self.engine)
        self.keys = KeyRepo(self.engine)

    def _sync_names(self) -> None:
        self.images.sync_names()

    def sweep_orphans(self, before: float) -> int:
        """Delete the image files a crash left behind (see `images`): `.tmp` files, and images of the
        last moments before `before` (epoch seconds, this run's start) whose read or recognition is not
        stored. Screenshots (`snapshot-…`) are named by no read and kept. Returns the files removed.
        On a shared store (not SQLite) only files older than SETTLE seconds before `before` count: the
        newer ones may be another process's, being written."""
        removed = 0
        settle = 0.0 if self._wal is not None else SETTLE
        for path, rel in self.images.last_written(before - settle):
            if not path.name.endswith(TMP) and (path.name.startswith("snapshot-")
                                                or self.reads.names_image(rel, path.name[:32])):
                continue
            path.unlink(missing_ok=True)
            log.warning("removed %s: an image file left by an interrupted write (no stored read names it)", rel)
            removed += 1
        return removed

    def durable(self) -> None:
        """Return once everything this thread committed and every image it saved survive a power loss
        (call it before acknowledging data). SQLite: a group fsync of the image directories and the WAL;
        PostgreSQL: its commits are durable already, the image directories are fsynced. Nothing to wait
        for when the group commit made them durable already (`database.Durability`)."""
        self.durability.wait()

    @classmethod
    def open(cls, settings) -> Store:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.db_url, settings.data_dir / "images")

    def close(self) -> None:
        self.reads.close()
        self.direct.close()
        self.engine.dispose()
