"""The gate decision for a plate read at a device (interim: being rebuilt on access lists)."""

from __future__ import annotations

from platehub.config import Settings
from platehub.core.read import Read
from platehub.core.store.devices import Device


def opens_gate(settings: Settings, device: Device | None, read: Read | None) -> bool:
    policy = (device.gate_policy if device and device.gate_policy else None) or settings.gate_policy
    return policy == "always"
