"""The plate reader against the previous engine on held-out plate crops, per source and country.

Crops: the validation split of plates-train (vehicles never seen in training: `training/data.py`
splits by plate text and its near variants), its pseudo-labelled crops' validation split, rendered
plates of every style (fixed seed; the only US plates there are), and the Chinese dev crops.
Readers, each given the crop alone (no detector):

- `reader`: platehub's plate reader, one pass (what fast mode does);
- `previous`: the previous engine (PP-OCR text rows found by the text detector, plus the whole crop);
- `engine`: the shipped combination (the reader, and the previous engine's readings where the
  reader's read is doubtful), i.e. `Engine.read_plate` in regular mode.

    python benchmarks/reader_validation.py --data ../shared/data/plates-train [--pseudo build/plate-reader/pseudo.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

import cv2

from platehub.engine import Engine, EngineOptions, rules
from platehub.engine.detector import YoloPlateDetector
from platehub.engine.plate_reader import MODEL, PlateReader
from platehub.engine.textrows import TextRowReader
from platehub.training import augment, data, synth

SHARED = Path(__file__).resolve().parents[2] / "shared/data"


def crops(train: Path, pseudo: Path | None, dev: Path, per_style: int, seed: int) -> dict[str, list]:
    groups: dict[str, list] = defaultdict(list)
    samples = list(data.plates_train(train)) + (list(data.pseudo(train, pseudo)) if pseudo else [])
    for s in samples:
        if s.val:
            img = cv2.imread(str(s.file))
            if img is not None:
                groups[f"{s.source.split('/')[-1]} {s.country or '-'} {s.kind}"].append((img, s.text, ()))
    assets = synth.Assets(train / "synth-assets")
    rng = random.Random(seed)
    for style in assets.styles:
        for _ in range(per_style):
            plate = synth.render(style, assets, rng)
            img = augment.photometric(augment.place(plate.image, rng), rng)
            region = {"us": "us", "br": "br", "mercosur": "br", "cn": "cn", "ua": "ua"}.get(style)
            groups[f"rendered {style}"].append((img, plate.text, (region,) if region else ()))
    cn = dev / "crops-cn.jsonl"
    if cn.exists():
        for line in cn.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            groups["dev crops-cn"].append((cv2.imread(str(dev / row["image"])), row["text"], ("cn",)))
    return groups


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=SHARED / "plates-train")
    p.add_argument("--pseudo", type=Path, help="pseudo-labels written by the training run (pseudo.jsonl)")
    p.add_argument("--dev", type=Path, default=SHARED / "plates-dev")
    p.add_argument("--per-style", type=int, default=200, help="rendered plates per style")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--regions", action="store_true", help="pass each crop's region where known (rendered, CN)")
    p.add_argument("--model", default=MODEL, help="plate reader ONNX file (default: the shipped one)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    reader, previous = PlateReader(args.model), TextRowReader.load()
    engine = Engine(YoloPlateDetector(), reader, previous)
    groups = crops(args.data, args.pseudo, args.dev, args.per_style, args.seed)
    report = {}
    print(f"{'crops':34s} {'n':>5s} {'reader':>7s} {'previous':>9s} {'engine':>7s}")
    for name, items in sorted(groups.items()):
        exact = defaultdict(int)
        for i, (img, truth, region) in enumerate(items):
            options = EngineOptions(regions=region if args.regions else (), threshold_o=0.0)
            guide = rules.guide_for(options)
            own = rules.candidates([(reader.recognize([img])[0].chars, 1.0)], guide)
            old = rules.candidates(previous.readings([(img, img)])[0], guide)
            both = engine.read_plate(img, options)
            exact["reader"] += bool(own) and own[0].plate == truth
            exact["previous"] += bool(old) and old[0].plate == truth
            exact["engine"] += both is not None and both.plate == truth
            print(f"\r{name}: {i + 1}/{len(items)}", end="", file=sys.stderr)
        print("\r", end="", file=sys.stderr)
        row = {k: round(100 * exact[k] / len(items), 1) for k in ("reader", "previous", "engine")}
        report[name] = {"n": len(items), **row}
        print(f"{name:34s} {len(items):5d} {row['reader']:6.1f}% {row['previous']:8.1f}% {row['engine']:6.1f}%",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
