"""Parking occupancy and visit pairing through the real server (the done-criterion of the parking issue).

Starts `platehub serve` on a throwaway data directory, creates three counters and a group (management
API), maps an entrance and an exit source to each counter (lanes without a barrier: policy `always`),
then pushes (TS-API /api/push) the reads of
N vehicle passes in time order: vehicles of a fleet enter a random lot and leave it after a random
dwell; some are still parked at the end. 3 % of the reads are misread by exactly one character (a
look-alike or other substitution, an insertion or a deletion). Then it compares:

- each lot's count (TS-API /api/enum?what=parkingLot) with the truth (entries − exits);
- the visits (/v1/visits/) with the passes: a pass is paired correctly when one visit holds its own
  entry and its own exit (matched by their unique times).

    .venv/bin/python benchmarks/parking_10k.py [--passes 10000] [--misread 0.03] [--seed 1]
"""

from __future__ import annotations

import argparse
import base64
import heapq
import os
import random
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ADMIN = ("admin", "bench-admin-pass")
LOOK_ALIKES = ("0O", "0D", "1I", "8B", "5S", "2Z", "6G")
LOTS = (("B1 Parking Lot", 90), ("B2 Parking Lot", 60), ("Roof", 40))


@dataclass
class Pass:
    plate: str
    lot: int  # index into LOTS
    entered: datetime
    exited: datetime | None  # None: still parked at the end


def misread(plate: str, rng: random.Random) -> str:
    """The plate with exactly one character wrong (never the plate itself)."""
    while True:
        kind = rng.random()
        i = rng.randrange(len(plate))
        if kind < 0.35:  # a look-alike where one exists, else any substitution
            pairs = [p for p in LOOK_ALIKES if plate[i] in p]
            if pairs:
                pair = rng.choice(pairs)
                out = plate[:i] + pair[1 - pair.index(plate[i])] + plate[i + 1:]
            else:
                out = plate[:i] + rng.choice(string.ascii_uppercase + string.digits) + plate[i + 1:]
        elif kind < 0.7:
            out = plate[:i] + rng.choice(string.ascii_uppercase + string.digits) + plate[i + 1:]
        elif kind < 0.85:
            out = plate[:i] + rng.choice(string.ascii_uppercase + string.digits) + plate[i:]
        else:
            out = plate[:i] + plate[i + 1:]
        if out != plate:
            return out


def fleet(n: int, rng: random.Random) -> list[str]:
    plates: set[str] = set()
    formats = ("LLDDDD", "LLLDDDD", "LLDDDLL", "DLLLDDD")
    while len(plates) < n:
        fmt = rng.choice(formats)
        plates.add("".join(rng.choice(string.ascii_uppercase if c == "L" else string.digits) for c in fmt))
    return sorted(plates)


