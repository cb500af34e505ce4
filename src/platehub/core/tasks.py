"""The server's background tasks (event log consumer, retention job …): ending one cleanly."""

from __future__ import annotations

import asyncio


async def cancel(task: asyncio.Task | None) -> None:
    """Cancel `task` and wait until it has ended (whatever it raised on the way out)."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):
        pass
