"""Ingest under load: N simulated all-in-one cameras (default 16) push `AlarmInfoPlate` results with a
~110 KB JPEG (base64 `imageFile`, spec 001) back to back to a real `platehub serve`, each waiting for
its reply before the next push, as cameras do.

    python benchmarks/ingest.py                                  # SQLite in a temp data dir, 20 s
    python benchmarks/ingest.py --postgres auto                  # a throwaway PostgreSQL (Debian's package)
    python benchmarks/ingest.py --postgres postgresql://user@host:5432/db   # its reads are deleted first
    python benchmarks/ingest.py --processes 3 --postgres auto    # 3 servers behind HAProxy (docs/deployment.md)
    python benchmarks/ingest.py --processes 2 --postgres auto --ws   # + WebSocket event delay across processes

Prints events/s (acknowledged replies per second after a warm-up), reply p50/p99 in ms, the server's
CPU ms per event (from /proc of the server process), the load generator's own CPU, and checks that every
acknowledged read is stored. The image is `../shared/data/bench/cars-4k.jpg` resized, read at run time.

`--processes N` (N > 1 needs `--postgres`): N `platehub serve` processes, each on its own port, on one
PostgreSQL, one throwaway Redis (Debian's redis-server) and one data directory (as the shared volume of
a deployment), with the cameras spread over them through Debian's HAProxy running deploy/haproxy.cfg
(one `server` line per process), or straight to the processes with `--balancer direct`. CPU per event is
summed over every server process and HAProxy.

`--ws`: a TS-API WebSocket client (topic LPR) on process 1 while the cameras push to the other processes
(straight, not through the balancer; with one process, to process 1 itself: the local path); prints p50/p99
of the delay from each acknowledged push to its event on the socket (negative: the event came before the
reply), and how many acknowledged reads never came, or came twice.

The cameras speak HTTP/1.1 over plain asyncio streams (keep-alive, one connection each): the load
generator shares the machine's cores with the server, and a lighter client leaves them to the server."""

from __future__ import annotations

import argparse
import asyncio
import base64
import glob
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from platehub.core.read import normalize_plate
from platehub.simulator.allinone import Paths, Record, plate_message, random_plate
from platehub.simulator.daemons import Balancer, RedisServer
from platehub.simulator.harness import free_port, start_server

REPO = Path(__file__).resolve().parent.parent
PHOTO = REPO.parent / "shared/data/bench/cars-4k.jpg"
ADMIN = ("admin", "bench-admin")


