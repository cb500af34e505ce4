"""`platehub simulate ff`: an FF JSON camera (spec 000). Each vehicle pass is a run of events of one
carID (new, updated …, lost), each POSTed as the camera does it: multipart/form-data with the event
JSON as a FILE part named `<unix time>.json` (Content-Type application/json) and the frame snapshot
as the `image` part, framed byte for byte like the curl the FF firmware uses (see the spec's
header dump). The functions are reusable: tests call `send_event` / `send_pass` directly."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from platehub.engine.image import sniff
from platehub.protocols.ffjson.codec import format_datetime, swap_bytes

DEFAULT_PATH = "/ff_post.php"
_IMAGE_TYPES = {"jpeg": ("jpeg", "image/jpeg", "jpg"), "png": ("png", "image/png", "png"),
                "bmp": ("bmp", "image/bmp", "bmp")}


def synthetic_image(text: str, size: tuple[int, int] = (1280, 720)) -> tuple[bytes, tuple[int, int, int, int]]:
    """A rendered (not photographed) frame with a white plate reading `text`: JPEG bytes and the
    plate's [x, y, w, h] box."""
    import cv2
    import numpy as np

    width, height = size
    img = np.full((height, width, 3), (96, 104, 100), np.uint8)
    cv2.rectangle(img, (0, int(height * 0.62)), (width, height), (70, 72, 74), -1)  # road
    car = (int(width * 0.25), int(height * 0.25), int(width * 0.75), int(height * 0.9))
    cv2.rectangle(img, car[:2], car[2:], (40, 42, 120), -1)
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 1.6, 4
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    pw, ph = tw + 40, th + 36
    x, y = (width - pw) // 2, int(height * 0.72)
    cv2.rectangle(img, (x, y), (x + pw, y + ph), (245, 245, 245), -1)
    cv2.rectangle(img, (x, y), (x + pw, y + ph), (20, 20, 20), 3)
    cv2.putText(img, text, (x + 20, y + ph - 18), font, scale, (15, 15, 15), thick, cv2.LINE_AA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise RuntimeError("could not encode the synthetic image")
    return buf.tobytes(), (x, y, pw, ph)


def event_states(count: int) -> list[str]:
    """The carState of each event of a pass: new, updated …, lost; one event is the camera's
    "send lost recognize event only" mode."""
    if count <= 1:
        return ["lost"]
    return ["new", *["updated"] * (count - 2), "lost"]


def make_event(plate: str, car_id: int | str, state: str, counter: int, when: datetime, *, sensor: str,
               name: str | None = None, country: str | None = "UKR", confidence: float = 0.9,
               direction: str = "in", box: tuple[int, int, int, int] | None = None,
               image: bytes | None = None) -> dict[str, Any]:
    """An event as the camera sends it: the field order of the header dump, numbers as strings."""
    event: dict[str, Any] = {
        "packetCounter": str(counter),
        "datetime": format_datetime(when),
        "plateText": plate,
        "plateCountry": country,
        "plateConfidence": f"{confidence:.6f}",
        "carState": state,
    }
    if image:
        event.update(imageType="frame", plateImageType=_IMAGE_TYPES.get(sniff(image) or "", ("jpeg",))[0],
                     plateImageSize=str(len(image)))
    event.update(carMoveDirection=direction, timeProcessing="20", plateCoordinates=list(box or (0, 0, 0, 0)),
                 carID=str(car_id), GEOtarget=name, sensorProviderID=sensor)
    return {k: v for k, v in event.items() if v is not None}


def encode_event(event: dict[str, Any], byte_swapped: bool = False) -> bytes:
    """The event JSON: compact, non-ASCII as \\u escapes; `byte_swapped` writes the plate text the
    way the spec's header dump does ("\\u4100\\u4100…" for "AA…")."""
    if byte_swapped and "plateText" in event:
        event = {**event, "plateText": swap_bytes(event["plateText"])}
    return json.dumps(event, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def multipart_body(event_json: bytes, event_filename: str, image: bytes | None = None,
                   image_filename: str = "etalon_hd.jpg", boundary: str | None = None) -> tuple[bytes, str]:
    """The request body and Content-Type, framed as curl frames `-F event=@x.json -F image=@y.jpg`."""
    boundary = boundary or "-" * 24 + secrets.token_hex(8)
    parts = [("event", event_filename, "application/json", event_json)]
    if image is not None:
        parts.append(("image", image_filename, _IMAGE_TYPES.get(sniff(image) or "", (None, "image/jpeg"))[1], image))
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
        for name, filename, ctype, data in parts
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send_event(client: httpx.Client, url: str, event: dict[str, Any], image: bytes | None = None,
               byte_swapped: bool = False) -> httpx.Response:
    """POST one event (and its image) to the full receiver URL, as the camera does."""
    unix = int(time.time())
    ext = _IMAGE_TYPES.get(sniff(image) or "", (None, None, "jpg"))[2] if image else "jpg"
    body, ctype = multipart_body(encode_event(event, byte_swapped), f"{unix}.json", image, f"etalon_hd.{ext}")
    return client.post(url, content=body, headers={"Content-Type": ctype, "Accept": "*/*"})


def send_pass(client: httpx.Client, url: str, plate: str, car_id: int | str, *, sensor: str,
              image: bytes | None = None, box: tuple[int, int, int, int] | None = None, events: int = 3,
              first_counter: int = 1, interval: float = 0.0, byte_swapped: bool = False,
              name: str | None = None, country: str | None = "UKR", direction: str = "in",
              report: Callable[[dict[str, Any], httpx.Response], None] | None = None) -> list[httpx.Response]:
    """One vehicle pass: `events` events of one carID, the confidence rising from 0.70 to 0.95."""
    states = event_states(events)
    responses = []
    for i, state in enumerate(states):
        if i and interval:
            time.sleep(interval)
        confidence = 0.70 + 0.25 * i / (len(states) - 1) if len(states) > 1 else 0.9
        event = make_event(plate, car_id, state, first_counter + i, datetime.now(UTC), sensor=sensor, name=name,
                           country=country, confidence=confidence, direction=direction, box=box, image=image)
        response = send_event(client, url, event, image, byte_swapped)
        responses.append(response)
        if report:
            report(event, response)
    return responses


def receiver_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def run(args: argparse.Namespace) -> int:
    plates = [p.strip() for p in args.plates.split(",") if p.strip()]
    if not plates:
        print("platehub simulate ff: --plates names no plate", file=sys.stderr)
        return 2
    if args.events_per_pass < 1:
        print("platehub simulate ff: --events-per-pass must be at least 1", file=sys.stderr)
        return 2
    photos: list[bytes] = []
    for path in args.image or []:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            print(f"platehub simulate ff: {path}: {e.strerror or e}", file=sys.stderr)
            return 2
        if sniff(data) not in _IMAGE_TYPES:
            print(f"platehub simulate ff: {path}: not a JPEG, PNG or BMP image", file=sys.stderr)
            return 2
        photos.append(data)
    url = receiver_url(args.to, args.path)
    first_car = args.car_id if args.car_id is not None else int(time.time() * 1000) % 10**9
    print(f"FF camera {args.sensor!r} -> {url}: {len(plates)} pass(es), {len(event_states(args.events_per_pass))} "
          f"event(s) each, {'photos: ' + ', '.join(args.image) if photos else 'synthetic plate images'}"
          f"{', byte-swapped plate text' if args.byte_swapped else ''}", flush=True)
    sent = failed = 0

    def report(event: dict[str, Any], response: httpx.Response) -> None:
        nonlocal sent, failed
        sent += 1
        ok = response.is_success
        failed += not ok
        try:
            detail = response.json()
        except ValueError:
            detail = response.text[:200]
        if ok and isinstance(detail, dict):
            detail = f"read {detail.get('read')} {detail.get('stored', '')}".rstrip()
        print(f"  {event['plateText']} carID {event['carID']} {event['carState']:<7} -> HTTP {response.status_code} "
              f"{detail}", flush=True)

    counter = 1
    try:
        with httpx.Client(timeout=args.timeout) as client:
            for n, plate in enumerate(plates):
                if n and args.interval:
                    time.sleep(args.interval)
                if photos:
                    image, box = photos[n % len(photos)], None
                else:
                    image, box = synthetic_image(plate)
                send_pass(client, url, plate, first_car + n, sensor=args.sensor, image=image, box=box,
                          events=args.events_per_pass, first_counter=counter, interval=args.interval,
                          byte_swapped=args.byte_swapped, name=args.name, country=args.country or None,
                          direction=args.direction, report=report)
                counter += len(event_states(args.events_per_pass))
    except httpx.HTTPError as e:
        print(f"platehub simulate ff: {url}: {e}", file=sys.stderr)
        return 1
    print(f"sent {sent} event(s) for {len(plates)} pass(es): "
          f"{'all accepted' if not failed else f'{failed} refused'}", flush=True)
    return 0 if not failed else 1


def add_parser(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser(
        "ff", help="FF JSON camera events (multipart event + image, one carID per vehicle pass)",
        description="Act as an FF Group / NumberOk ANPR camera: POST each vehicle pass as events of one carID "
        "(new, updated …, lost), each a multipart/form-data request with the event JSON as the file part "
        "`event` (<unix>.json, application/json) and the frame snapshot as the `image` part.")
    p.add_argument("--to", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--path", default=DEFAULT_PATH, help="the receiver path (the camera's Cloud URL; "
                   "default %(default)s)")
    p.add_argument("--sensor", default="platehub-sim", help="sensorProviderID (default %(default)s)")
    p.add_argument("--name", default="platehub simulator", help="GEOtarget, the channel description")
    p.add_argument("--plates", default="AA4295OK", help="comma-separated plates, one vehicle pass each "
                   "(default %(default)s)")
    p.add_argument("--country", default="UKR", help="plateCountry, ISO 3166 alpha-3 (default %(default)s)")
    p.add_argument("--image", action="append", metavar="FILE",
                   help="a real photo to send as the frame snapshot (repeatable: the passes use them in turn); "
                   "without --image a synthetic plate image is rendered with OpenCV for each plate")
    p.add_argument("--events-per-pass", type=int, default=3, metavar="N",
                   help="events per pass: new, N-2 x updated, lost (default %(default)s; 1 = the camera's 'lost only' "
                   "mode)")
    p.add_argument("--byte-swapped", action="store_true",
                   help="send plateText byte-swapped, as in the spec's header dump (\\u4100\\u4100… for AA…)")
    p.add_argument("--direction", default="in", choices=("in", "out", "unknown"), help="carMoveDirection")
    p.add_argument("--car-id", type=int, help="carID of the first pass (default: derived from the clock)")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between events (default %(default)g)")
    p.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout in seconds")
    p.set_defaults(func=run)
