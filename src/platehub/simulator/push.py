"""`platehub simulate push`: TS-API `POST /api/push` traffic as spec 004 writes it ("Pushing events
to the server"): LPR events, optionally an emergency call, one request per event or one array."""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx


def now_iso() -> str:
    """The guide's time format: local time with its offset, whole seconds (2018-02-01T14:30:15-05:00)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def lpr_event(src: str, plate: str, when: str | None, time_begin: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"topic": "LPR", "src": src, "plateNo": plate}
    if when:
        event["when"] = when
    if time_begin:
        event["timeBegin"] = time_begin
    return event


def emergency_event(call: str, src: str = "0000001", when: str | None = None) -> dict[str, Any]:
    """The guide's emergency call example, with `call` = callStart or callEnd."""
    return {"topic": "emergencyCall", "device": "vendor/device", "src": src, "event": call,
            "camera": "1,2,3,4" if call == "callStart" else "", "when": when or now_iso()}


def auth_param(user: str, password: str) -> str:
    """`auth=` as the guide builds it: base64 of "user:password", URL-encoded."""
    return quote(base64.b64encode(f"{user}:{password}".encode()).decode(), safe="")


def events(args: argparse.Namespace) -> list[dict[str, Any]]:
    plates = [p.strip() for p in args.plates.split(",") if p.strip()]
    out: list[dict[str, Any]] = []
    if args.emergency:
        out.append(emergency_event("callStart", args.emergency_src))
    for plate in plates:
        when = None if args.no_when else now_iso()
        out.append(lpr_event(args.src, plate, when))
    if args.emergency:
        out.append(emergency_event("callEnd", args.emergency_src))
    return out


def run(args: argparse.Namespace) -> int:
    url = args.to.rstrip("/") + "/api/push"
    auth = None
    if args.user is not None:
        if args.auth_param:
            url += "?auth=" + auth_param(args.user, args.password or "")
        else:
            auth = httpx.BasicAuth(args.user, args.password or "")
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    batch = events(args)
    bodies = [batch] if args.batch else batch
    failed = 0
    with httpx.Client(timeout=args.timeout, auth=auth) as client:
        for i, body in enumerate(bodies):
            if i and args.interval:
                time.sleep(args.interval)
            data = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
            what = (f"{len(body)} events" if isinstance(body, list)
                    else f"{body['topic']} {body.get('plateNo') or body.get('event')}")
            try:
                r = client.post(url, content=data, headers=headers)
            except httpx.HTTPError as e:
                print(f"push {what}: {e}", file=sys.stderr)
                return 1
            ok = r.status_code == 200
            failed += not ok
            print(f"push {what}: {r.status_code}{'' if ok else ' ' + r.text}", file=sys.stdout if ok else sys.stderr)
    return 1 if failed else 0


def add_parser(kinds: argparse._SubParsersAction) -> None:
    p = kinds.add_parser("push", help="TS-API /api/push events (LPR, emergencyCall)",
                         description="Send TS-API push events (spec 004) to a server: one LPR event per plate, "
                         "each in its own request or all in one array.")
    p.add_argument("--to", required=True, help="server base URL, e.g. http://127.0.0.1:8080")
    p.add_argument("--user", help="sign in as this user, who needs the Control right (HTTP Basic unless --auth-param)")
    p.add_argument("--password", help="the user's password")
    p.add_argument("--auth-param", action="store_true", help="sign in with ?auth=base64(user:password) instead")
    p.add_argument("--src", default="F00001", help="LPR device code (default %(default)s, the guide's)")
    p.add_argument("--plates", default="DSP963", help="comma-separated plate numbers (default %(default)s)")
    p.add_argument("--batch", action="store_true", help="send all events in one JSON array")
    p.add_argument("--emergency", action="store_true", help="also send an emergency call (callStart first, "
                   "callEnd last)")
    p.add_argument("--emergency-src", default="0000001", help="emergency call location code (default %(default)s)")
    p.add_argument("--no-when", action="store_true", help="leave out `when` (the server uses the receive time)")
    p.add_argument("--interval", type=float, default=0.0, help="seconds between requests")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    p.set_defaults(func=run)
