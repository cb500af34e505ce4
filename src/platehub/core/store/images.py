"""Image files of reads, under <data>/images/YYYY/MM/DD/."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, name: str, data: bytes, when: datetime, ext: str = "jpg") -> str:
        """Write atomically; returns the path relative to the store root."""
        rel = Path(f"{when:%Y/%m/%d}") / f"{name}.{ext}"
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return rel.as_posix()

    def path(self, rel: str) -> Path:
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("image path outside the store")
        return path

    def load(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()
