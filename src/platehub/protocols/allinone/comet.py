"""Device registration posts: normal heartbeats and comet polls (spec 6.1, 6.2, FAQ).

The camera does not say which of the two it is doing: both post the same form to the same path. The
two cannot be treated alike:

- holding every post (answer when a command is queued or after PLATEHUB_COMET_HOLD) would make a
  normal-heartbeat camera wait for its heartbeat reply past its own HTTP timeout (5 s on the camera's
  page) and count the server as lost; and the camera acts only on plate replies and comet replies
  (spec 7), so a command put into a heartbeat reply would be marked delivered and never executed;
- answering every post at once would make N comet cameras busy-loop the server (the spec's FAQ:
  "receive a reply, immediately send the next message", no timer in between).

So platehub tells them apart by timing. A comet camera posts again right after each reply; a normal
heartbeat comes every 5 s (offline check on) or 30 s. A post that arrives less than `COMET_GAP`
seconds after platehub answered the same camera, or while an earlier post of it is still held, is a
comet poll: it is held (a cheap await, no thread, no timer loop) until a command is queued or the hold
ends, and carries the pending commands. Any other post is a heartbeat: answered at once with an empty
reply, commands left queued (for the next plate reply, or the comet poll that follows). A comet camera
therefore costs one extra round trip after it (or platehub) starts.

A poll the device registry refuses (the device is pinned to another address, or the poll lacks its
secret: core.devices) is answered at once and empty: it takes no command, changes nothing, and does not
count as the camera's poll (it supersedes no held poll of the real camera).

Commands are taken only by a poll whose camera is still listening: a held poll whose connection
closed (the camera timed out; keep PLATEHUB_COMET_HOLD below the camera's timeout) or that a newer
poll of the same camera superseded answers empty, and the commands wait for the live poll.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from platehub.core.commands import CommandQueue
from platehub.protocols.allinone.codec import Registration
from platehub.protocols.allinone.service import Door, Origin

log = logging.getLogger("platehub.allinone")
COMET_GAP = 2.0  # seconds between our reply and the camera's next post, below which it is a comet poll
EMPTY: dict = {"Response_AlarmInfoPlate": {}}


async def _disconnected(receive: Callable[[], Awaitable[dict]]) -> bool:
    """True when the client hangs up (the body is already read, so the next ASGI message is the
    disconnect); False for anything else, and the watch stops."""
    try:
        message = await receive()
    except Exception:
        return False
    return message.get("type") == "http.disconnect"


class CometPolls:
    def __init__(self, door: Door, commands: CommandQueue, hold: float) -> None:
        self.door = door
        self.commands = commands
        self.hold = hold
        self._last_reply: dict[str, float] = {}
        self._active: dict[str, int] = {}
        self._generation: dict[str, int] = {}

    def mode(self, device: str) -> str:
        """"comet" or "heartbeat", by timing (see the module's docstring)."""
        if self._active.get(device):
            return "comet"
        last = self._last_reply.get(device)
        return "comet" if last is not None and time.monotonic() - last < COMET_GAP else "heartbeat"

    @property
    def held(self) -> int:
        return sum(self._active.values())

    async def poll(self, reg: Registration, origin: Origin, receive: Callable[[], Awaitable[dict]]) -> dict:
        device = reg.serialno
        mode = self.mode(device)
        arrival = await run_in_threadpool(self.door.register, reg, origin, mode)
        if arrival.refused is not None:
            return EMPTY
        self._active[device] = self._active.get(device, 0) + 1
        generation = self._generation[device] = self._generation.get(device, 0) + 1
        waiter = gone = None
        try:
            if mode != "comet":
                return EMPTY
            # listen for the queue's wake-up before looking at it, so no command slips in between
            waiter = asyncio.create_task(self.commands.wait(device, self.hold))
            await asyncio.sleep(0)
            reply = await run_in_threadpool(self.door.take, device, origin, "comet")
            if reply.acts or self.hold <= 0:
                return reply.body
            gone = asyncio.create_task(_disconnected(receive))
            await asyncio.wait({waiter, gone}, return_when=asyncio.FIRST_COMPLETED)
            if gone.done() and gone.result():
                log.debug("comet poll of %s: the camera hung up", device)
                return EMPTY
            await waiter
            if self._generation.get(device) != generation:
                return EMPTY  # a newer poll of this camera is the one it listens to
            return (await run_in_threadpool(self.door.take, device, origin, "comet")).body
        finally:
            for task in (waiter, gone):
                if task is not None and not task.done():
                    task.cancel()
            self._active[device] -= 1
            if not self._active[device]:
                del self._active[device]
            self._last_reply[device] = time.monotonic()
