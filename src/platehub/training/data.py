"""Training material: labelled crops (plates-train, a user's folder, platehub's confirmed reads),
pseudo-labels for unlabelled crops, and the train/validation split by vehicle.

- `plates-train/crops.jsonl`: kinds `real` and `synthetic` are used as labelled; `real-noisy` is
  left out (its README measured most such labels wrong); `unlabelled` crops get pseudo-labels.
- A user's folder: every image named by its text (`AB123CD.jpg`, `AB123CD_2.png`; text before
  the first `_`, separators ignored), or a `labels.jsonl` of `{"file", "text"}` lines
  (`platehub reads --export-crops DIR` writes one from stored reads).
- Split by vehicle: crops of one plate text (and of texts one substitution away, the same car read
  two ways — `near_texts`) always fall on the same side, chosen by a hash of that group.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from platehub.engine.plate_reader import ALPHABET

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
LABELLED_KINDS = ("real", "synthetic")


@dataclass(frozen=True)
class Sample:
    file: Path
    text: str
    rows: int
    country: str
    source: str
    kind: str
    group: str  # split key: one vehicle

    @property
    def val(self) -> bool:
        return int(hashlib.sha256(self.group.encode()).hexdigest()[:8], 16) % 10 == 0


def clean(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch in ALPHABET)


def plates_train(root: Path) -> Iterator[Sample]:
    """Labelled crops of `plates-train` (real and synthetic kinds)."""
    for line in (root / "crops.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] not in LABELLED_KINDS or not row.get("text"):
            continue
        text = clean(row["text"])
        group = min([text, *(clean(t) for t in row.get("near_texts") or ())])
        yield Sample(root / row["file"], text, row.get("rows") or 1, row.get("country") or "",
                     row["source"], row["kind"], group)


def unlabelled(root: Path) -> Iterator[tuple[Path, dict]]:
    for line in (root / "crops.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["kind"] == "unlabelled":
            yield root / row["file"], row


def folder(path: Path, source: str = "user") -> Iterator[Sample]:
    """A user's labelled crops: `labels.jsonl` when present, else file names."""
    labels = path / "labels.jsonl"
    if labels.exists():
        for line in labels.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                text = clean(row.get("text") or "")
                if text:
                    yield Sample(path / row["file"], text, int(row.get("rows") or 1), row.get("country") or "",
                                 source, "user", text)
        return
    for f in sorted(path.rglob("*")):
        if f.suffix.lower() in IMAGE_SUFFIXES:
            text = clean(re.split(r"_", f.stem)[0])
            if text:
                yield Sample(f, text, 1, "", source, "user", text)


def agreed(texts: list[str]) -> str:
    """The one text that at least two of `texts` give and none contradicts; "" otherwise."""
    return texts[0] if len(texts) >= 2 and len(set(texts)) == 1 else ""


def pseudo_label(root: Path, out: Path, read: Callable[[Path], list[tuple[str, float]]],
                 min_score: float = 0.9, progress: Callable[[int, int], None] | None = None) -> int:
    """Pseudo-labels for `plates-train`'s unlabelled crops: kept where at least two readings agree
    confidently (score ≥ min_score) and no confident reading says otherwise, with a plate's length,
    and — for eu2 crops whose file name hints a text — the hint agrees. Written as `pseudo.jsonl`;
    returns the count."""
    items = list(unlabelled(root))
    kept = 0
    with out.open("w", encoding="utf-8") as fh:
        for i, (file, row) in enumerate(items):
            if progress:
                progress(i, len(items))
            text = agreed([t for t, s in read(file) if s >= min_score])
            if not 4 <= len(text) <= 10:
                continue
            hint = clean(row.get("hint") or "")
            if hint and hint != text:
                continue
            fh.write(json.dumps({"file": str(file.relative_to(root)), "text": text, "rows": 1,
                                 "country": row.get("country") or "", "source": row["source"],
                                 "licence": row["licence"]}) + "\n")
            kept += 1
    return kept


def pseudo(root: Path, path: Path) -> Iterator[Sample]:
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        yield Sample(root / row["file"], row["text"], row.get("rows", 1), row.get("country", ""),
                     row["source"], "pseudo", row["text"])


def export_reads(reads: Iterable, load: Callable[[str], bytes], out: Path, min_score: float = 0.0) -> int:
    """Stored reads with a plate crop → a folder for `platehub train --folder`: `<id>.jpg` files and a
    `labels.jsonl` of {"file", "text", "source", "protocol", "score"}. Cameras that read plates
    themselves give labels for free; review the folder before training on it. Returns the count."""
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with (out / "labels.jsonl").open("a", encoding="utf-8") as fh:
        for read in reads:
            text = clean(read.plate)
            if not read.image_plate or not text or (read.score is not None and read.score < min_score):
                continue
            try:
                image = load(read.image_plate)
            except (OSError, ValueError):
                continue
            name = f"{read.id}{Path(read.image_plate).suffix or '.jpg'}"
            (out / name).write_bytes(image)
            fh.write(json.dumps({"file": name, "text": text, "source": read.source, "protocol": read.protocol,
                                 "score": read.score}, ensure_ascii=False) + "\n")
            count += 1
    return count
