"""Speed the way Plate Recognizer measures its SDK: their street image resized to each size, 4
concurrent clients posting it to /v1/plate-reader/ until 50 calls are done, ms/call = wall time ÷
calls, regular and fast mode. Runs a real `platehub serve` (throwaway data directory) and prints
the table with the plates read (the image holds 4 readable plates at 800×600).

    python benchmarks/speed_pr.py [--calls 50] [--clients 4] [--sizes 800x600,...] [--json out.json]

The same as `platehub bench MANIFEST --skip accuracy,crops --image ../shared/data/bench/cars-4k.jpg`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from platehub.bench import sized, speed

IMAGE = Path(__file__).resolve().parents[2] / "shared/data/bench/cars-4k.jpg"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", type=Path, default=IMAGE, help="the street image (default: %(default)s)")
    p.add_argument("--sizes", default="800x600,1280x720,1920x1080,2560x1440")
    p.add_argument("--modes", default="regular,fast")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--calls", type=int, default=50, help="calls per size and mode (default 50)")
    p.add_argument("--json", type=Path, help="also write the rows to this file")
    args = p.parse_args(argv)
    if not args.image.exists():
        print(f"{args.image} not found (give --image)", file=sys.stderr)
        return 2
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",") if s]
    print(f"{args.clients} clients, {args.calls} calls per row, {args.image.name} resized", flush=True)
    rows = speed({size: sized(args.image, *size) for size in sizes}, args.modes.split(","), args.clients,
                 args.calls, sys.stdout)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
