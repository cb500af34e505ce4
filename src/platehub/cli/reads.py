"""`platehub read` (recognise local images, store nothing) and `platehub reads` (print stored reads)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from platehub.cli.common import open_store, with_data


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def cmd_read(args: argparse.Namespace) -> int:
    """Recognise images locally and print the API's JSON (nothing is stored)."""
    import time

    from platehub.core.read import new_id, utcnow
    from platehub.core.recognition import Recognition
    from platehub.engine import Engine
    from platehub.engine.image import ImageError, decode
    from platehub.protocols.snapshot.codec import recognition_data
    from platehub.protocols.snapshot.request import BadRequest, engine_options

    try:
        options = engine_options(args.regions or [], args.config, args.mmc)
    except BadRequest as e:
        print(f"platehub read: {e}", file=sys.stderr)
        return 2
    engine = Engine.load()
    status = 0
    for path in args.images:
        try:
            data = Path(path).read_bytes()
            t0 = time.perf_counter()
            plates = engine.recognize(decode(data), options)
            ms = 1000 * (time.perf_counter() - t0)
        except (OSError, ImageError) as e:
            print(f"platehub read: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        now = utcnow()
        rec = Recognition(new_id(), now, now, args.camera_id, Path(path).name, round(ms, 3), tuple(plates), (),
                          options, 0)
        print(json.dumps(recognition_data(rec), ensure_ascii=False, indent=2 if args.pretty else None))
    return status


def _parse_time(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def cmd_reads(args: argparse.Namespace) -> int:
    from platehub.core.read import normalize_plate

    store = open_store(args)
    since = _parse_time(args.since) if args.since else None
    plate = normalize_plate(args.plate.replace("*", "\x00")).replace("\x00", "*") if args.plate else None
    reads = list(reversed(store.reads.find(plate=plate, since=since, limit=args.limit)))
    if args.export_crops:
        from platehub.training.data import export_reads

        count = export_reads(reads, store.images.load, args.export_crops, args.min_score)
        print(f"{count} plate crops with their text written to {args.export_crops} (labels.jsonl); review them, "
              f"then: platehub train --init ... --folder {args.export_crops}", file=sys.stderr)
        return 0
    for read in reads:
        print(json.dumps(asdict(read), default=_json_default, ensure_ascii=False))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("read", help="read plates in image files and print the API's JSON",
                       description="Recognise plates in local images; prints one Snapshot API JSON per image.")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--regions", action="append", help="region code (repeatable or comma-separated), e.g. ua")
    r.add_argument("--config", help='engine config JSON, e.g. \'{"mode":"fast"}\'')
    r.add_argument("--mmc", action="store_true", help="ask for make/model/colour (not available: see docs)")
    r.add_argument("--camera-id", default=None)
    r.add_argument("--pretty", action="store_true", help="indent the JSON")
    r.set_defaults(func=cmd_read)

    rd = with_data(sub.add_parser("reads", help="print stored reads as JSON lines",
                                  description="Stored reads from every door, oldest first, as JSON lines."))
    rd.add_argument("--plate", help="plate text (separators ignored; * as wildcard)")
    rd.add_argument("--since", help="ISO 8601 time, e.g. 2026-11-21T08:00:00Z")
    rd.add_argument("--limit", type=int, default=1000)
    rd.add_argument("--export-crops", type=Path, metavar="DIR",
                    help="instead of printing: write the reads' plate crops and a labels.jsonl to DIR, for "
                    "fine-tuning the plate reader (platehub train --folder DIR)")
    rd.add_argument("--min-score", type=float, default=0.0, help="with --export-crops: only reads scored at least this")
    rd.set_defaults(func=cmd_reads)
