"""What gate decisions add to an all-in-one camera's reply: a simulated camera pushes plates to a real
`platehub serve` and times each push until its reply (which carries the decision, `info: ok|no`),
once with empty access lists and once with N entries (default 1,000,000).

    python benchmarks/gate_1m.py                          # builds the N-entry database in a temp dir
    python benchmarks/gate_1m.py --data /tmp/gate1m --keep  # build once, reuse on the next run

Reads pushed: a quarter each exact allow-list plates, one-character misreads of them, deny-list
plates, unknown plates. Prints p50/p95/p99 of the reply time in ms and how many opened."""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from access_1m import build, make_plate, misread

from platehub.config import Settings
from platehub.core.store import Store
from platehub.simulator.allinone import Camera
from platehub.simulator.harness import start_server


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def prepare(data: Path, entries: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """The database with `entries` list entries (kept when it has them); (allow plates, deny plates) to push."""
    store = Store.open(Settings(data_dir=data))
    try:
        have = store.access.count(None)
        if have != entries:
            store.access.clear(("allow", "deny"))
            if entries:
                build(store, entries, rng)
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT list, plate FROM access_entries ORDER BY random() LIMIT 2000").all()
    finally:
        store.close()
    return [p for lst, p in rows if lst == "allow"], [p for lst, p in rows if lst == "deny"]


KINDS = ("allow-listed", "1-char misread of allow-listed", "deny-listed", "unknown")


async def push_all(url: str, plates: list[str]) -> tuple[list[float], dict[str, int]]:
    times, opened = [], dict.fromkeys(KINDS, 0)
    async with httpx.AsyncClient(timeout=30) as client:
        cam = Camera(client, url, f"bench-{time.time_ns() % 10**8}")
        for i, plate in enumerate(plates):
            t0 = time.perf_counter()
            reply = await cam.push(cam.record(plate))
            if i >= 20:  # warm-up excluded
                times.append((time.perf_counter() - t0) * 1000)
                opened[KINDS[i % 4]] += reply["Response_AlarmInfoPlate"].get("info") == "ok"
    return times, opened


def run(data: Path, entries: int, pushes: int, rng: random.Random) -> None:
    t0 = time.perf_counter()
    allow, deny = prepare(data, entries, rng)
    print(f"# {entries:,} list entries ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    allow = allow or [make_plate(rng)]
    deny = deny or [make_plate(rng)]
    plates = []
    for i in range(pushes + 20):
        kind = i % 4
        plates.append(rng.choice(allow) if kind == 0 else misread(rng.choice(allow), rng) if kind == 1
                      else rng.choice(deny) if kind == 2 else make_plate(rng))
    proc, url = start_server(data, PLATEHUB_ADMIN_PASSWORD="bench-admin", PLATEHUB_IMAGE_RETENTION="none")
    try:
        times, opened = asyncio.run(push_all(url, plates))
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"{entries:>9,} entries  {len(times)} pushes  reply ms p50 {pct(times, 50):6.2f}  p95 {pct(times, 95):6.2f}"
          f"  p99 {pct(times, 99):6.2f}  max {max(times):6.2f}", flush=True)
    print("           opened: " + ", ".join(f"{k} {v}/{len(times) // 4}" for k, v in opened.items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--pushes", type=int, default=1000)
    ap.add_argument("--data", help="data directory of the N-entry run (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep --data for the next run")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="platehub-gate-"))
    data = Path(args.data) if args.data else tmp / "full"
    try:
        run(tmp / "empty", 0, args.pushes, rng)
        run(data, args.entries, args.pushes, rng)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.data and not args.keep:
            shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
