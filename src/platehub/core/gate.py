"""The gate decision for a plate read at a device. Until access lists exist: the device's own
default (set per device), else the server's (PLATEHUB_GATE_DEFAULT)."""

from __future__ import annotations

from platehub.config import Settings
from platehub.core.read import Read
from platehub.core.store.devices import Device


def opens_gate(settings: Settings, device: Device | None, read: Read | None) -> bool:
    default = (device.gate_default if device and device.gate_default else None) or settings.gate_default
    return default == "open"
