"""The API token that platehub's own management endpoints require (`Authorization: Token <key>`,
created by `platehub token create NAME`), whatever the Snapshot API's token setting is."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool


async def require_api_token(request: Request) -> None:
    app = request.app.state.platehub
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "token" or await run_in_threadpool(app.store.tokens.verify, key.strip()) is None:
        raise HTTPException(403, "A valid API token is required.")
