"""`platehub simulate allinone`: a simulated all-in-one ANPR camera (spec 001) pushing to a server.

The camera pushes plate results (`AlarmInfoPlate`, real images as base64 with --image / --plate-image,
else `imagePath` only), registers by normal heartbeat or comet poll, replays an offline backlog by the
spec's retransmission rules (2.1), and obeys the replies: gate openings, serial data, manual trigger
(a new read with triggerType 4), screenshot upload (TriggerImage) and whitelist edits, kept in a
camera-side whitelist printed at the end.

Offline backlog (2.1): the next offline record is sent only after the reply to the previous one
carried `ContinuePushOffline` with its plateid and continue=1 (anything else stops the backlog). A live
read that occurs while an offline record is on its way terminates that push (its reply is ignored):
the live read is sent first and the interrupted offline record is sent again, so the server may
receive it twice. A live read the server does not accept becomes an offline record.

`Camera` is the reusable part (async, on an `httpx.AsyncClient`): tests drive it in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import random
import secrets
import time
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from platehub.config import Settings

DETAILS = ("all", "more", "shorter", "briefly")  # the camera page's "content detail level"
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _default(name: str) -> str:
    return next(f.default for f in fields(Settings) if f.name == name)  # type: ignore[return-value]


@dataclass(frozen=True)
class Paths:
    """The paths set on the camera's "HTTP push" page (the spec's defaults)."""

    plate: str = _default("allinone_plate_path")
    register: str = _default("allinone_register_path")
    io: str = _default("allinone_io_path")
    serial: str = _default("allinone_serial_path")


def random_plate(rng: random.Random | None = None) -> str:
    rng = rng or random.Random()
    return rng.choice(PROVINCES) + rng.choice(LETTERS) + "".join(rng.choice(LETTERS + "0123456789") for _ in range(5))


@dataclass
class Record:
    """One recognition result kept by the camera (live, or offline until the server took it)."""

    plateid: int
    license: str
    sec: float  # when the vehicle passed (epoch seconds)
    offline: bool = False
    trigger_type: int = 1
    confidence: int = 92
    color_type: int = 1
    direction: int = 0
    rect: tuple[int, int, int, int] = (611, 441, 751, 486)  # left, top, right, bottom
    image: bytes | None = None
    fragment: bytes | None = None
    created: float = field(default_factory=time.time)  # when the camera produced it (wall clock)
    attempts: int = 0


def plate_message(rec: Record, *, serial: str, name: str = "IVS", ip: str = "192.168.1.100",
                  detail: str = "all", extension: bool = False, channel: int = 0) -> dict[str, Any]:
    """The `AlarmInfoPlate` JSON of a record at a content-detail level (spec 2): "all" (with `extension`:
    the series cameras' fields), "more" (no location, timeUsed), "shorter" (no colorValue, confidence,
    bright, carBright, carColor), "briefly" (no timeStamp)."""
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS}")
    local = time.localtime(rec.sec)
    pr: dict[str, Any] = {}
    if extension:
        left, top, right, bottom = rec.rect
        pr.update({"plate_true_width": 44, "plate_distance": 40, "is_fake_plate": 0,
                   "car_location": {"RECT": {"bottom": min(bottom + 300, 1080), "left": max(left - 250, 0),
                                             "right": right + 250, "top": max(top - 350, 0)}},
                   "car_brand": {"brand": 6, "year": 2018, "type": 1}, "feature_Code": "asf"})
    pr.update({"bright": 0, "carBright": 0, "carColor": 0, "colorType": rec.color_type, "colorValue": 0,
               "confidence": rec.confidence, "direction": rec.direction})
    if rec.image is None:
        stamp = time.strftime("%Y_%m_%d", local)
        pr["imagePath"] = quote(f"/mmc/VzIPCCap/{stamp}/{time.strftime('%H%M%S', local)}{rec.plateid}_"
                                f"{rec.license}.jpg".encode("gb18030"), safe="")
    else:
        pr["imageFile"] = base64.b64encode(rec.image).decode()
        pr["imageFileLen"] = len(rec.image)
    if rec.fragment is not None:
        pr["imageFragmentFile"] = base64.b64encode(rec.fragment).decode()
        pr["imageFragmentFileLen"] = len(rec.fragment)
    left, top, right, bottom = rec.rect
    pr["license"] = rec.license
    pr["location"] = {"RECT": {"bottom": bottom, "left": left, "right": right, "top": top}}
    pr["timeStamp"] = {"Timeval": {"decday": local.tm_mday, "dechour": local.tm_hour, "decmin": local.tm_min,
                                   "decmon": local.tm_mon, "decsec": local.tm_sec, "decyear": local.tm_year,
                                   "sec": int(rec.sec), "usec": int((rec.sec % 1) * 1_000_000)}}
    pr.update({"timeUsed": 35, "triggerType": rec.trigger_type, "type": 1, "plateid": rec.plateid,
               "isoffline": int(rec.offline), "gioouts": [{"ionum": 0, "ctrltype": 0}]})
    drop: tuple[str, ...] = ()
    if detail in ("more", "shorter", "briefly"):
        drop += ("location", "timeUsed")
    if detail in ("shorter", "briefly"):
        drop += ("colorValue", "confidence", "bright", "carBright", "carColor")
    if detail == "briefly":
        drop += ("timeStamp",)
    for key in drop:
        pr.pop(key, None)
    return {"AlarmInfoPlate": {"channel": channel, "deviceName": name, "ipaddr": ip,
                               "result": {"PlateResult": pr}, "serialno": serial}}


def multipart_form(fields_: dict[str, str], boundary: str | None = None) -> tuple[bytes, str]:
    """The registration form as the camera posts it (multipart/form-data, text fields only)."""
    boundary = boundary or "---" + secrets.token_hex(8)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields_.items()]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _jpeg(width: int = 320, height: int = 180) -> bytes:
    import cv2
    import numpy as np

    frame = np.full((height, width, 3), 90, np.uint8)
    cv2.putText(frame, time.strftime("%H:%M:%S"), (10, height // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                (255, 255, 255), 2)
    return cv2.imencode(".jpg", frame)[1].tobytes()


class Camera:
    """A simulated all-in-one camera. Async; give it an `httpx.AsyncClient` (any transport)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, serial: str | None = None, *, name: str = "IVS",
                 ip: str = "192.168.1.100", detail: str = "all", extension: bool = False,
                 image: bytes | None = None, plate_image: bytes | None = None, paths: Paths | None = None,
                 channel_num: int = 1, content_type: str = "application/json", retry_delay: float = 1.0,
                 max_failures: int = 5, rng: random.Random | None = None) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.serial = serial or f"{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        self.name, self.ip, self.detail, self.extension = name, ip, detail, extension
        self.image, self.plate_image = image, plate_image
        self.paths = paths or Paths()
        self.channel_num = channel_num
        self.content_type = content_type
        self.retry_delay, self.max_failures = retry_delay, max_failures
        self.rng = rng or random.Random()
        self.next_plateid = 1
        # what the camera keeps and did
        self.whitelist: dict[str, dict[str, Any]] = {}
        self.offline: deque[Record] = deque()
        self.live: asyncio.Queue[Record | None] = asyncio.Queue()
        self.gate_openings: list[int] = []  # channelNum of each "info": "ok"
        self.serial_out: list[tuple[int, bytes | str]] = []  # serialData received (bytes; raw text if not base64)
        self.triggers = 0
        self.snapshots: list[str] = []  # URLs screenshots were uploaded to
        self.sent: list[tuple[float, int, bool]] = []  # (wall time, plateid, offline) of every plate push
        self.offline_done = 0  # offline records the server took (ContinuePushOffline continue=1)
        self.interrupted = 0  # offline pushes terminated by a live read (then sent again)
        self.backlog_stopped: str | None = None  # why the backlog stopped early
        self.errors: list[str] = []
        self.polls = 0
        self.lose_replies = 0  # replies to drop unread (the network failing right after the server answered)
        self.outage = 0.0  # seconds the network then stays down (no request leaves the camera)
        self.lost = 0
        self.password = "admin"  # the registration's pass_wd (a device's shared secret on the server)
        self._uploads: list[dict[str, Any]] = []
        self._closed = False

    # ------------------------------------------------------------------ records

    def record(self, license: str | None = None, *, offline: bool = False, sec: float | None = None,
               trigger_type: int = 1, image: bytes | None = None, fragment: bytes | None = None) -> Record:
        rec = Record(self.next_plateid, random_plate(self.rng) if license is None else license,
                     time.time() if sec is None else sec, offline=offline, trigger_type=trigger_type,
                     image=image if image is not None else self.image,
                     fragment=fragment if fragment is not None else self.plate_image)
        self.next_plateid += 1
        return rec

    def add_backlog(self, n: int, *, images: bool = False, span: float = 3600.0) -> None:
        """`n` offline records from the last `span` seconds, oldest first (no images unless asked)."""
        start = time.time() - span
        for i in range(n):
            rec = self.record(offline=True, sec=start + span * i / max(n, 1))
            if not images:
                rec.image = rec.fragment = None
            self.offline.append(rec)

    def message(self, rec: Record) -> dict[str, Any]:
        return plate_message(rec, serial=self.serial, name=self.name, ip=self.ip, detail=self.detail,
                             extension=self.extension)

    # ------------------------------------------------------------------ HTTP

    def _sending(self, rec: Record) -> None:
        rec.attempts += 1
        self.sent.append((time.time(), rec.plateid, rec.offline))

    async def _post_plate(self, rec: Record) -> dict[str, Any]:
        body = json.dumps(self.message(rec), ensure_ascii=False).encode()
        r = await self.client.post(self.base_url + self.paths.plate, content=body,
                                   headers={"content-type": self.content_type})
        if r.status_code != 200:
            raise httpx.HTTPStatusError(f"HTTP {r.status_code}", request=r.request, response=r)
        return r.json()

    async def push(self, rec: Record) -> dict[str, Any]:
        """Push one record, obey the reply, return it (raises on HTTP failure)."""
        self._sending(rec)
        reply = await self._post_plate(rec)
        return await self._receive(reply)

    def registration(self) -> dict[str, str]:
        return {"device_name": self.name, "ipaddr": self.ip, "port": "80", "user_name": "admin",
                "pass_wd": self.password, "serialno": self.serial, "channel_num": str(self.channel_num)}

    async def register(self, timeout: float | None = None) -> dict[str, Any]:
        """One heartbeat / comet poll; obeys the reply."""
        body, ctype = multipart_form(self.registration())
        kwargs: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        r = await self.client.post(self.base_url + self.paths.register, content=body,
                                   headers={"content-type": ctype}, **kwargs)
        self.polls += 1
        reply = r.json()
        return await self._receive(reply)

    async def comet(self, stop: asyncio.Event, timeout: float = 60.0) -> None:
        """Comet polling: post, obey the reply, post again at once, until `stop`."""
        while not stop.is_set():
            try:
                await self.register(timeout)
            except (httpx.HTTPError, ValueError) as e:
                self.errors.append(f"comet poll: {e!r}")
                await asyncio.sleep(1.0)  # the camera retries about every second

    async def heartbeat(self, stop: asyncio.Event, interval: float = 5.0) -> None:
        while not stop.is_set():
            try:
                await self.register()
            except (httpx.HTTPError, ValueError) as e:
                self.errors.append(f"heartbeat: {e!r}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def io_in(self, source: int = 0, value: int = 1) -> dict[str, Any]:
        msg = {"AlarmIoIn": {"deviceName": self.name, "ipaddr": self.ip,
                             "result": {"TriggerResult": {"source": source, "value": value}}, "serialNo": self.serial}}
        r = await self.client.post(self.base_url + self.paths.io, json=msg)
        return r.json()

    async def serial_data(self, data: bytes, serial_channel: int = 0) -> dict[str, Any]:
        msg = {"SerialData": {"channel": 0, "serialNo": self.serial, "ipaddr": self.ip, "deviceName": self.name,
                              "serialChannel": serial_channel, "data": base64.b64encode(data).decode(),
                              "dataLen": len(data)}}
        r = await self.client.post(self.base_url + self.paths.serial, json=msg)
        return r.json()

    # ------------------------------------------------------------------ replies

    async def _receive(self, reply: Any) -> Any:
        """Obey a reply — unless the network loses it (`lose_replies`), then stay away `outage` s."""
        if self.lose_replies > 0:
            self.lose_replies -= 1
            self.lost += 1
            await asyncio.sleep(self.outage)
            return reply
        self.handle_reply(reply)
        await self.flush()
        return reply

    def handle_reply(self, reply: Any) -> None:
        """Do what the server's reply says (spec 7)."""
        if not isinstance(reply, dict):
            self.errors.append(f"reply is not a JSON object: {reply!r:.80}")
            return
        if reply.get("type") == "AVS_TRIGGER":
            self._trigger()
        r = reply.get("Response_AlarmInfoPlate")
        if not isinstance(r, dict):
            return
        if r.get("info") == "ok":
            self.gate_openings.append(int(r.get("channelNum") or 0))
        for item in r.get("serialData") or []:
            if isinstance(item, dict):
                text = str(item.get("data", ""))
                try:
                    data: bytes | str = base64.b64decode(text, validate=True)
                except ValueError:
                    data = text
                self.serial_out.append((int(item.get("serialChannel") or 0), data))
        if r.get("manualTrigger") == "ok":
            self._trigger()
        if isinstance(r.get("TriggerImage"), dict):
            self._uploads.append(r["TriggerImage"])
        if isinstance(r.get("white_list_operate"), dict):
            self._whitelist(r["white_list_operate"])

    def _trigger(self) -> None:
        self.triggers += 1
        self.live.put_nowait(self.record(trigger_type=4))

    def _whitelist(self, op: dict[str, Any]) -> None:
        data = [d for d in op.get("white_list_data") or [] if isinstance(d, dict)]
        if len(data) > 5:
            self.errors.append(f"white_list_operate with {len(data)} entries (the camera takes 5)")
            data = data[:5]
        kind = op.get("operate_type")
        for entry in data:
            plate = str(entry.get("plate", ""))
            if kind == 0 and plate:
                self.whitelist[plate] = {k: entry[k] for k in ("enable", "need_alarm", "enable_time", "overdue_time")
                                         if k in entry}
            elif kind == 1 and plate == "":
                self.whitelist.clear()
            elif kind == 1:
                self.whitelist.pop(plate, None)
            else:
                self.errors.append(f"white_list_operate: operate_type {kind!r} for {plate!r}")

    async def flush(self) -> None:
        """Upload the screenshots the server asked for (TriggerImage replies)."""
        while self._uploads:
            target = self._uploads.pop(0)
            url = target.get("snapImageAbsolutelyUrl")
            if not url:
                parts = urlsplit(self.base_url)
                port = target.get("port") or parts.port or 80
                url = f"{parts.scheme}://{parts.hostname}:{port}" + str(target.get("snapImageRelativeUrl") or "/")
            image = self.image or _jpeg()
            msg = {"ipaddr": self.ip, "TriggerImage": {"imageFile": base64.b64encode(image).decode(),
                                                       "imageFileLen": len(image)}}
            try:
                r = await self.client.post(urljoin(self.base_url + "/", url), json=msg)
                r.raise_for_status()
                self.snapshots.append(url)
            except httpx.HTTPError as e:
                self.errors.append(f"screenshot upload to {url}: {e!r}")

    # ------------------------------------------------------------------ live reads and the offline backlog

    def close(self) -> None:
        """No more live reads: `replay` returns once the backlog is done."""
        self.live.put_nowait(None)

    async def _send_live(self, rec: Record) -> None:
        try:
            await self.push(rec)
        except httpx.HTTPError as e:
            self.errors.append(f"live read {rec.plateid}: {e!r}; kept offline")
            rec.offline = True
            self.offline.append(rec)
            await asyncio.sleep(self.retry_delay)

    def _live_item(self, item: Record | None) -> Record | None:
        if item is None:
            self._closed = True
        return item

    async def replay(self) -> None:
        """Send live reads (`live` queue) as they occur and the offline backlog in between (spec 2.1),
        until `close()` was called and the backlog is done (or stopped by the server)."""
        failures = 0
        while True:
            while not self.live.empty():
                if (item := self._live_item(self.live.get_nowait())) is not None:
                    await self._send_live(item)
            if not self.offline or self.backlog_stopped:
                if self._closed:
                    return
                if (item := self._live_item(await self.live.get())) is not None:
                    await self._send_live(item)
                continue
            rec = self.offline[0]
            self._sending(rec)
            send = asyncio.create_task(self._post_plate(rec))
            nxt = asyncio.create_task(self.live.get())
            done, _ = await asyncio.wait({send, nxt}, return_when=asyncio.FIRST_COMPLETED)
            if nxt in done and (item := self._live_item(nxt.result())) is not None:
                # a new read: terminate this offline push, send the new read, then this record again
                send.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError, ValueError):
                    await send
                self.interrupted += 1
                await self._send_live(item)
                continue
            if not nxt.done():
                nxt.cancel()
            try:
                reply = await send
            except (httpx.HTTPError, ValueError) as e:
                failures += 1
                self.errors.append(f"offline record {rec.plateid}: {e!r}")
                if failures >= self.max_failures:
                    self.backlog_stopped = f"{failures} failures in a row"
                await asyncio.sleep(self.retry_delay)
                continue
            failures = 0
            self.handle_reply(reply)
            cont = (reply.get("Response_AlarmInfoPlate") or {}).get("ContinuePushOffline") or {}
            if cont.get("plateid") == rec.plateid and cont.get("continue") == 1:
                self.offline.popleft()
                self.offline_done += 1
            else:
                self.backlog_stopped = f"reply to offline record {rec.plateid} without continue=1: {cont or reply}"
            await self.flush()

    def summary(self) -> dict[str, Any]:
        return {"serial": self.serial, "plates_sent": len(self.sent), "offline_done": self.offline_done,
                "offline_left": len(self.offline), "interrupted": self.interrupted,
                "backlog_stopped": self.backlog_stopped, "gate_openings": self.gate_openings,
                "serial_data": [[c, d.decode("utf-8", "replace") if isinstance(d, bytes) else d]
                                for c, d in self.serial_out],
                "manual_triggers": self.triggers, "screenshots": self.snapshots, "polls": self.polls,
                "whitelist": self.whitelist, "errors": self.errors[-20:]}


