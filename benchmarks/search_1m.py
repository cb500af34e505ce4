"""Plate search benchmark: seed N reads into a fresh database, time keyword + time-range searches.

    python benchmarks/search_1m.py                       # 1,000,000 reads, fresh SQLite in a temp dir
    python benchmarks/search_1m.py -n 200000 --queries 300
    python benchmarks/search_1m.py --postgres postgresql://user@host:5432/db   # its reads are deleted first
    python benchmarks/search_1m.py -n 10000000 --postgres auto   # a throwaway PostgreSQL (Debian's package)

Each query is one TS-API carNo page: PlateSearch.search(keyword, since, until) = the page of 50 and
the total count. Prints p50/p95/p99 in ms per kind of query and for the whole mix."""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from platehub.core.store import Store
from platehub.core.store.schema import reads
from platehub.core.store.search import PlateSearch

START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=180)
LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def make_plate(rng: random.Random) -> str:
    style = rng.random()
    if style < 0.5:  # EU-like: AB1234CD
        return "".join(rng.choices(LETTERS, k=2)) + "".join(rng.choices(string.digits, k=4)) + \
            "".join(rng.choices(LETTERS, k=2))
    if style < 0.8:  # 12AB345
        return "".join(rng.choices(string.digits, k=2)) + "".join(rng.choices(LETTERS, k=2)) + \
            "".join(rng.choices(string.digits, k=3))
    return "".join(rng.choices(LETTERS + string.digits, k=rng.randint(5, 7)))


def seed(store: Store, n: int, rng: random.Random, batch: int = 50_000) -> list[str]:
    """N reads: 60 % from a fleet of regulars (N/10 vehicles seen again and again), the rest one-off."""
    fleet = [make_plate(rng) for _ in range(max(1, n // 10))]
    sources = [f"cam-{i}" for i in range(8)]
    step = SPAN / n
    t0 = time.perf_counter()
    with store.engine.connect() as conn:
        for start in range(0, n, batch):
            rows = []
            for i in range(start, min(n, start + batch)):
                plate = rng.choice(fleet) if rng.random() < 0.6 else make_plate(rng)
                when = START + step * i
                rows.append({"id": uuid.uuid4().hex, "protocol": "push", "source": rng.choice(sources),
                             "source_key": None, "plate": plate, "plate_raw": plate, "score": 0.9,
                             "first_seen": when, "last_seen": when, "received_at": when})
            with conn.begin():
                conn.execute(insert(reads), rows)
            done = min(n, start + batch)
            rate = done / (time.perf_counter() - t0)
            print(f"\rseeded {done:,}/{n:,} reads ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # as autovacuum leaves a table that grew over months: the GIN indexes' pending lists merged
            # (until then the planner prefers btree prefix scans for similarCarNo: 1M reads, ~250 vs ~30 ms)
            conn.execute(text("VACUUM ANALYZE reads"))
    return fleet


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def queries(fleet: list[str], rng: random.Random, count: int):
    """(kind, keyword, since, until): keywords of 3-6 characters from stored plates; ranges of 1 hour to
    the whole span."""
    for _ in range(count):
        plate = rng.choice(fleet) if rng.random() < 0.7 else make_plate(rng)
        k = rng.randint(3, min(6, len(plate)))
        i = rng.randint(0, len(plate) - k)
        keyword = plate[i:i + k]
        span = rng.choice([timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=30), SPAN])
        since = START + (SPAN - span) * rng.random()
        yield f"kw{k}", keyword, since, since + span


def run(store: Store, n: int, count: int, rng: random.Random) -> None:
    fleet = seed(store, n, rng)
    search = PlateSearch(store.engine)
    for _kind, keyword, since, until in queries(fleet, rng, 20):  # warm the cache
        search.search(keyword, since, until)
    timings: dict[str, list[float]] = {}
    for kind, keyword, since, until in queries(fleet, rng, count):
        t = time.perf_counter()
        search.search(keyword, since, until, limit=50)
        timings.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
    every = [v for vs in timings.values() for v in vs]
    print(f"{store.engine.dialect.name}, {n:,} reads, {len(every)} keyword + time-range queries (page of 50 + total)")
    for kind, vs in [*sorted(timings.items()), ("all", every)]:
        report(kind, vs)
    print("outside the mix: 2-character keywords (too short for trigrams: they scan the time range), "
          "no keyword, similarCarNo:")
    for kind, vs in sorted(extra(search, fleet, rng, max(10, count // 10)).items()):
        report(kind, vs)


def report(kind: str, vs: list[float]) -> None:
    print(f"  {kind:12} n={len(vs):4}  p50 {pct(vs, 50):7.2f} ms  p95 {pct(vs, 95):7.2f} ms  "
          f"p99 {pct(vs, 99):7.2f} ms  mean {statistics.fmean(vs):7.2f} ms")


def extra(search: PlateSearch, fleet: list[str], rng: random.Random, count: int) -> dict[str, list[float]]:
    """Two-character keywords and time ranges without a keyword, over 1 day and over 30 days."""
    timings: dict[str, list[float]] = {}
    for _ in range(count):
        for span, label in ((timedelta(days=1), "1d"), (timedelta(days=30), "30d")):
            since = START + (SPAN - span) * rng.random()
            plate = rng.choice(fleet)
            i = rng.randint(0, len(plate) - 2)
            for kind, keyword in ((f"kw2/{label}", plate[i:i + 2]), (f"-/{label}", None)):
                t = time.perf_counter()
                search.search(keyword, since, since + span, limit=50)
                timings.setdefault(kind, []).append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        search.similar(rng.choice(fleet))
        timings.setdefault("similarCarNo", []).append((time.perf_counter() - t) * 1000)
    return timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--reads", type=int, default=1_000_000, help="reads to seed (default 1,000,000)")
    ap.add_argument("--queries", type=int, default=500, help="queries to time (default 500)")
    ap.add_argument("--postgres", metavar="URL", help="use this PostgreSQL database instead of a fresh SQLite "
                    "(its reads are deleted first); `auto` starts a throwaway server")
    ap.add_argument("--seed", type=int, default=4, help="random seed")
    args = ap.parse_args(argv)
    if args.postgres == "auto":
        from ingest import throwaway_postgres  # benchmarks/ingest.py

        with throwaway_postgres() as url:
            return bench(args, url)
    return bench(args, args.postgres)


def bench(args: argparse.Namespace, postgres: str | None) -> int:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="platehub-bench-") as tmp:
        url = postgres or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store(url, Path(tmp) / "images")
        try:
            if postgres:
                with store.engine.begin() as conn:
                    conn.execute(text("DELETE FROM reads"))
            run(store, args.reads, args.queries, rng)
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
