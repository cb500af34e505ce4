"""Image files of reads, under <data>/images/YYYY/MM/DD/.

A file is written to a temporary name, fsynced and renamed before the read that names it is stored
(its directory is fsynced with the database's group fsync, before the read is acknowledged): a crash
leaves at most a `.tmp` file or an image no read names (an orphan), never a read naming a missing or
partial image. `Store.sweep_orphans` removes those at start-up."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from platehub.core.store.database import sync_dir

TMP = ".tmp"


def _write_synced(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fdatasync(f.fileno())


class ImageStore:
    def __init__(self, root: Path, saved: Callable[[], None] | None = None) -> None:
        """`saved`: called in the saving thread after each save (it owes a sync of the names)."""
        self.root = root
        self._saved = saved
        self._renamed: set[Path] = set()  # directories with renames not yet fsynced
        self._made: dict[str, Path] = {}  # the day directory last written into
        self._lock = threading.Lock()

    def save(self, name: str, data: bytes, when: datetime, ext: str = "jpg") -> str:
        """Write atomically, the content durably; returns the path relative to the store root. The new
        name is durable after the next `sync_names` (`Store.durable` calls it)."""
        day = f"{when:%Y/%m/%d}"
        directory = self._made.get(day)
        if directory is None:  # made once per day directory (checked when a write finds it gone)
            directory = self._make(day)
        path = f"{directory}/{name}.{ext}"
        try:
            _write_synced(path + TMP, data)
        except FileNotFoundError:  # retention removed the (empty) directory meanwhile
            self._make(day)
            _write_synced(path + TMP, data)
        os.replace(path + TMP, path)
        with self._lock:
            self._renamed.add(directory)
        if self._saved is not None:
            self._saved()
        return f"{day}/{name}.{ext}"

    def _make(self, day: str) -> Path:
        directory = self.root / day
        directory.mkdir(parents=True, exist_ok=True)
        self._made = {day: directory}
        return directory

    def sync_names(self) -> None:
        """fsync the directories of the files saved so far (one fsync per directory for many files)."""
        with self._lock:
            dirs, self._renamed = self._renamed, set()
        for directory in dirs:
            sync_dir(directory)

    def path(self, rel: str) -> Path:
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("image path outside the store")
        return path

    def load(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    def delete(self, rel: str) -> None:
        self.path(rel).unlink(missing_ok=True)

    def last_written(self, before: float, window: float = 300.0) -> Iterator[tuple[Path, str]]:
        """(file, path relative to the root) of the files written in the `window` seconds before the newest
        file older than `before` (epoch seconds), in the newest two day directories: where a crash leaves
        its orphans. Files written since `before` (by this run) are left out."""
        days = sorted(p for p in self.root.glob("[0-9]*/[0-9]*/[0-9]*") if p.is_dir())[-2:]
        files = []
        for day in days:
            for entry in os.scandir(day):
                if entry.is_file() and (mtime := entry.stat().st_mtime) < before:
                    files.append((mtime, Path(entry.path)))
        if not files:
            return
        newest = max(m for m, _ in files)
        for mtime, path in files:
            if mtime >= newest - window:
                yield path, path.relative_to(self.root).as_posix()
