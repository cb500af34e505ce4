"""The device registry: every sender becomes a known LPR source, online or offline."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from platehub.config import Settings
from platehub.core.bus import DEVICE_STATUS, Bus
from platehub.core.read import utcnow
from platehub.core.store.devices import Device, DeviceRepo

log = logging.getLogger("platehub.devices")


class DeviceRegistry:
    def __init__(self, settings: Settings, repo: DeviceRepo, bus: Bus) -> None:
        self.settings = settings
        self.repo = repo
        self.bus = bus
        self._task: asyncio.Task | None = None

    def seen(self, code: str, protocol: str, **fields) -> Device:
        """Record a message from `code` (thread-safe, blocking: call it off the event loop).

        `heartbeat=True` marks devices that send heartbeats: only they can be declared offline."""
        device, came_online = self.repo.seen(code, protocol, **fields)
        if came_online:
            log.info("device %s (%s) online from %s", code, protocol, device.address or "?")
            self.bus.publish(DEVICE_STATUS, device)
        return device

    def check_offline(self) -> list[Device]:
        silent_since = utcnow() - timedelta(seconds=self.settings.offline_after)
        gone = self.repo.mark_offline(silent_since)
        for device in gone:
            log.warning("device %s (%s) offline: no heartbeat since %s", device.code, device.protocol,
                        device.last_seen.isoformat())
            self.bus.publish(DEVICE_STATUS, device)
        return gone

    async def _monitor(self) -> None:
        period = max(0.5, min(10.0, self.settings.offline_after / 3))
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(period)
            try:
                await loop.run_in_executor(None, self.check_offline)
            except Exception:  # a database hiccup must not end the monitor
                log.exception("offline check failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self._monitor(), name="device-monitor")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
