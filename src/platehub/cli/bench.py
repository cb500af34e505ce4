"""`platehub bench`: accuracy and speed on a manifest (bench.py)."""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_bench(args: argparse.Namespace) -> int:
    from platehub.bench import run

    return run(args)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from platehub.engine.types import EngineOptions

    b = sub.add_parser("bench", help="measure accuracy and speed on a manifest",
                       description="Accuracy (exact, within one edit, detection recall) per country, and speed "
                       "(median/p90 ms per image; calls per second with N concurrent HTTP clients).")
    b.add_argument("manifest", type=Path, help="JSON lines as ../shared/data/plates-dev/manifest.jsonl")
    b.add_argument("--crops", type=Path, help="JSON lines of plate crops (default: crops-cn.jsonl beside the "
                   "manifest, when present)")
    b.add_argument("--regions", default="country",
                   help="'country' (each image's own country, as a deployment would configure), "
                   "'none', or codes (default: %(default)s)")
    b.add_argument("--mode", default="regular", choices=["regular", "fast", "redaction"])
    b.add_argument("--threshold-o", type=float, default=EngineOptions.threshold_o,
                   help="OCR score floor of the reads compared with the labels, as the API's threshold_o "
                   "(default: the API's own, %(default)s); detection recall counts every detected plate")
    b.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients for the speed test")
    b.add_argument("--calls", type=int, default=50,
                   help="calls per size and mode in the speed test (default %(default)s)")
    b.add_argument("--image", type=Path, help="street image for the speed test, resized to each size (default: "
                   "the manifest's largest photo, cropped to each aspect)")
    b.add_argument("--modes", default="regular,fast", help="modes of the speed test (default %(default)s)")
    b.add_argument("--sizes", default="800x600,1280x720,1920x1080,2560x1440",
                   help="image sizes for the speed table ('' to skip)")
    b.add_argument("--skip", default="", help="comma-separated parts to skip: accuracy,crops,speed")
    b.add_argument("--json", type=Path, help="also write all figures to this file")
    b.set_defaults(func=cmd_bench)
