"""Commands for cameras (open the gate, send serial data, trigger, screenshot, whitelist edits),
queued per device and delivered on the device's next plate reply or comet poll.

An `open_gate` queued by an operator (`enqueue(..., by=who)`; the gate's own opens pass no `by`) is an
opening by hand: `hand_opens` observers (parking: the vehicle enters) hear of it when it is queued. Its
payload may name the `read` it opens for.

A queued command is published (`command.queued`, the device code) to every process on the bus: the one
holding the device's comet poll wakes it, whichever process queued the command."""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable, Iterable
from typing import Any

from platehub.core.bus import COMMAND_QUEUED, Bus
from platehub.core.errors import DomainError
from platehub.core.store.devices import COMMAND_KINDS, Command, CommandRepo
from platehub.core.tasks import cancel

log = logging.getLogger("platehub.commands")


class CommandError(DomainError):
    pass


def _int(payload: dict[str, Any], key: str, default: int) -> int:
    value = payload.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CommandError(f"`{key}` must be a whole number, not {value!r}") from None


def validate(kind: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    """The command's payload, checked and completed with defaults."""
    p = dict(payload or {})
    if kind not in COMMAND_KINDS:
        raise CommandError(f"unknown command {kind!r}; one of {', '.join(COMMAND_KINDS)}")
    if kind == "open_gate":
        out: dict[str, Any] = {"channel": _int(p, "channel", 0)}
        if p.get("read"):  # the read it opens for (a read id)
            out["read"] = str(p["read"])[:64]
        return out
    if kind == "serial_data":
        channel = _int(p, "channel", 0)
        if "text" in p:
            data = str(p["text"]).encode()
        else:
            try:
                data = base64.b64decode(str(p.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                raise CommandError("serial_data needs `data` (base64) or `text`") from None
        if not data:
            raise CommandError("serial_data needs `data` (base64) or `text`")
        return {"channel": channel, "data": base64.b64encode(data).decode(), "length": len(data)}
    if kind in ("whitelist_add", "whitelist_delete"):
        plate = str(p.get("plate", "")).strip()
        if not plate:
            raise CommandError(f"{kind} needs a `plate`")
        if kind == "whitelist_delete":
            return {"plate": plate}
        out = {"plate": plate, "enable": _int(p, "enable", 1), "need_alarm": _int(p, "need_alarm", 0)}
        for key in ("enable_time", "overdue_time"):  # "YYYY-MM-DD HH:MM:SS", the camera's format
            if p.get(key):
                out[key] = str(p[key])
        return out
    return {}


class CommandQueue:
    def __init__(self, repo: CommandRepo, bus: Bus,
                 hand_opens: Iterable[Callable[[str, str | None, str | None], Any]] = ()) -> None:
        self.repo = repo
        self.bus = bus
        self._events: dict[str, asyncio.Event] = {}
        self._task: asyncio.Task | None = None
        # called (gate device, read id or None, who) after an operator queues an open_gate
        self.hand_opens = tuple(hand_opens)

    def start(self) -> None:
        """Wake the comet polls held here when any process queues a command (on the event loop)."""
        self._queued = self.bus.subscribe(COMMAND_QUEUED, everywhere=True)
        self._task = asyncio.create_task(self._waking(), name="command-wakeups")

    async def stop(self) -> None:
        await cancel(self._task)
        if self._task is not None:
            self._queued.close()

    async def _waking(self) -> None:
        async for event in self._queued:
            held = self._events.get(event.payload)
            if held is not None:
                held.set()

    def enqueue(self, device: str, kind: str, payload: dict[str, Any] | None = None, by: str | None = None,
                ) -> Command:
        """Queue a command (blocking; any thread) and wake a comet poll held for the device. `by`: the
        operator who asked for it (None: platehub itself)."""
        command = self.repo.enqueue(device, kind, validate(kind, payload))
        log.info("command %s %s queued for %s%s", command.id, kind, device, f" by {by}" if by else "")
        self.bus.publish(COMMAND_QUEUED, device)
        if kind == "open_gate" and by is not None:
            for observer in self.hand_opens:
                try:
                    observer(device, command.payload.get("read"), by)
                except Exception:  # the command is queued whatever an observer does
                    log.exception("command %s queued, but %s failed on it", command.id, observer)
        return command

    def pending(self, device: str) -> list[Command]:
        return self.repo.pending(device)

    def delivered(self, commands: list[Command], via: str, to: str | None = None) -> list[Command]:
        """Mark commands delivered by a reply (`via`: reply | comet) that went to the address `to`; the
        command's status shows it. Returns those it marked: not one cancelled meanwhile, nor one another
        process's reply took at the same moment (the reply must then not carry it)."""
        taken = self.repo.mark_delivered([c.id for c in commands], via, to)
        out = [c for c in commands if c.id in taken]
        for c in out:
            log.info("command %s %s delivered to %s at %s by %s", c.id, c.kind, c.device, to or "?", via)
        return out

    async def wait(self, device: str, timeout: float) -> None:
        """Return when a command is queued for `device` by any process (or was since the last wait
        returned), or after `timeout`. Callers re-check `pending()` after it returns."""
        event = self._events.setdefault(device, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            event.clear()