# ---------------------------------------------------------------------------------------------- CLI


async def simulate(args: argparse.Namespace) -> dict[str, Any]:
    image = Path(args.image).read_bytes() if args.image else None
    plate_image = Path(args.plate_image).read_bytes() if args.plate_image else None
    paths = Paths(args.plate_path, args.register_path, args.io_path, args.serial_path)
    limits = httpx.Limits(max_connections=8)
    async with httpx.AsyncClient(timeout=args.timeout, limits=limits) as client:
        cam = Camera(client, args.to, args.serial, name=args.name, ip=args.ip, detail=args.detail,
                     extension=args.extension, image=image, plate_image=plate_image, paths=paths,
                     content_type=args.content_type, rng=random.Random(args.seed))
        cam.add_backlog(args.offline)
        stop = asyncio.Event()
        tasks = []
        if args.registration == "comet":
            tasks.append(asyncio.create_task(cam.comet(stop, timeout=args.timeout)))
        elif args.registration == "heartbeat":
            tasks.append(asyncio.create_task(cam.heartbeat(stop, args.heartbeat_interval)))
        replay = asyncio.create_task(cam.replay())
        started = time.monotonic()
        plates = list(args.plate or [])
        for i in range(args.reads):
            if i:
                await asyncio.sleep(args.interval)
            cam.live.put_nowait(cam.record(plates[i % len(plates)] if plates else None))
        if args.io:
            await cam.io_in(0, 1)
        if args.serial_data:
            await cam.serial_data(args.serial_data.encode())
        cam.close()
        await replay
        remaining = args.duration - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)
        stop.set()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await cam.flush()
        return cam.summary()


