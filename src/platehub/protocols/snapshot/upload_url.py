"""Fetching `upload_url` images — only from hosts the operator allowed.

Off by default (no allowed hosts): otherwise any client could make the server fetch addresses
on its own network (SSRF). Redirects are not followed; the body is capped at the upload limit;
the whole fetch (connect, headers, body) has a deadline (PLATEHUB_UPLOAD_URL_DEADLINE): a server
trickling a byte a second holds the request no longer than that.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httpx

from platehub.protocols.snapshot.request import BadRequest


class TooLarge(Exception):
    pass


def allowed(url: str, hosts: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    return any(host == h.lower() or (h.startswith(".") and host.endswith(h.lower())) for h in hosts)


async def fetch(url: str, hosts: tuple[str, ...], limit: int, deadline: float = 15.0) -> bytes:
    """The image at `url`; BadRequest when it is not allowed, fails, or takes over `deadline` seconds
    in all (each read, and the whole fetch)."""
    if not hosts:
        raise BadRequest("upload_url is disabled on this server (set PLATEHUB_UPLOAD_URL_HOSTS to allow hosts).")
    if not allowed(url, hosts):
        raise BadRequest("upload_url must be an http(s) URL on a host this server allows.")
    try:
        async with asyncio.timeout(deadline):
            return await _get(url, limit, deadline)
    except TimeoutError:
        raise BadRequest(f"upload_url took longer than {deadline:g} s to fetch.") from None
    except httpx.HTTPError as e:
        raise BadRequest(f"upload_url could not be fetched: {type(e).__name__}.") from None


async def _get(url: str, limit: int, timeout: float) -> bytes:
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        async with client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise BadRequest(f"upload_url answered HTTP {resp.status_code}.")
            data = bytearray()
            async for chunk in resp.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise TooLarge()
            return bytes(data)
