"""Access list benchmark: import N entries, time AccessLists.match() per kind of read.

    python benchmarks/access_1m.py                         # 1,000,000 entries, fresh SQLite in a temp dir
    python benchmarks/access_1m.py --db /tmp/acc.db --keep # build once, reuse on the next run
    python benchmarks/access_1m.py --postgres postgresql://user@host:5432/db   # its entries are deleted first

Reads timed: exact hits, one-character misreads (a character changed, dropped or added), look-alike
misreads (0/O, 8/B …), unknown plates — each with edits=1 and edits=2. Prints p50/p95/p99 in ms."""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from platehub.config import Settings
from platehub.core.access import AccessLists, Entry
from platehub.core.similar import LOOK_ALIKES
from platehub.core.store import Store

LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁苏浙赣鄂桂甘晋蒙陕吉闽贵粤川"
SWAP = {**LOOK_ALIKES, **{rep: ch for ch, rep in LOOK_ALIKES.items()}}


def make_plate(rng: random.Random) -> str:
    """Plate shapes of several countries."""
    s = rng.random()
    L, D = (lambda k: "".join(rng.choices(LETTERS, k=k))), (lambda k: "".join(rng.choices(string.digits, k=k)))
    if s < 0.25:
        return L(2) + D(3) + L(2)  # FR/IT AB123CD
    if s < 0.45:
        return L(rng.randint(1, 3)) + L(rng.randint(1, 2)) + D(rng.randint(1, 4))  # DE B AB 1234
    if s < 0.6:
        return L(2) + D(2) + L(3)  # UK AB12CDE
    if s < 0.75:
        return rng.choice(PROVINCES) + L(1) + "".join(rng.choices(LETTERS + string.digits, k=5))  # CN
    if s < 0.9:
        return D(1) + L(3) + D(3)  # US-like 7ABC123
    return "".join(rng.choices(LETTERS + string.digits, k=rng.randint(5, 8)))


def build(store: Store, n: int, rng: random.Random) -> None:
    plates: set[str] = set()
    while len(plates) < n:
        plates.add(make_plate(rng))
    entries = (Entry(list="deny" if i % 10 == 0 else "allow", plate=p, tag=f"group{i % 50}")
               for i, p in enumerate(plates))
    t0 = time.perf_counter()

    def progress(done: int) -> None:
        rate = done / (time.perf_counter() - t0)
        print(f"\rimported {done:,}/{n:,} ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    added, _updated, _removed = store.access.bulk(entries, progress=progress)
    print(file=sys.stderr)
    print(f"import: {added:,} entries in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE access_entries"))
    print(f"analyze: {time.perf_counter() - t0:.1f} s")


def sample(store: Store, count: int, rng: random.Random) -> list[str]:
    with store.engine.connect() as conn:
        total = conn.execute(text("SELECT max(id) FROM access_entries")).scalar() or 0
        ids = [rng.randint(1, total) for _ in range(count)]
        rows = conn.execute(text(f"SELECT plate FROM access_entries WHERE id IN ({','.join(map(str, ids))})"))
        return [r[0] for r in rows]


def misread(plate: str, rng: random.Random) -> str:
    i = rng.randrange(len(plate))
    op = rng.random()
    if op < 0.5:
        return plate[:i] + rng.choice([c for c in LETTERS + string.digits if c != plate[i]]) + plate[i + 1:]
    if op < 0.75:
        return plate[:i] + plate[i + 1:]
    return plate[:i] + rng.choice(LETTERS + string.digits) + plate[i:]


def lookalike(plate: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(plate) if c in SWAP]
    if not spots:
        return plate
    i = rng.choice(spots)
    return plate[:i] + SWAP[plate[i]] + plate[i + 1:]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run(store: Store, count: int, rng: random.Random) -> None:
    lists = AccessLists(store.access, Settings())
    stored = sample(store, count, rng)
    now = datetime.now(UTC)
    unknown = ["".join(rng.choices(LETTERS + string.digits, k=10)) for _ in stored]  # longer than any stored
    reads = {"exact": stored, "misread": [misread(p, rng) for p in stored],
             "lookalike": [lookalike(p, rng) for p in stored], "unknown": unknown}
    print(f"{store.engine.dialect.name}, {store.access.count():,} entries, {count} reads per kind")
    for edits in (1, 2):
        t = time.perf_counter()
        lists.match("WARMUP1", None, now, edits=edits)  # edits=2: builds the in-memory key index
        print(f"edits={edits} (first call {1000 * (time.perf_counter() - t):.0f} ms)")
        for kind, plates in reads.items():
            timings, found = [], 0
            for plate in plates:
                t = time.perf_counter()
                found += bool(lists.match(plate, None, now, edits=edits))
                timings.append((time.perf_counter() - t) * 1000)
            print(f"  {kind:10} p50 {pct(timings, 50):6.2f} ms  p95 {pct(timings, 95):6.2f} ms  "
                  f"p99 {pct(timings, 99):6.2f} ms  mean {statistics.fmean(timings):6.2f} ms  "
                  f"matched {found}/{len(plates)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--entries", type=int, default=1_000_000, help="entries (default 1,000,000)")
    ap.add_argument("--reads", type=int, default=500, help="reads per kind to time (default 500)")
    ap.add_argument("--db", type=Path, help="SQLite file (default: a temp dir, deleted afterwards)")
    ap.add_argument("--keep", action="store_true", help="reuse --db when it holds entries already")
    ap.add_argument("--postgres", metavar="URL", help="use this PostgreSQL database (its entries are deleted first)")
    ap.add_argument("--seed", type=int, default=7, help="random seed")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="platehub-bench-") as tmp:
        url = args.postgres or f"sqlite:///{args.db or Path(tmp) / 'bench.db'}"
        store = Store(url, Path(tmp) / "images")
        try:
            if not (args.keep and store.access.count()):
                store.access.clear(("allow", "deny"))
                build(store, args.entries, rng)
            run(store, args.reads, rng)
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
