"""What an acknowledgement guarantees (docs/architecture.md, "What an acknowledgement guarantees"): a
read the camera got its `200` for is stored, once, with its whole image, whatever happens to the server
after the reply — kill -9 in the middle of the camera's pushes, three times; a power loss, which no test
can cause, is covered by watching the server's system calls: the WAL holding the read and the image
file reach the disk before the reply is written — and a crash leaves no image file that no read names
(issue 11, defect 17: orphan files after a kill mid-write; `synchronous=NORMAL` acknowledged reads that
were not on disk yet).

Spec 001, 2.1: a result the server did not accept stays on the camera and is sent again later as an
offline record (`isoffline`, the same `plateid`); the server stores it once (`serialno:plateid`)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from helpers import Server
from sqlalchemy import select

from platehub.core.store.database import connect
from platehub.core.store.schema import reads
from platehub.simulator.allinone import Camera


def noisy_jpeg(seed: int, width: int = 960, height: int = 540) -> bytes:
    """A ~300 KB JPEG (noise compresses badly): writing it takes long enough to be killed in the middle."""
    rng = np.random.default_rng(seed)
    return cv2.imencode(".jpg", rng.integers(0, 255, (height, width, 3), dtype=np.uint8))[1].tobytes()


class PushingCamera:
    """A camera pushing plates back to back; an unacknowledged one is kept and sent again (as an offline
    record, as the spec's cameras do) until the server acknowledges it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.serial = f"dur-{os.getpid()}-{time.time_ns() % 10**6}"
        self.acked: dict[str, bytes] = {}  # plate → image of every acknowledged read
        self.failures = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            cam = Camera(client, self.url, self.serial, rng=random.Random(17))
            while not self.stop.is_set():
                rec = cam.record(image=noisy_jpeg(cam.next_plateid))
                while True:
                    try:
                        reply = await cam.push(rec)
                        if "Response_AlarmInfoPlate" in reply:
                            break
                    except (httpx.HTTPError, ValueError):
                        pass
                    self.failures += 1
                    rec.offline = True  # kept by the camera and sent again
                    await asyncio.sleep(0.2)
                self.acked[rec.license] = rec.image


def stored(data: Path, serial: str) -> list[tuple[str, str | None]]:
    engine = connect(f"sqlite:///{data / 'platehub.db'}")
    try:
        with engine.connect() as conn:
            return [(r.plate_raw, r.image_full) for r in conn.execute(
                select(reads.c.plate_raw, reads.c.image_full).where(reads.c.source == serial))]
    finally:
        engine.dispose()


def image_files(data: Path) -> set[str]:
    root = data / "images"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_acknowledged_reads_survive_kill_9_three_times_once_each_with_whole_images(tmp_path):
    srv = Server(tmp_path / "data").start()
    cam = PushingCamera(srv.url)
    cam.thread.start()
    rng = random.Random(11)
    try:
        for _ in range(3):
            time.sleep(rng.uniform(1.5, 3.0))  # the camera is mid-push most of the time
            srv.proc.kill()  # SIGKILL: no shutdown, whatever was in flight is cut off
            srv.proc.wait(30)
            srv.start()
        time.sleep(2.0)
    finally:
        cam.stop.set()
        cam.thread.join(60)
        srv.stop()

    assert cam.failures > 0, "the kills never interrupted a push: the test proved nothing"
    rows = stored(srv.data, cam.serial)
    plates = [plate for plate, _ in rows]
    assert len(cam.acked) > 10
    assert not set(cam.acked) - set(plates), "acknowledged reads were lost"
    assert len(plates) == len(set(plates)), "a read was stored twice"
    for plate, image in rows:
        assert image is not None
        if plate in cam.acked:
            assert (srv.data / "images" / image).read_bytes() == cam.acked[plate], f"image of {plate} differs"
    named = {image for _, image in rows}
    assert image_files(srv.data) <= named, "image files no read names are left (orphans)"


def test_image_files_left_by_a_crash_mid_write_are_removed_at_start(tmp_path):
    """A kill between writing an image and storing its read leaves a `.tmp` file (killed mid-write) or a
    renamed image no read names: the next start removes both, and keeps every image a read names."""
    srv = Server(tmp_path / "data").start()
    try:
        async def push_one() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                cam = Camera(client, srv.url, "orphan-test-cam")
                await cam.push(cam.record(image=noisy_jpeg(1)))

        asyncio.run(push_one())
    finally:
        srv.proc.kill()
        srv.proc.wait(30)
    (kept,) = {image for _, image in stored(srv.data, "orphan-test-cam")}
    day = (srv.data / "images" / kept).parent
    half_written = day / "0123456789abcdef0123456789abcdef.jpg.tmp"
    half_written.write_bytes(b"\xff\xd8 cut off")
    unnamed = day / "fedcba9876543210fedcba9876543210.jpg"
    unnamed.write_bytes(noisy_jpeg(2))
    screenshot = day / "snapshot-orphan-test-cam-0123.jpg"  # an operator's screenshot: no read names it
    screenshot.write_bytes(noisy_jpeg(3))
    srv.start()
    srv.stop()
    assert not half_written.exists()
    assert not unnamed.exists()
    assert screenshot.exists()
    assert (srv.data / "images" / kept).exists()


def _syscalls(log: str) -> list[tuple[int, str, str]]:
    """(completion order, name, line) of each traced call; an `<unfinished ...>` call completes at its
    `<... resumed>` line."""
    out, open_calls = [], {}
    for i, line in enumerate(log.splitlines()):
        pid, _, rest = line.partition(" ")
        rest = rest.lstrip()  # strace pads short pids
        if m := re.match(r"<\.\.\. (\w+) resumed>", rest):
            name, start = m.group(1), open_calls.pop((pid, m.group(1)), "")
            out.append((i, name, start + rest))
        elif m := re.match(r"(\w+)\(", rest):
            if rest.endswith("<unfinished ...>"):
                open_calls[(pid, m.group(1))] = rest
            else:
                out.append((i, m.group(1), rest))
    return sorted(out)


def test_a_read_is_acknowledged_only_once_its_wal_and_image_are_on_disk(tmp_path):
    """What survives a power loss is what was fsynced: the image file's data, its directory entry (fsync
    of the directory after the rename) and the WAL frames of the read (fdatasync of the WAL after the
    commit) must all be synced before the `200` is written to the camera's socket."""
    strace = shutil.which("strace")
    assert strace, "strace is missing (Debian: apt-get install -y strace; .ci/run installs it)"
    srv = Server(tmp_path / "data").start()
    trace = tmp_path / "strace.log"
    tracer = subprocess.Popen([strace, "-f", "-y", "-s", "24", "-e", "trace=pwrite64,write,fsync,fdatasync",
                               "-o", str(trace), "-p", str(srv.proc.pid)], stderr=subprocess.PIPE, text=True)
    try:
        assert "attached" in tracer.stderr.readline()
        time.sleep(1.0)

        async def push() -> dict:
            async with httpx.AsyncClient(timeout=30) as client:
                cam = Camera(client, srv.url, "strace-cam")
                return await cam.push(cam.record(image=noisy_jpeg(5)))

        assert "Response_AlarmInfoPlate" in asyncio.run(push())
        time.sleep(1.0)
    finally:
        tracer.terminate()
        tracer.wait(30)
        srv.stop()
    calls = _syscalls(trace.read_text())
    image = next(c for c in calls if c[1] == "write" and ".jpg.tmp>" in c[2])
    reply = next(c for c in calls if c[1] == "write" and "socket:" in c[2] and "HTTP/1.1 200" in c[2]
                 and c[0] > image[0])
    before = [c for c in calls if c[0] < reply[0]]
    wal_writes = [c for c in before if c[1] == "pwrite64" and "-wal>" in c[2]]
    assert wal_writes, "the read was not written to the WAL before the reply"
    last_write = wal_writes[-1][0]
    assert any(c[1] in ("fsync", "fdatasync") and "-wal>" in c[2] and c[0] > last_write for c in before), \
        "the reply was sent before the WAL holding the read was synced"
    assert any(c[1] in ("fsync", "fdatasync") and ".jpg.tmp>" in c[2] for c in before), "image data not synced"
    day = f"images/{time.gmtime().tm_year}/"
    assert any(c[1] == "fsync" and day in c[2] and ".jpg" not in c[2] for c in before), \
        "the image's directory entry was not synced"
