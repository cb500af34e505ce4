"""The operators' web console: static files (HTML, one CSS file, small vanilla ES modules; no build
step, no CDN) served by platehub itself at `/` with its assets under `/console/`.

The pages sign in with platehub users (TS-API `/api/auth`, session cookie) and read everything through
the public APIs (`/api/find`, `/api/image`, `/wsapi/subscribeEvents`, `/v1/...`), same-origin.
`mount(app)` is called after every API router so it shadows none of them."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# the console's own security headers: its scripts and styles are its own files, images may be data:/blob:
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def _index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP,
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


def mount(app: FastAPI) -> None:
    app.add_api_route("/", _index, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/console", StaticFiles(directory=STATIC), name="console")
