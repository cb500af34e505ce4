"""Screenshots of every page of the web console at 1366×768 and at phone width (375×812).

    python tools/console_screenshots.py OUT_DIR                    # starts a throwaway server with sample reads
    python tools/console_screenshots.py OUT_DIR --url http://127.0.0.1:8080 --user admin --password …

Uses Debian's Chromium through Playwright (as the tests do). Without --url, a `platehub serve` with a
temporary data directory is started and fed a few reads of the dev photos by a simulated all-in-one
camera (PLATEHUB_DEV_DATA or ../shared/data/plates-dev), so the pages have something to show.
Files: OUT_DIR/{desktop,phone}-{page}.png (full page). Prints whether a page scrolls sideways."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from platehub.simulator.harness import CHROMIUM, CHROMIUM_ARGS, start_server

VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 375, "height": 812}}
PAGES = ["dashboard", "live", "channels", "search", "read", "devices", "lists", "parking", "try", "settings"]
REPO = Path(__file__).resolve().parent.parent


def dev_data() -> Path | None:
    for c in (os.environ.get("PLATEHUB_DEV_DATA"), REPO.parent / "shared/data/plates-dev"):
        if c and (Path(c) / "manifest.jsonl").exists():
            return Path(c)
    return None


def camera_reads(url: str, n: int = 6, user: str = "admin", password: str = "admin-shots") -> None:
    """A simulated all-in-one camera sends `n` reads of the dev photos (with their plate boxes)."""
    from platehub.config import Settings
    from platehub.simulator.allinone import Record, plate_message

    data = dev_data()
    entries = [json.loads(x) for x in (data / "manifest.jsonl").read_text().splitlines()] if data else []
    for i in range(n):
        if entries:
            e = entries[i % len(entries)]
            plateid = int(time.time() * 1000) % 10**8 + i
            rec = Record(plateid, e["plates"][0]["text"], time.time(), image=(data / e["image"]).read_bytes(),
                         rect=tuple(e["plates"][0]["box"]), direction=(1, 2)[i % 2])
        else:
            rec = Record(1000 + i, f"ZG{1000 + i}AB", time.time())
        msg = plate_message(rec, serial="eff50e18-e3d3862b", name="North gate")
        httpx.post(url + Settings().allinone_plate_path, json=msg, timeout=30)
    httpx.post(url + "/api/push", json={"topic": "LPR", "src": "SOUTH-LANE", "plateNo": "KA123BC",
                                        "direction": "exit"}, auth=(user, password), timeout=30)


def sample_lot(url: str, args: argparse.Namespace) -> None:
    """A parking lot whose entrance is the sample camera (when the server has the parking API)."""
    with httpx.Client(base_url=url, timeout=30) as c:
        c.get("/api/auth", auth=(args.user, args.password))  # the console's session cookie
        r = c.post("/v1/lots/", json={"name": "Visitors", "type": "counter", "maxCount": 40})
        if r.status_code == 201:
            from platehub.config import Settings
            from platehub.simulator.allinone import Record, plate_message

            msg = plate_message(Record(1, "ZG0000AA", time.time()), serial="eff50e18-e3d3862b", name="North gate")
            c.post(Settings().allinone_plate_path, json=msg)  # the camera is known, then mapped
            c.put("/v1/devices/eff50e18-e3d3862b/lots/", json={"entrance": r.json()["id"]})
            c.post("/v1/lists/entries/", json={"list": "allow", "plate": "ZG9757HG", "comment": "staff"})
            c.post("/v1/lists/entries/", json={"list": "deny", "plate": "KA123BC", "tag": "banned"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--url", help="a running platehub (default: start one with sample data)")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="admin-shots")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    proc = None
    tmp = tempfile.TemporaryDirectory(prefix="platehub-shots-")
    url = args.url
    if not url:
        proc, url = start_server(Path(tmp.name) / "data", PLATEHUB_ADMIN_PASSWORD="admin-shots")
        sample_lot(url, args)
        camera_reads(url)
    try:
        hits = httpx.get(url + "/api/find?what=carNo&maxCount=50", auth=(args.user, args.password)).json()["data"]
        with_image = [h for h in hits if h.get("image")] or hits
        read_id = with_image[0]["id"] if with_image else "0"
        bad = 0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, viewport in VIEWPORTS.items():
                ctx = browser.new_context(viewport=viewport)
                page = ctx.new_page()
                page.goto(url + "/")
                page.screenshot(path=str(args.out / f"{name}-signin.png"), full_page=True)
                page.fill("#signin-user", args.user)
                page.fill("#signin-password", args.password)
                page.click("#signin-form button[type=submit]")
                page.wait_for_selector("#who:not([hidden])")
                for pg in PAGES:
                    page.goto(f"{url}/#/{'read/' + read_id if pg == 'read' else pg}")
                    page.wait_for_selector("section.page[data-ready='1']", timeout=20_000)
                    if pg == "try" and dev_data():
                        entry = json.loads((dev_data() / "manifest.jsonl").read_text().splitlines()[0])
                        page.set_input_files("#try-file", str(dev_data() / entry["image"]))
                        page.click("#try-form button[type=submit]")
                        page.wait_for_selector("#try-frame[data-boxed='1']", timeout=30_000)
                    if pg == "live":
                        page.wait_for_timeout(500)
                        camera_reads(url, 4, user=args.user, password=args.password)  # arrive live
                    page.wait_for_timeout(800)
                    sw, iw = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
                    flag = "" if sw <= iw else f"  SCROLLS SIDEWAYS ({sw} > {iw})"
                    bad += bool(flag)
                    path = args.out / f"{name}-{pg}.png"
                    page.screenshot(path=str(path), full_page=True)
                    print(f"{path}{flag}")
                if name == "phone":
                    page.click("#menu")
                    page.screenshot(path=str(args.out / "phone-menu.png"))
                ctx.close()
            browser.close()
        return 1 if bad else 0
    finally:
        if proc:
            proc.terminate()
            proc.wait(15)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