def jpeg_of_size(path: Path, target: int) -> bytes:
    """The photo resized (quality 85) to the width whose JPEG is closest to `target` bytes."""
    import cv2

    img = cv2.imread(str(path))
    if img is None:
        raise SystemExit(f"cannot read {path}")
    lo, hi, best = 64, img.shape[1], b""
    while lo <= hi:
        width = (lo + hi) // 2
        small = cv2.resize(img, (width, img.shape[0] * width // img.shape[1]), interpolation=cv2.INTER_AREA)
        data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
        if not best or abs(len(data) - target) < abs(len(best) - target):
            best = data
        if len(data) < target:
            lo = width + 1
        else:
            hi = width - 1
    return best


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (and its reaped children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Stats:
    def __init__(self) -> None:
        self.measuring = False
        self.latencies: list[float] = []
        self.acked = 0  # every acknowledged read (warm-up included): all must be stored
        self.window = 0  # acknowledged while measuring
        self.errors: list[str] = []
        self.acks: dict[tuple[str, str], float] = {}  # (camera, plate) → when its reply came (--ws)


async def camera(host: str, port: int, serial: str, image: bytes, stats: Stats, stop: asyncio.Event,
                 rng: random.Random) -> None:
    """One camera: push, wait for the reply, push the next; a failed push is sent again (same plateid)."""
    path = Paths().plate
    reader, writer = await asyncio.open_connection(host, port)
    b64 = base64.b64encode(image)
    plateid = 1
    try:
        while not stop.is_set():
            # the message as the simulator builds it, the base64 image put in after json.dumps (cheaper)
            rec = Record(plateid, random_plate(rng), time.time(), image=b"")
            text = json.dumps(plate_message(rec, serial=serial), ensure_ascii=False)
            body = text.replace('"imageFile": ""', '"imageFile": "@IMAGE@"').encode().replace(b"@IMAGE@", b64, 1)
            body = body.replace(b'"imageFileLen": 0', b'"imageFileLen": %d' % len(image), 1)
            head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            reply = await reader.readexactly(length)
            ms = (time.perf_counter() - t0) * 1000
            if not status_line.startswith(b"HTTP/1.1 200") or b"Response_AlarmInfoPlate" not in reply:
                stats.errors.append(f"{serial}: {status_line.strip().decode()} {reply[:120]!r}")
                await asyncio.sleep(0.5)
                continue  # sent again, as the camera does
            stats.acked += 1
            if stats.measuring:
                stats.acks[(serial, normalize_plate(rec.license))] = time.perf_counter()
            plateid += 1
            if stats.measuring:
                stats.window += 1
                stats.latencies.append(ms)
    finally:
        writer.close()


def host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    return host, int(port)


async def load(urls: list[str], cameras: int, image: bytes, warmup: float, duration: float, pids: list[int],
               watch: str | None = None) -> dict:
    """`cameras` cameras spread over `urls`; CPU summed over `pids`; `watch`: a server URL whose TS-API
    WebSocket receives the events (--ws)."""
    stats, stop, rng = Stats(), asyncio.Event(), random.Random(11)
    run = f"{time.time_ns() % 10**6:06d}"
    events: dict[tuple[str, str], list[float]] = {}
    watcher = asyncio.create_task(websocket_events(watch, events, stop)) if watch else None
    if watcher:
        await asyncio.sleep(1.0)  # subscribed before the first push
    tasks = [asyncio.create_task(camera(*host_port(urls[i % len(urls)]), f"bench{run}-{i:04d}", image, stats,
                                        stop, rng)) for i in range(cameras)]
    await asyncio.sleep(warmup)
    stats.measuring = True
    t0, c0, s0 = time.perf_counter(), time.process_time(), sum(map(cpu_seconds, pids))
    end = t0 + duration
    while (now := time.perf_counter()) < end:
        await asyncio.sleep(min(5.0, end - now))
        elapsed = time.perf_counter() - t0
        print(f"# {elapsed:5.1f} s: {stats.window / elapsed:7.1f} events/s, "
              f"p99 so far {pct(stats.latencies, 99):.1f} ms", file=sys.stderr, flush=True)
    stats.measuring = False
    wall, client_cpu = time.perf_counter() - t0, time.process_time() - c0
    server_cpu = sum(map(cpu_seconds, pids)) - s0
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    if watcher:
        await asyncio.sleep(2.0)  # the last events on their way
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    n = max(stats.window, 1)
    return {"events": stats.window, "events_s": stats.window / wall, "p50": pct(stats.latencies, 50),
            "p99": pct(stats.latencies, 99), "max": max(stats.latencies, default=float("nan")),
            "server_cpu_ms": server_cpu * 1000 / n, "client_cpu_ms": client_cpu * 1000 / n, "acked": stats.acked,
            "errors": stats.errors, "serials": f"bench{run}-%", "ws": ws_delays(stats.acks, events) if watch else None}


async def websocket_events(url: str, events: dict[tuple[str, str], list[float]], stop: asyncio.Event) -> None:
    """TS-API /wsapi/subscribeEvents (LPR) on `url`: when each (camera, plate) event arrived."""
    from websockets.asyncio.client import connect

    auth = base64.b64encode(":".join(ADMIN).encode()).decode()
    ws_url = url.replace("http://", "ws://") + f"/wsapi/subscribeEvents?topics=LPR&auth={auth}"
    async with connect(ws_url, max_size=None, open_timeout=30) as ws:
        await ws.recv()  # subscriberId
        async for raw in ws:
            now = time.perf_counter()
            msg = json.loads(raw)
            if msg.get("topic") == "LPR":
                events.setdefault((msg.get("deviceCode", ""), msg.get("plateNo", "")), []).append(now)


def ws_delays(acks: dict[tuple[str, str], float], events: dict[tuple[str, str], list[float]]) -> dict:
    """Per acknowledged push (measured window): the delay to its WebSocket event, and what never came or came
    twice."""
    delays = [(events[k][0] - t) * 1000 for k, t in acks.items() if k in events]
    return {"p50": pct(delays, 50), "p99": pct(delays, 99), "seen": len(delays), "acked": len(acks),
            "missing": sum(1 for k in acks if k not in events),
            "twice": sum(1 for k in acks if len(events.get(k, ())) > 1)}


def stored_reads(db_url: str, serials: str) -> int:
    """Reads of this run's cameras (`serials`: a LIKE pattern)."""
    from sqlalchemy import text

    from platehub.core.store.database import connect

    engine = connect(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM reads WHERE protocol = 'allinone' AND source LIKE :s"),
                                    {"s": serials}).scalar_one())
    finally:
        engine.dispose()


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise SystemExit("PostgreSQL is not installed (Debian package `postgresql`)")
    return found[-1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def throwaway_postgres():
    """initdb in a temp dir, default durability settings (fsync on, synchronous_commit on)."""
    root = Path(tempfile.mkdtemp(prefix="platehub-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    data = root / "data"
    subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "platehub", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                 f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        for _ in range(50):
            if subprocess.run(_as_postgres([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "platehub",
                                            "platehub"]), capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        yield f"postgresql://platehub@127.0.0.1:{port}/platehub"
    finally:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def clear_reads(db_url: str) -> None:
    from sqlalchemy import text

    from platehub.core.store import Store

    store = Store(db_url, Path(tempfile.gettempdir()) / "platehub-unused-images")  # migrates
    try:
        with store.engine.begin() as conn:
            for table in ("decisions", "reads"):
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        store.close()


def bench(args: argparse.Namespace, db_url: str | None) -> None:
    image = jpeg_of_size(args.photo, args.image_kb * 1000)
    print(f"# image: {len(image):,} bytes JPEG ({len(image) * 4 // 3:,} as base64); {args.cameras} cameras, "
          f"{args.warmup:.0f} s warm-up, {args.duration:.0f} s measured", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="platehub-ingest-") as tmp, ExitStack() as stack:
        data = Path(args.data or tmp)
        env = {"PLATEHUB_ADMIN_PASSWORD": ADMIN[1], "PLATEHUB_IMAGE_RETENTION": args.retention}
        if db_url:
            clear_reads(db_url)
            env["PLATEHUB_DATABASE_URL"] = db_url
        if args.processes > 1:
            env["PLATEHUB_REDIS_URL"] = stack.enter_context(RedisServer()).url
            env["PLATEHUB_TRUSTED_PROXIES"] = "127.0.0.1"
        procs, urls = [], []
        try:
            for _ in range(args.processes):  # one after the other: each finds the database migrated
                proc, url = start_server(data, **env)
                procs.append(proc)
                urls.append(url)
            pids = [p.pid for p in procs]
            targets, how = urls, "straight to the process" + ("es" if args.processes > 1 else "")
            if args.ws:  # the socket on process 1, the cameras on the others (or on it, with one process)
                targets = urls[1:] or urls
                others = "process 2" if args.processes == 2 else f"processes 2-{args.processes}"
                how = (f"straight to {others}, WebSocket on process 1" if args.processes > 1
                       else "straight to the process, WebSocket on it (the local path)")
            elif args.balancer == "haproxy":
                balancer = stack.enter_context(Balancer(urls))
                targets, how = [balancer.url], f"through HAProxy (deploy/haproxy.cfg, {args.processes} servers)"
                pids.append(balancer.proc.pid)
            print(f"# {args.processes} platehub process(es), cameras {how}", file=sys.stderr, flush=True)
            result = asyncio.run(load(targets, args.cameras, image, args.warmup, args.duration, pids,
                                      watch=urls[0] if args.ws else None))
            time.sleep(0.5)
            stored = stored_reads(db_url or f"sqlite:///{(data / 'platehub.db').resolve()}", result["serials"])
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
    db = "PostgreSQL" if db_url else "SQLite"
    plus = " + HAProxy" if args.balancer == "haproxy" and not args.ws else ""
    print(f"{db}, {args.processes} process(es), {how}: {result['events_s']:.1f} events/s, reply p50 "
          f"{result['p50']:.1f} ms, p99 {result['p99']:.1f} ms (max {result['max']:.1f}), server CPU "
          f"{result['server_cpu_ms']:.2f} ms/event (all processes{plus}; load generator "
          f"{result['client_cpu_ms']:.2f} ms/event); {result['events']:,} events measured")
    print(f"acknowledged {result['acked']:,}, stored {stored:,}" + ("" if stored == result["acked"] else "  MISMATCH"))
    if ws := result["ws"]:
        print(f"WebSocket on process 1: push acknowledged → LPR event p50 {ws['p50']:.1f} ms, p99 {ws['p99']:.1f} ms; "
              f"{ws['seen']:,} of {ws['acked']:,} acknowledged reads seen, {ws['missing']:,} never came, "
              f"{ws['twice']:,} came twice")
    for err in result["errors"][:5]:
        print("error:", err)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cameras", type=int, default=16, help="simulated cameras pushing at once (default 16)")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds measured (default 20)")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds pushed before measuring (default 3)")
    ap.add_argument("--image-kb", type=int, default=110, help="JPEG size in kB (default 110)")
    ap.add_argument("--photo", type=Path, default=PHOTO, help=f"the photo to resize (default {PHOTO})")
    ap.add_argument("--retention", default="full", choices=("none", "plate", "full"),
                    help="PLATEHUB_IMAGE_RETENTION of the server (default full: every image written)")
    ap.add_argument("--postgres", metavar="URL",
                    help="use PostgreSQL: `auto` starts a throwaway server, else a URL (its reads are deleted first)")
    ap.add_argument("--data", type=Path, help="the server's data directory (default: a temp dir)")
    ap.add_argument("--processes", type=int, default=1, metavar="N",
                    help="platehub serve processes on one PostgreSQL and one Redis (default 1; N > 1 needs --postgres)")
    ap.add_argument("--balancer", choices=("haproxy", "direct"),
                    help="with --processes > 1: cameras through HAProxy (deploy/haproxy.cfg; the default) or "
                         "spread straight over the processes")
    ap.add_argument("--ws", action="store_true",
                    help="a TS-API WebSocket on process 1, the cameras on the others: push → event delay")
    args = ap.parse_args()
    if args.processes < 1:
        ap.error("--processes must be at least 1")
    if args.processes > 1 and not args.postgres:
        ap.error("--processes > 1 needs --postgres (auto or a URL): several processes share PostgreSQL")
    args.balancer = args.balancer or ("haproxy" if args.processes > 1 else "direct")
    if args.postgres == "auto":
        with throwaway_postgres() as url:
            bench(args, url)
    else:
        bench(args, args.postgres)


if __name__ == "__main__":
    main()
