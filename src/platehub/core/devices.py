"""The device registry: every sender becomes a known LPR source, online or offline."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from platehub.config import GATE_POLICIES, Settings
from platehub.core.bus import DEVICE_STATUS, Bus
from platehub.core.read import utcnow
from platehub.core.store.devices import Device, DeviceRepo

log = logging.getLogger("platehub.devices")

# operator settings of a device: name → what it holds (see parse_settings)
SETTINGS = ("gate_policy", "alert_unknown", "gate_device", "whitelist_sync", "lot_entrance", "lot_exit")
_TRUE, _FALSE, _DEFAULT = ("1", "true", "yes", "on"), ("0", "false", "no", "off"), ("", "default", "none", "null")


class SettingError(ValueError):
    pass


def _flag(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _DEFAULT:
        return None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SettingError(f"`{name}` must be true, false or default, not {value!r}")


def parse_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Device settings from an API body or CLI flags, checked; None (or "default") = the server's default /
    no lot / the device itself. Numbers may come as strings."""
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise SettingError(f"unknown setting(s) {', '.join(sorted(unknown))}; settable: {', '.join(SETTINGS)}")
    out: dict[str, Any] = {}
    for name, value in values.items():
        text = None if value is None else str(value).strip()
        if name == "gate_policy":
            if text is not None and text.lower() in _DEFAULT:
                text = None
            if text is not None and text not in GATE_POLICIES:
                raise SettingError(f"`gate_policy` must be one of {', '.join(GATE_POLICIES)} or default")
            out[name] = text
        elif name in ("alert_unknown", "whitelist_sync"):
            out[name] = _flag(name, value)
        elif name == "gate_device":
            out[name] = None if text is None or text.lower() in _DEFAULT else text[:128]
        else:  # lots
            if text is None or text.lower() in _DEFAULT:
                out[name] = None
            elif not text.isdigit() or int(text) < 1:
                raise SettingError(f"`{name}` must be a parking lot id, not {value!r}")
            else:
                out[name] = int(text)
    return out


class DeviceRegistry:
    def __init__(self, settings: Settings, repo: DeviceRepo, bus: Bus) -> None:
        self.settings = settings
        self.repo = repo
        self.bus = bus
        self._task: asyncio.Task | None = None
        # a device's messages write its `last_seen` at most this often (one write per second, not one per
        # read, on a busy lane), far below the silence that makes it offline
        self.seen_every = min(1.0, settings.offline_after / 20)

    def seen(self, code: str, protocol: str, **fields) -> Device:
        """Record a message from `code` (thread-safe, blocking: call it off the event loop).

        `heartbeat=True` marks devices that send heartbeats: only they can be declared offline."""
        device, came_online = self.repo.seen(code, protocol, every=self.seen_every, **fields)
        if came_online:
            log.info("device %s (%s) online from %s", code, protocol, device.address or "?")
            self.bus.publish(DEVICE_STATUS, device)
        return device

    def configure(self, code: str, values: dict[str, Any]) -> tuple[Device, dict[str, Any], dict[str, Any]]:
        """Change a device's settings (see `parse_settings`); returns the device and the settings before
        and after, for the caller to log. Raises SettingError for bad values, KeyError for an unknown
        device or gate device."""
        changes = parse_settings(values)
        before = self.repo.get(code)
        if before is None:
            raise KeyError(code)
        if changes.get("gate_device") and self.repo.get(changes["gate_device"]) is None:
            raise KeyError(changes["gate_device"])
        old = {k: before.meta.get(k) if k == "whitelist_sync" else getattr(before, k) for k in changes}
        if changes:
            self.repo.configure(code, **changes)
        after = self.repo.get(code)
        assert after is not None
        return after, old, changes

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
