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


def accuracy(engine: Engine, manifest: Path, regions: str, mode: str, threshold_o: float = 0.0) -> dict[str, Tally]:
    lines = [json.loads(x) for x in manifest.read_text().splitlines() if x.strip()]
    tallies: dict[str, Tally] = defaultdict(Tally)
    for i, item in enumerate(lines, 1):
        img = cv2.imread(str(manifest.parent / item["image"]))
        country = item.get("country", "?")
        opts = EngineOptions(
            regions=(country,) if regions == "country" else tuple(r for r in regions.split(",") if r and r != "none"),
            mode=mode,
            threshold_o=threshold_o,
        )
        t0 = time.perf_counter()
        results = engine.recognize(img, opts)
        ms = 1000 * (time.perf_counter() - t0)
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
                read = _best_read(results, truth_boxes)
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


def throughput(call, payload: bytes, clients: int, seconds: float) -> tuple[int, float, list[float]]:
    """Run `call(payload)` from `clients` threads for about `seconds`; (calls, wall time, latencies)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            call(payload)
            latencies.append(1000 * (time.perf_counter() - t0))

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(worker) for _ in range(clients)]:
            f.result()
    return len(latencies), time.perf_counter() - start, latencies


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class _Server:
    """A real `platehub serve` in a subprocess, on a free port, with a throwaway data directory."""

    def __enter__(self) -> str:
        import os
        import subprocess
        import tempfile

        import httpx

        self.tmp = tempfile.TemporaryDirectory()
        port = _free_port()
        env = {**os.environ, "PLATEHUB_DATA": self.tmp.name, "PLATEHUB_ADMIN_PASSWORD": "bench"}
        env.pop("PLATEHUB_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "platehub.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], env=env,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(url + "/info/", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        raise RuntimeError("the server did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.tmp.cleanup()


def speed(manifest: Path, sizes: list[tuple[int, int]], modes: list[str], clients: int, seconds: float,
          out) -> list[dict]:
    import httpx

    rows = []
    with _Server() as url:
        local = __import__("threading").local()

        def post(payload: tuple[bytes, str]) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(timeout=60)
            data, config = payload
            r = local.client.post(url + "/v1/plate-reader/", files={"upload": ("bench.jpg", data, "image/jpeg")},
                                  data={"config": config})
            r.raise_for_status()

        print(f"{'size':>10s} {'mode':>8s} {'clients':>7s} {'calls':>6s} {'ms/call':>8s} {'calls/s':>8s} "
              f"{'median ms':>10s} {'p90 ms':>7s}", file=out)
        for w, h in sizes:
            data = _test_image(manifest, w, h)
            for mode in modes:
                payload = (data, json.dumps({"mode": mode}))
                for _ in range(3):
                    post(payload)  # warm up
                n, wall, lat = throughput(post, payload, clients, seconds)
                row = {"size": f"{w}x{h}", "mode": mode, "clients": clients, "calls": n,
                       "ms_per_call": 1000 * wall / n, "calls_per_s": n / wall,
                       "median_ms": statistics.median(lat), "p90_ms": pct(lat, 90)}
                rows.append(row)
                print(f"{row['size']:>10s} {mode:>8s} {clients:7d} {n:6d} {row['ms_per_call']:8.1f} "
                      f"{row['calls_per_s']:8.2f} {row['median_ms']:10.0f} {row['p90_ms']:7.0f}", file=out, flush=True)
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
        print(f"# speed over HTTP: {args.clients} concurrent clients, {args.seconds:.0f} s per row", file=out)
        report["speed"] = speed(args.manifest, sizes, ["regular", "fast"], args.clients, args.seconds, out)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0
