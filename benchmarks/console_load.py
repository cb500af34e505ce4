"""Web console page load with many reads stored: time-to-rendered of every page in headless Chromium.

    python benchmarks/console_load.py                        # 1,000,000 reads, fresh SQLite in a temp dir
    python benchmarks/console_load.py -n 200000 --runs 10
    python benchmarks/console_load.py --data /tmp/ph1m       # keep (or reuse) the seeded data directory

Seeds the reads as benchmarks/search_1m.py does (same generator), starts `platehub serve` on that data,
signs in through the console in Debian's Chromium (Playwright), then for each page measures
- load: a full navigation to `/#/page` until the page has rendered its data (`section[data-ready]`),
  i.e. HTML + CSS + modules + sign-in check + the page's API calls + DOM, as `performance.now()`;
- switch: the same page reached from another one inside the console (hash change), in ms.
The first load of each page (cold caches) is reported apart from the median and max of the rest."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_1m import seed

from platehub.core.store import Store
from platehub.simulator.harness import CHROMIUM, CHROMIUM_ARGS, start_server

PASSWORD = "bench-console"


def pages(read_id: str, keyword: str) -> list[tuple[str, str]]:
    return [("dashboard", "dashboard"), ("live", "live"), ("search (newest 50 of all)", "search"),
            (f"search keyword={keyword}", f"search?keyword={keyword}"),
            ("search 1 day", "search?from=2026-03-01T00:00:00%2B00:00&to=2026-03-02T00:00:00%2B00:00"),
            ("search page 1000", "search?at=49950"),
            (f"similar {keyword}", f"search?keyword={keyword}&mode=similar"),
            ("read detail", f"read/{read_id}"), ("devices", "devices"), ("lists", "lists"), ("parking", "parking"),
            ("try it", "try"), ("settings", "settings")]


def count_reads(data: Path) -> int:
    db = data / "platehub.db"
    if not db.exists():
        return 0
    store = Store(f"sqlite:///{db}", data / "images")
    try:
        with store.engine.connect() as conn:
            from sqlalchemy import text

            return conn.execute(text("SELECT count(*) FROM reads")).scalar() or 0
    finally:
        store.close()


def measure(url: str, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    hits = httpx.get(url + "/api/find?what=carNo&maxCount=1", auth=("admin", PASSWORD), timeout=60).json()
    read_id = hits["data"][0]["id"]
    keyword = hits["data"][0]["plateNo"][:4]
    total = hits["totalCount"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(url + "/")
        page.fill("#signin-user", "admin")
        page.fill("#signin-password", PASSWORD)
        page.click("#signin-form button[type=submit]")
        page.wait_for_selector("#who:not([hidden])")
        print(f"{total:,} reads stored; {runs} loads per page (1366×768, headless Chromium)")
        print(f"  {'page':34} {'first load':>10} {'load p50':>9} {'load max':>9} {'switch p50':>10} {'switch max':>10}")
        worst = 0.0
        for label, hash_ in pages(read_id, keyword):
            loads: list[float] = []
            switches: list[float] = []
            for _ in range(runs):
                page.goto("about:blank")  # a new document each time (a hash change alone would not reload)
                page.goto(f"{url}/#/{hash_}")
                page.wait_for_selector("section.page[data-ready='1']")
                loads.append(page.evaluate("performance.now()"))
                page.evaluate("location.hash = '#/settings'")
                page.wait_for_selector("section.page-settings[data-ready='1']")
                t0 = page.evaluate("performance.now()")
                page.evaluate(f"location.hash = {('#/' + hash_)!r}")
                name = hash_.split("?")[0].split("/")[0]
                page.wait_for_selector(f"section.page-{name}[data-ready='1']")
                switches.append(page.evaluate("performance.now()") - t0)
            rest = loads[1:] or loads
            worst = max(worst, *loads)
            print(f"  {label:34} {loads[0]:8.0f} ms {statistics.median(rest):6.0f} ms {max(rest):6.0f} ms "
                  f"{statistics.median(switches):7.0f} ms {max(switches):7.0f} ms")
        print(f"slowest full page load: {worst:.0f} ms ({'under' if worst < 1000 else 'OVER'} 1 s)")
        browser.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--reads", type=int, default=1_000_000, help="reads to seed (default 1,000,000)")
    ap.add_argument("--runs", type=int, default=5, help="loads per page (default 5)")
    ap.add_argument("--data", type=Path, help="data directory to seed or reuse (default: a temporary one)")
    ap.add_argument("--seed", type=int, default=4, help="random seed")
    args = ap.parse_args(argv)
    tmp = None
    if args.data is None:
        tmp = tempfile.TemporaryDirectory(prefix="platehub-console-bench-")
        args.data = Path(tmp.name) / "data"
    args.data.mkdir(parents=True, exist_ok=True)
    have = count_reads(args.data)
    if have < args.reads:
        store = Store(f"sqlite:///{args.data / 'platehub.db'}", args.data / "images")
        try:
            seed(store, args.reads - have, random.Random(args.seed + have))
        finally:
            store.close()
    proc, url = start_server(args.data, PLATEHUB_ADMIN_PASSWORD=PASSWORD)
    try:
        measure(url, args.runs)
    finally:
        proc.terminate()
        proc.wait(30)
        if tmp:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