def simulate(passes: int, rng: random.Random, start: datetime) -> tuple[list[Pass], datetime]:
    """`passes` entries (each with an exit unless the vehicle is still parked at the end)."""
    cars = fleet(max(200, passes // 3), rng)
    free = list(cars)
    rng.shuffle(free)
    busy: list[tuple[datetime, str]] = []  # (leaves at, plate)
    out: list[Pass] = []
    t = start
    mean_gap = 60.0  # seconds between arrivals
    for _ in range(passes):
        t += timedelta(milliseconds=rng.randint(1, int(2000 * mean_gap)))
        while busy and busy[0][0] <= t:
            free.append(heapq.heappop(busy)[1])
        if not free:  # everyone is parked: wait for the next to leave
            t = busy[0][0] + timedelta(milliseconds=1)
            free.append(heapq.heappop(busy)[1])
        plate = free.pop(rng.randrange(len(free)))
        dwell = timedelta(milliseconds=round(1000 * (rng.expovariate(1 / 5400) + 30)))
        p = Pass(plate, rng.choices(range(len(LOTS)), weights=(5, 3, 2))[0], t, t + dwell)
        out.append(p)
        heapq.heappush(busy, (p.exited, plate))  # type: ignore[arg-type]
    end = t + timedelta(seconds=1)
    for p in out:
        if p.exited and p.exited > end:
            p.exited = None
    return out, end


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run(url: str, token: str, auth: tuple[str, str], passes: int = 10_000, misread_rate: float = 0.03,
        seed: int = 1, batch: int = 250, quiet: bool = False) -> dict:
    """Set up the lots on a running server (whose sources ENT0/EXT0 … are registered), push, measure."""
    rng = random.Random(seed)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    api = httpx.Client(base_url=url, headers={"Authorization": f"Token {token}"}, timeout=60)
    ids = []
    for name, max_count in LOTS:
        r = api.post("/v1/lots/", json={"name": name, "type": "counter", "maxCount": max_count})
        r.raise_for_status()
        ids.append(r.json()["id"])
    group = api.post("/v1/lots/", json={"name": "Basement", "type": "group", "members": ids[:2]})
    group.raise_for_status()
    group_id = group.json()["id"]
    for i, lot_id in enumerate(ids):
        api.put(f"/v1/devices/ENT{i}/lots/", json={"entrance": lot_id}).raise_for_status()
        api.put(f"/v1/devices/EXT{i}/lots/", json={"exit": lot_id}).raise_for_status()

    sim, _end = simulate(passes, rng, datetime(2026, 1, 5, 6, 0, tzinfo=UTC))
    events: list[tuple[datetime, str, str, Pass]] = []  # (time, src, read plate, pass)
    misreads = 0
    for p in sim:
        for kind, when in (("ENT", p.entered), ("EXT", p.exited)):
            if when is None:
                continue
            plate = p.plate
            if rng.random() < misread_rate:
                plate, misreads = misread(plate, rng), misreads + 1
            events.append((when, f"{kind}{p.lot}", plate, p))
    events.sort(key=lambda e: e[0])
    seen: set[datetime] = set()
    for i, (when, src, plate, p) in enumerate(events):  # every read at its own millisecond
        while when in seen:
            when += timedelta(milliseconds=1)
        seen.add(when)
        if src.startswith("ENT"):
            p.entered = when
        else:
            p.exited = when
        events[i] = (when, src, plate, p)

    basic = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    t0 = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": basic}, timeout=120) as push:
        for k in range(0, len(events), batch):
            body = [{"topic": "LPR", "src": src, "plateNo": plate, "when": iso(when)}
                    for when, src, plate, _ in events[k:k + batch]]
            r = push.post("/api/push", json=body)
            if r.status_code != 200:
                raise RuntimeError(f"push refused: {r.status_code} {r.text[:300]}")
    elapsed = time.perf_counter() - t0
    say(f"{len(events)} reads ({misreads} misread, {misreads / len(events):.2%}) of {len(sim)} passes pushed "
        f"in {elapsed:.1f} s ({len(events) / elapsed:.0f} reads/s)")

    # occupancy: the server's (TS-API enum) against the truth
    enum = httpx.get(f"{url}/api/enum", params={"what": "parkingLot"}, headers={"Authorization": basic}).json()
    server = {lot["id"]: lot["count"] for lot in enum["counter"] + enum["group"]}
    truth = {lot_id: sum(1 for p in sim if p.lot == i and p.exited is None) for i, lot_id in enumerate(ids)}
    truth[group_id] = truth[ids[0]] + truth[ids[1]]
    occupancy_exact = all(server.get(k) == v for k, v in truth.items())
    names = {lot["id"]: lot["name"] for lot in enum["counter"] + enum["group"]}
    for lot_id, want in truth.items():
        say(f"  lot {lot_id} {names[lot_id]:<16} server {server.get(lot_id)!s:>5}  truth {want:>5}  "
            f"{'ok' if server.get(lot_id) == want else 'WRONG'}")

    # visits: every page
    visits: list[dict] = []
    while True:
        page = api.get("/v1/visits/", params={"offset": len(visits), "limit": 1000}).json()
        visits += page["visits"]
        if len(visits) >= page["total"] or not page["visits"]:
            break

    def at(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None

    by_entry = {(v["lot"], at(v["enteredAt"])): v for v in visits if v["enteredAt"]}
    completed = [p for p in sim if p.exited is not None]
    correct = 0
    for p in completed:
        v = by_entry.get((ids[p.lot], p.entered))
        if v and v["status"] == "closed" and at(v["exitedAt"]) == p.exited:
            correct += 1
    still_in = [p for p in sim if p.exited is None]
    open_right = sum(1 for p in still_in if (v := by_entry.get((ids[p.lot], p.entered))) and v["status"] == "open")
    statuses = Counter(v["status"] for v in visits)
    share = correct / len(completed) if completed else 1.0
    say(f"visits: {dict(statuses)}")
    say(f"paired correctly: {correct} of {len(completed)} completed passes = {share:.3%}; "
        f"open visits of vehicles still parked: {open_right} of {len(still_in)}")
    say(f"occupancy exact: {occupancy_exact}")
    api.close()
    return {"reads": len(events), "misreads": misreads, "passes": len(sim), "completed": len(completed),
            "correct": correct, "share": share, "occupancy_exact": occupancy_exact, "server": server,
            "truth": truth, "statuses": dict(statuses), "open_right": open_right, "still_in": len(still_in),
            "seconds": elapsed}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--passes", type=int, default=10_000, help="vehicle passes (an entry and, mostly, an exit)")
    ap.add_argument("--misread", type=float, default=0.03, help="share of reads misread by one character")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, help="data directory (default: a temporary one)")
    args = ap.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="platehub-parking-"))
    # lanes without a barrier (policy `always`): every entry read is a vehicle that went in
    env = {**os.environ, "PLATEHUB_DATA": str(data), "PLATEHUB_ADMIN_PASSWORD": ADMIN[1],
           "PLATEHUB_GATE_POLICY": "always", "PLATEHUB_LOG_LEVEL": os.environ.get("PLATEHUB_LOG_LEVEL", "WARNING")}
    cli = [sys.executable, "-m", "platehub.cli"]
    token = subprocess.run([*cli, "token", "create", "parking-bench"], env=env, capture_output=True, text=True,
                           check=True).stdout.split()[0]
    for i in range(len(LOTS)):
        for kind in ("ENT", "EXT"):
            subprocess.run([*cli, "lots", "source", f"{kind}{i}", "--add", "push", "--entrance", "none"], env=env,
                           capture_output=True, check=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(url + "/info/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("the server did not start; see " + str(data / "server.log"))
            time.sleep(0.3)
        result = run(url, token, ADMIN, args.passes, args.misread, args.seed)
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
    ok = result["occupancy_exact"] and result["share"] >= 0.99
    print("PASS" if ok else "FAIL", f"(data in {data})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
