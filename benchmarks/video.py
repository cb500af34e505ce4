"""Video channels on this machine: how many channels at which sample rate the engine keeps up with.

    python benchmarks/video.py                                   # channels 1,2,4 × 2,5,10 frames/s, 40 s each
    python benchmarks/video.py --channels 1,2 --rates 5 --seconds 60

A real RTSP server on loopback (GStreamer's, tests/rtsp_server.py; Debian packages as the tests') serves
../shared/data/video/cars.mp4 (1280×720, 18 fps, three vehicles in 18.7 s) in real time; N channel
workers (platehub.video.channel, fast mode, one shared engine as in the server) read it, each its own
RTSP session from the start of the clip, again and again. Per configuration it prints:

- frames offered (sampled at the rate) and processed by the engine, and dropped (replaced in the
  one-frame slot while the engine was busy): "keeps up" when at least 95 % of the offered are processed;
- CPU per channel: this process's CPU time (decoding, engine, tracker) over the wall time, divided by
  the channels, in % of one core (the RTSP server's own CPU is not counted); and that CPU time per
  frame processed (decoding every frame of the stream included): on a machine shared with other work
  the first says what the channels got, the second what a frame costs;
- latency from a plate's first sighting (the frame time) to its read event (the callback the server
  stores it with): median and max over the passes. It is mostly the tracker waiting for the vehicle to
  leave (1.5 s after its last sighting) or `max_prediction_delay` (6 s), plus the engine's backlog;
- the passes read (three per play of the clip; a channel that drops too many frames reads fewer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
VIDEO = REPO.parent / "shared/data/video/cars.mp4"


def run(engine, url: str, channels: int, rate: float, seconds: float) -> dict:
    from platehub.core.store.channels import Channel
    from platehub.video.channel import ChannelWorker

    latencies: list[float] = []
    plates: list[str] = []
    lock = threading.Lock()

    def on_pass(channel, p) -> None:
        with lock:
            latencies.append(time.time() - p.first_seen)
            plates.append(p.plate)

    workers = [ChannelWorker(Channel(i + 1, f"ch{i + 1}", url, sample_rate=rate), engine, on_pass)
               for i in range(channels)]
    cpu0, t0 = os.times(), time.monotonic()
    for w in workers:
        w.start()
    time.sleep(seconds)
    cpu1, wall = os.times(), time.monotonic() - t0
    statuses = [w.status() for w in workers]
    for w in workers:
        w.stop_event.set()
    for w in workers:
        w.stop(10)
    offered = sum(s.frames_offered for s in statuses)
    processed = sum(s.frames_processed for s in statuses)
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    return {
        "channels": channels, "rate": rate, "offered": offered, "processed": processed,
        "dropped": sum(s.frames_dropped for s in statuses),
        "keeps_up": offered > 0 and processed >= 0.95 * offered,
        "cpu_per_channel": 100 * cpu / wall / channels,
        "cpu_ms_per_frame": 1000 * cpu / processed if processed else None,
        "latency_p50": statistics.median(latencies) if latencies else None,
        "latency_max": max(latencies) if latencies else None,
        "passes": len(plates), "plates": sorted(set(plates)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--channels", default="1,2,4")
    ap.add_argument("--rates", default="2,5,10")
    ap.add_argument("--seconds", type=float, default=40.0, help="per configuration (the clip is 18.7 s)")
    args = ap.parse_args()

    from rtsp_server import RtspServer

    from platehub.engine import Engine
    from platehub.simulator.harness import free_port

    engine = Engine.load()
    log = Path(tempfile.mkdtemp(prefix="platehub-bench-video-")) / "rtsp.log"
    server = RtspServer(free_port(), VIDEO, log).start()
    rows = []
    try:
        print(f"{os.cpu_count()} cores; {VIDEO.name} over RTSP; fast mode; {args.seconds:g} s a configuration",
              flush=True)
        print("| channels | frames/s each | offered | processed | dropped | keeps up | CPU per channel | "
              "CPU per frame | latency p50 / max | passes |")
        print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
        for n in (int(x) for x in args.channels.split(",")):
            for rate in (float(x) for x in args.rates.split(",")):
                r = run(engine, server.url, n, rate, args.seconds)
                rows.append(r)
                lat = (f"{r['latency_p50']:.1f} / {r['latency_max']:.1f} s" if r["latency_p50"] is not None
                       else "–")
                print(f"| {n} | {rate:g} | {r['offered']} | {r['processed']} | {r['dropped']} | "
                      f"{'yes' if r['keeps_up'] else 'no'} | {r['cpu_per_channel']:.0f} % | "
                      f"{r['cpu_ms_per_frame'] or 0:.0f} ms | {lat} | "
                      f"{r['passes']} ({', '.join(r['plates'])}) |", flush=True)
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
