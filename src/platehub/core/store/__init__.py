"""The store: database (SQLite by default, PostgreSQL by URL) plus image files."""

from __future__ import annotations

from pathlib import Path

from platehub.core.store.access import AccessRepo
from platehub.core.store.accounts import TokenRepo, UserRepo
from platehub.core.store.camera_lists import CameraListRepo
from platehub.core.store.database import connect, migrate
from platehub.core.store.decisions import DecisionRepo
from platehub.core.store.devices import CommandRepo, DeviceRepo
from platehub.core.store.hooks import WebhookRepo
from platehub.core.store.images import ImageStore
from platehub.core.store.parking import LotRepo, VisitRepo
from platehub.core.store.reads import ReadRepo
from platehub.core.store.sessions import SessionRepo
from platehub.core.store.usage import UsageRepo


class Store:
    def __init__(self, url: str, image_root: Path) -> None:
        if url.startswith("sqlite"):
            image_root.mkdir(parents=True, exist_ok=True)
        self.engine = connect(url)
        migrate(self.engine)
        self.reads = ReadRepo(self.engine)
        self.users = UserRepo(self.engine)
        self.tokens = TokenRepo(self.engine)
        self.sessions = SessionRepo(self.engine)
        self.webhooks = WebhookRepo(self.engine)
        self.usage = UsageRepo(self.engine)
        self.devices = DeviceRepo(self.engine)
        self.commands = CommandRepo(self.engine)
        self.access = AccessRepo(self.engine)
        self.lots = LotRepo(self.engine)
        self.visits = VisitRepo(self.engine)
        self.decisions = DecisionRepo(self.engine)
        self.camera_lists = CameraListRepo(self.engine)
        self.images = ImageStore(image_root)

    @classmethod
    def open(cls, settings) -> Store:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings.db_url, settings.data_dir / "images")

    def close(self) -> None:
        self.engine.dispose()