def run(args: argparse.Namespace) -> int:
    try:
        summary = asyncio.run(simulate(args))
    except KeyboardInterrupt:
        return 130
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 1 if summary["backlog_stopped"] or summary["offline_left"] else 0


def add_parser(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "allinone", help="an all-in-one ANPR camera: plates, heartbeat / comet poll, offline backlog",
        description="Simulate an all-in-one ANPR camera (HTTP push, spec 001): push plate results, register by "
        "comet poll or heartbeat, replay an offline backlog by the retransmission rules, obey the server's "
        "replies (gate, serial data, manual trigger, screenshot, whitelist). Prints a JSON summary, with the "
        "camera-side whitelist, at the end.")
    p.add_argument("--to", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--serial", help="camera serial number (default: random, as eff50e18-e3d3862b)")
    p.add_argument("--name", default="IVS", help="device name (default %(default)s)")
    p.add_argument("--ip", default="192.168.1.100", help="the camera's own address it reports")
    p.add_argument("--reads", type=int, default=3, help="live plate reads to push (default %(default)s)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between live reads (default %(default)g)")
    p.add_argument("--plate", action="append", help="plate text of the live reads (repeatable; default random "
                   "Chinese plates, e.g. 京A12345)")
    p.add_argument("--image", help="JPEG sent as the full image (base64 imageFile); without it only imagePath")
    p.add_argument("--plate-image", help="JPEG sent as the plate image (imageFragmentFile)")
    p.add_argument("--offline", type=int, default=0, metavar="N",
                   help="offline records waiting in the camera, replayed by the retransmission rules (max 9000 "
                   "on a real camera)")
    p.add_argument("--registration", choices=["comet", "heartbeat", "none"], default="comet",
                   help="device registration mode (default %(default)s)")
    p.add_argument("--heartbeat-interval", type=float, default=5.0, help="seconds between normal heartbeats")
    p.add_argument("--duration", type=float, default=0.0,
                   help="keep registering (and obeying replies) at least this many seconds")
    p.add_argument("--detail", choices=DETAILS, default="all", help="content detail level (default %(default)s)")
    p.add_argument("--extension", action="store_true", help="add the series cameras' extension fields")
    p.add_argument("--io", action="store_true", help="also push an AlarmIoIn (IO input 1 = 1)")
    p.add_argument("--serial-data", metavar="TEXT", help="also push this as SerialData from the 485 port")
    p.add_argument("--content-type", default="application/json",
                   help="Content-Type of the JSON pushes (some cameras send another)")
    p.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout in seconds (the camera page's)")
    p.add_argument("--seed", type=int, help="random seed for plate texts")
    for name in ("plate", "register", "io", "serial"):
        p.add_argument(f"--{name}-path", default=getattr(Paths(), name), help=argparse.SUPPRESS)
    p.set_defaults(func=run)

