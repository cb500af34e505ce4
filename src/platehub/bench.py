"""`platehub bench`: accuracy and speed on a manifest of real photos.

Manifest lines (as ../shared/data/plates-dev/manifest.jsonl):
    {"image": "images/hr-01.jpg", "country": "hr",
     "plates": [{"text": "ZG9757HG", "box": [x1, y1, x2, y2] or null, "two_rows": false}]}
Crop lists (crops-cn.jsonl): {"image": "crops-cn/京PL3N67.jpg", "text": "京PL3N67"}.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from platehub.core.read import normalize_plate
from platehub.engine import Engine, EngineOptions
from platehub.engine.types import iou


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass
class Tally:
    images: int = 0
    labelled: int = 0  # images with a plate text label
    exact: int = 0
    near: int = 0
    boxes: int = 0
    found: int = 0
    ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def _progress(i: int, n: int, label: str) -> None:
    if sys.stderr.isatty() or i == n:
        print(f"\r{label}: {i}/{n}", end="\n" if i == n else "", file=sys.stderr, flush=True)


def _best_read(results: list, truth_boxes: list) -> str:
    """The read compared with the label: the plate overlapping a labelled box, else the first."""
    for r in results:
        if any(tb and iou(r.box.xyxy, tb) >= 0.3 for tb in truth_boxes):
            return r.plate
    return results[0].plate if results else ""


def accuracy(engine: Engine, manifest: Path, regions: str, mode: str,
             threshold_o: float = EngineOptions.threshold_o) -> dict[str, Tally]:
    """Exact reads (what a client gets: reads scoring at least `threshold_o`) and detection recall
    (every detected plate, whatever its read's score) per country."""
    lines = [json.loads(x) for x in manifest.read_text().splitlines() if x.strip()]
    tallies: dict[str, Tally] = defaultdict(Tally)
    for i, item in enumerate(lines, 1):
        img = cv2.imread(str(manifest.parent / item["image"]))
        country = item.get("country", "?")
        opts = EngineOptions(
            regions=(country,) if regions == "country" else tuple(r for r in regions.split(",") if r and r != "none"),
            mode=mode,
            threshold_o=0.0,
        )
        t0 = time.perf_counter()
        results = engine.recognize(img, opts)
        ms = 1000 * (time.perf_counter() - t0)
        reads = [r for r in results if r.score >= threshold_o]
        truth_boxes = [tuple(p["box"]) if p.get("box") else None for p in item["plates"]]
        two_rows = any(p.get("two_rows") for p in item["plates"])
        for key in (f"{country}-two-row" if two_rows else country, "all"):
            t = tallies[key]
            t.images += 1
            t.ms.append(ms)
            for tb in truth_boxes:
                if tb is None:
                    continue
                t.boxes += 1
                t.found += any(iou(r.box.xyxy, tb) >= 0.5 for r in results)
            truth = normalize_plate(item["plates"][0].get("text") or "")
            if truth:
                t.labelled += 1
                read = _best_read(reads, truth_boxes)
                t.exact += read == truth
                t.near += edit_distance(read, truth) <= 1
                if read != truth:
                    t.misses.append(f"{Path(item['image']).name}: {read or '-'} (truth {truth})")
        _progress(i, len(lines), "accuracy")
    return tallies


def crops(engine: Engine, crop_list: Path, mode: str, regions: tuple[str, ...] = ("cn",)) -> Tally:
    lines = [json.loads(x) for x in crop_list.read_text().splitlines() if x.strip()]
    t = Tally()
    for i, item in enumerate(lines, 1):
        img = cv2.imread(str(crop_list.parent / item["image"]))
        t0 = time.perf_counter()
        res = engine.read_plate(img, EngineOptions(regions=regions, mode=mode, threshold_o=0.0))
        t.ms.append(1000 * (time.perf_counter() - t0))
        read, truth = (res.plate if res else ""), normalize_plate(item["text"])
        t.images += 1
        t.labelled += 1
        t.exact += read == truth
        t.near += edit_distance(read, truth) <= 1
        if read != truth and len(t.misses) < 1000:
            t.misses.append(f"{read or '-'} (truth {truth})")
        _progress(i, len(lines), "crops")
    return t


def print_accuracy(tallies: dict[str, Tally], out) -> None:
    print(f"{'set':14s} {'images':>6s} {'exact':>7s} {'<=1 edit':>9s} {'det recall':>11s} "
          f"{'median ms':>10s} {'p90 ms':>7s}", file=out)
    for key in sorted(tallies, key=lambda k: (k == "all", k)):
        t = tallies[key]
        n = t.labelled
        recall = f"{t.found}/{t.boxes} {100 * t.found / t.boxes:5.1f}%" if t.boxes else "-"
        exact = f"{100 * t.exact / n:6.1f}%" if n else "      -"
        near = f"{100 * t.near / n:8.1f}%" if n else "        -"
        print(f"{key:14s} {t.images:6d} {exact} {near} {recall:>11s} "
              f"{statistics.median(t.ms):10.0f} {pct(t.ms, 90):7.0f}", file=out)


def _test_image(manifest: Path, width: int, height: int) -> bytes:
    """The manifest's largest photo, centre-cropped to the aspect and resized: a real scene."""
    items = [json.loads(x) for x in manifest.read_text().splitlines() if x.strip()]

    def area(item: dict) -> int:
        im = cv2.imread(str(manifest.parent / item["image"]), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        return im.shape[0] * im.shape[1] if im is not None else 0

    best = max(items, key=area)
    img = cv2.imread(str(manifest.parent / best["image"]))
    h, w = img.shape[:2]
    target = width / height
    if w / h > target:
        cw = int(h * target)
        img = img[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = int(w / target)
        img = img[(h - ch) // 2 : (h - ch) // 2 + ch]
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def sized(path: Path, width: int, height: int) -> bytes:
    """A street image resized to width×height (Plate Recognizer's benchmark resizes one image)."""
    img = cv2.resize(cv2.imread(str(path)), (width, height), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def measure(url: str, data: bytes, mode: str, clients: int, calls: int) -> tuple[float, list[float], list[str]]:
    """Plate Recognizer's method: `clients` threads post the image until `calls` calls are done
    (after one warm-up call each); returns ms per call (wall ÷ calls), latencies, plates read."""
    import threading

    import httpx

    local = threading.local()
    config = json.dumps({"mode": mode})
    latencies: list[float] = []

    def post(_: int) -> list[str]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=120)
        t0 = time.perf_counter()
        r = local.client.post(url + "/v1/plate-reader/", files={"upload": ("bench.jpg", data, "image/jpeg")},
                              data={"config": config})
        r.raise_for_status()
        latencies.append(1000 * (time.perf_counter() - t0))
        return [p["plate"] for p in r.json()["results"]]

    with ThreadPoolExecutor(clients) as pool:
        warm_up = list(pool.map(post, range(clients)))
        latencies.clear()
        start = time.perf_counter()
        list(pool.map(post, range(calls)))
        wall = time.perf_counter() - start
    return 1000 * wall / calls, latencies, warm_up[0]


def speed(images: dict[tuple[int, int], bytes], modes: list[str], clients: int, calls: int, out) -> list[dict]:
    """The speed table over HTTP, against a real `platehub serve` with a throwaway data directory."""
    import tempfile

    from platehub.simulator.harness import start_server

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp), PLATEHUB_ADMIN_PASSWORD="bench")
        try:
            print(f"| {'image':>9s} | {'mode':>7s} | {'ms/call':>7s} | {'calls/s':>7s} | {'median ms':>9s} | "
                  f"{'p90 ms':>6s} | plates read", file=out)
            print(f"|{'-' * 11}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 11}|{'-' * 8}|---", file=out)
            for (w, h), data in images.items():
                for mode in modes:
                    ms, lat, plates = measure(url, data, mode, clients, calls)
                    row = {"size": f"{w}x{h}", "mode": mode, "clients": clients, "calls": calls,
                           "ms_per_call": round(ms, 1), "calls_per_s": round(1000 / ms, 2),
                           "median_ms": round(statistics.median(lat), 1), "p90_ms": round(pct(lat, 90), 1),
                           "plates": plates}
                    rows.append(row)
                    print(f"| {row['size']:>9s} | {mode:>7s} | {ms:7.1f} | {1000 / ms:7.2f} | "
                          f"{row['median_ms']:9.0f} | {row['p90_ms']:6.0f} | {' '.join(plates)}", file=out, flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
    return rows


def run(args) -> int:
    out = sys.stdout
    skip = set(filter(None, args.skip.split(",")))
    report: dict = {"manifest": str(args.manifest), "mode": args.mode, "regions": args.regions}
    engine = None
    if "accuracy" not in skip or "crops" not in skip:
        engine = Engine.load()
    if "accuracy" not in skip:
        print(f"# accuracy on {args.manifest} (mode {args.mode}, regions {args.regions}, "
              f"threshold_o {args.threshold_o})", file=out)
        tallies = accuracy(engine, args.manifest, args.regions, args.mode, args.threshold_o)
        print_accuracy(tallies, out)
        for key, t in sorted(tallies.items()):
            for miss in t.misses if key != "all" else ():
                print(f"  miss {key}: {miss}", file=out)
        report["accuracy"] = {k: {"images": t.images, "labelled": t.labelled, "exact": t.exact,
                                  "within_one_edit": t.near, "boxes": t.boxes, "boxes_found": t.found,
                                  "median_ms": statistics.median(t.ms), "p90_ms": pct(t.ms, 90)}
                              for k, t in tallies.items()}
    crop_list = args.crops or (args.manifest.parent / "crops-cn.jsonl")
    if "crops" not in skip and crop_list.exists():
        print(f"# plate crops OCR on {crop_list}", file=out)
        t = crops(engine, crop_list, args.mode)
        print(f"crops {t.images}: exact {100 * t.exact / t.images:.1f}%  <=1 edit {100 * t.near / t.images:.1f}%  "
              f"median {statistics.median(t.ms):.0f} ms  p90 {pct(t.ms, 90):.0f} ms", file=out)
        report["crops"] = {"images": t.images, "exact": t.exact, "within_one_edit": t.near,
                           "median_ms": statistics.median(t.ms), "misses_sample": t.misses[:30]}
    if "speed" not in skip and args.sizes:
        sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",") if s]
        images = {(w, h): sized(args.image, w, h) if args.image else _test_image(args.manifest, w, h)
                  for w, h in sizes}
        print(f"# speed over HTTP: {args.clients} concurrent clients, {args.calls} calls per row, image "
              f"{args.image or 'the largest photo of the manifest'}", file=out)
        report["speed"] = speed(images, args.modes.split(","), args.clients, args.calls, out)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0
