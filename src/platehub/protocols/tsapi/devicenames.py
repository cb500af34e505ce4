"""Device code → device for the TS-API event socket's messages (`deviceName`, `parkingLot`), looked up
once a minute at most (one per app, shared by every socket)."""

from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool

from platehub.core.store.devices import Device, DeviceRepo

log = logging.getLogger("platehub.tsapi")


class DeviceNames:
    TTL = 60.0

    def __init__(self, devices: DeviceRepo) -> None:
        self._devices = devices
        self._names: dict[str, tuple[Device | None, float]] = {}

    async def device(self, code: str | None) -> Device | None:
        if not code:
            return None
        now = time.monotonic()
        hit = self._names.get(code)
        if hit and now - hit[1] < self.TTL:
            return hit[0]
        try:
            device = await run_in_threadpool(self._devices.get, code)
        except Exception:  # a name is a nicety; the event still goes out
            log.exception("device lookup for %r failed", code)
            device = None
        if len(self._names) > 10_000:
            self._names.clear()
        self._names[code] = (device, now)
        return device

    async def get(self, code: str | None) -> str | None:
        device = await self.device(code)
        return device.name if device else None
