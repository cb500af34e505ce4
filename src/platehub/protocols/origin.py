"""Is a browser request from platehub's own pages? For requests the session cookie authenticates:
the cookie is sent whatever page starts the request, so a page of another site (or of another port
of the same host: "same-site" to a browser, SameSite cookies do not help) could act as the user.

A request is from platehub's own pages when its `Origin` is the server's own (`scheme://` + the
`Host` the browser used) or one of `PLATEHUB_ALLOWED_ORIGINS` (e.g. the public address of a reverse
proxy that rewrites `Host`). Clients that are not browsers send no `Origin`, `Sec-Fetch-Site` or
`Referer`, and are never refused here: those headers are set by browsers, not by page scripts."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

SAFE_FETCH_SITES = ("same-origin", "none")  # "none": typed in the address bar, a bookmark


def _origin_of(url: str) -> str | None:
    """`https://Host:8443/path` → `https://host:8443`; None when it is no http(s)/ws(s) URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https", "ws", "wss") or not parts.netloc:
        return None
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def own_origin(conn: HTTPConnection, origin: str | None, allowed: tuple[str, ...] = ()) -> bool:
    """Whether `origin` (an `Origin` or a `Referer` value) is this server's own or an allowed one.
    `null` (a sandboxed page, a file) and unparseable values are not."""
    seen = _origin_of(origin or "")
    if seen is None:
        return False
    if seen in {o.rstrip("/").lower() for o in allowed}:
        return True
    host = conn.headers.get("host", "").lower()
    return bool(host) and seen.split("://", 1)[1] == host


def cross_site(conn: HTTPConnection, allowed: tuple[str, ...] = ()) -> bool:
    """Whether a browser sent this request from a page that is not platehub's own: by
    `Sec-Fetch-Site` when the browser sends it, else by `Origin`, else by `Referer`. A request
    without any of the three (a script, a camera, curl) is not cross-site."""
    headers = conn.headers
    origin = headers.get("origin")
    if origin is not None and own_origin(conn, origin, allowed):
        return False  # an allowed origin may be cross-site to the browser and still welcome
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in SAFE_FETCH_SITES
    if origin is not None:
        return True
    referer = headers.get("referer")
    return referer is not None and not own_origin(conn, referer, allowed)
