"""Pseudo-labels for plates-train's unlabelled crops, read three times — by the PP-OCR engine (the
whole crop, and its text rows) and by platehub's plate reader — and kept where at least two
readings agree confidently and none contradicts them (`data.pseudo_label`):

    python -m platehub.training.pseudo --data ../shared/data/plates-train --out build/plate-reader/pseudo.jsonl

`platehub train --out build/plate-reader` then picks `build/plate-reader/pseudo.jsonl` up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from platehub.engine.plate_reader import PlateReader
from platehub.engine.textrows import TextRowReader
from platehub.training.data import pseudo_label


def reader(engine: TextRowReader, plates: PlateReader):
    def read(path: Path) -> list[tuple[str, float]]:
        img = cv2.imread(str(path))
        if img is None:
            return []
        whole = engine.recognizer.recognize([img])[0]
        own = plates.recognize([img])[0]
        out = [(whole.text, whole.score), (own.text, own.score)]
        rows, main = engine.row_lines(img)
        if rows:
            out.append((rows[main].text, rows[main].score))
        return out

    return read


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="plates-train")
    p.add_argument("--out", type=Path, default=Path("build/plate-reader/pseudo.jsonl"))
    p.add_argument("--min-score", type=float, default=0.9)
    args = p.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def progress(i: int, n: int) -> None:
        if i % 100 == 0:
            print(f"\r{i}/{n}", end="", file=sys.stderr, flush=True)

    kept = pseudo_label(args.data, args.out, reader(TextRowReader.load(), PlateReader()), args.min_score, progress)
    print(f"\n{kept} pseudo-labels written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
