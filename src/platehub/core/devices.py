"""The device registry: every sender becomes a known LPR source, online or offline.

Who may speak for a device (`arrive`, `admits`): camera protocols have no sign-in, so anyone who knows a
serial number could poll for its commands or rewrite its name and address. Three guards:

- a device pinned to a network address (`pinned_address`: `devices set CODE --pin ADDRESS|current`,
  the `/v1/devices/{code}/` setting, or PLATEHUB_PIN_DEVICES=1 to pin each device to the address it is
  first heard from) is acted for only by messages from that address; the others change nothing;
- a device with a shared secret (`secret`) must carry it in its registrations (the all-in-one
  heartbeat / comet poll's password field, spec 001 6.1: `pass_wd` / `password`, the camera's own login
  password), and messages without that field (plate results …) are accepted only from the address of
  its last registration that carried it;
- a device heard from another address than before is accepted (unless pinned or secured) but alerts.

Refusals and moves are logged as warnings and published as `device.address` (event log: device
`refused` / `moved`), at most once a minute per device, kind and address."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from platehub.config import GATE_POLICIES, Settings
from platehub.core.bus import DEVICE_ADDRESS, DEVICE_STATUS, Bus
from platehub.core.errors import DomainError
from platehub.core.eventlog import EventLog, over
from platehub.core.read import utcnow
from platehub.core.store.devices import Device, DeviceRepo
from platehub.core.tasks import cancel

log = logging.getLogger("platehub.devices")

# operator settings of a device: name → what it holds (see parse_settings)
SETTINGS = ("gate_policy", "alert_unknown", "gate_device", "whitelist_sync", "lot_entrance", "lot_exit",
            "pinned_address", "secret")
CURRENT = "current"  # pinned_address: the address the device was last heard from
SECRET_ROUNDS = 20_000  # PBKDF2-SHA256 rounds of a stored secret (a few ms per registration)
ALERT_EVERY = 60.0  # seconds: one alert per device, kind and address in this time
_TRUE, _FALSE, _DEFAULT = ("1", "true", "yes", "on"), ("0", "false", "no", "off"), ("", "default", "none", "null")


class Configured(NamedTuple):
    """A device's settings changed: the device now, and the settings before and after (for the log)."""

    device: Device
    before: dict[str, Any]
    after: dict[str, Any]


class SettingError(DomainError):
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
        elif name == "pinned_address":
            out[name] = _address(text)
        elif name == "secret":  # the raw secret here; `configure` stores only its hash
            if text and len(text) > 128:
                raise SettingError("`secret` must be at most 128 characters")
            out[name] = text or None
        else:  # lots
            if text is None or text.lower() in _DEFAULT:
                out[name] = None
            elif not text.isdigit() or int(text) < 1:
                raise SettingError(f"`{name}` must be a parking lot id, not {value!r}")
            else:
                out[name] = int(text)
    return out


def _address(text: str | None) -> str | None:
    if text is None or text.lower() in _DEFAULT or text.lower() == "off":
        return None
    if text.lower() == CURRENT:
        return CURRENT
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise SettingError(f"`pinned_address` must be an IP address, current or off, not {text!r}") from None


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, SECRET_ROUNDS)
    return f"pbkdf2_sha256${SECRET_ROUNDS}${salt.hex()}${digest.hex()}"


def secret_matches(stored: str | None, given: str | None) -> bool:
    try:
        _, rounds, salt, digest = (stored or "").split("$")
        got = hashlib.pbkdf2_hmac("sha256", (given or "").encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return given is not None and hmac.compare_digest(got.hex(), digest)


def admits(device: Device | None, peer: str | None, secret_ok: bool | None) -> str | None:
    """Why a message from `peer` may not act for `device`, or None when it may. `secret_ok`: whether the
    message carried the device's secret (None: the message has no field for one)."""
    if device is None:
        return None
    if device.pinned_address and peer != device.pinned_address:
        return f"pinned to {device.pinned_address}"
    if device.secured:
        if secret_ok is False:
            return "its registration lacks the device's secret"
        if secret_ok is None and device.peer_address and peer != device.peer_address:
            return f"not from {device.peer_address}, the address of its last registration with the secret"
    return None


@dataclass(frozen=True)
class AddressAlert:
    """A device heard from a new address (`moved`), or a message refused for it (`refused`)."""

    kind: str  # moved | refused
    code: str
    name: str | None
    address: str | None  # where the message came from
    known: str | None  # the device's address before (moved), or the one it is held to (refused)
    why: str

    def details(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name or self.code, "address": self.address, "known": self.known,
                "why": self.why}


@dataclass(frozen=True)
class Arrival:
    device: Device | None  # as stored now (unchanged when refused)
    refused: str | None = None  # why the message may not act for the device; None: it may


class DeviceRegistry:
    """LPR sources: what their messages change (`seen`, `arrive`), the online monitor, and the operators'
    changes (`add`, `configure`), each one settings entry of the event log (by whom: `by`)."""

    def __init__(self, settings: Settings, repo: DeviceRepo, bus: Bus, eventlog: EventLog | None = None) -> None:
        self.settings = settings
        self.repo = repo
        self.bus = bus
        self.eventlog = eventlog or over(repo.engine, bus)
        self._task: asyncio.Task | None = None
        self._alerted: dict[tuple[str, str, str | None], float] = {}
        self._alert_guard = threading.Lock()
        # a device's messages write its `last_seen` at most this often (one write per second, not one per
        # read, on a busy lane), far below the silence that makes it offline
        self.seen_every = min(1.0, settings.offline_after / 20)

    def seen(self, code: str, protocol: str, known: Device | None = None, **fields) -> Device:
        """Record a message from `code` (thread-safe, blocking: call it off the event loop). `known`: the
        device as just read by the caller.

        `heartbeat=True` marks devices that send heartbeats: only they can be declared offline."""
        device, came_online = self.repo.seen(code, protocol, every=self.seen_every, known=known, **fields)
        if came_online:
            log.info("device %s (%s) online from %s", code, protocol, device.address or "?")
            self.bus.publish(DEVICE_STATUS, device)
        return device

    def arrive(self, code: str, protocol: str, peer: str | None, secret: str | None = None,
               check_secret: bool = False, **fields) -> Arrival:
        """A message from `code` sent from the network address `peer`: recorded as `seen` does, unless the
        device is held to another address or lacks its secret (`check_secret`: the message has a field for
        it, `secret`); see the module's docstring. Blocking."""
        before = self.repo.get(code)
        ok = None
        if before is not None and before.secured and check_secret:
            ok = secret_matches(self.repo.secret_hash(code), secret)
        why = admits(before, peer, ok)
        if why is not None:
            assert before is not None
            self._alert(AddressAlert("refused", code, before.name, peer,
                                     before.pinned_address or before.peer_address, why))
            return Arrival(before, why)
        first = before is None or (before.peer_address is None and before.pinned_address is None)
        device = self.seen(code, protocol, before, peer=peer, pin=self.settings.pin_devices and first, **fields)
        if before is not None and peer and before.peer_address and before.peer_address != peer:
            self._alert(AddressAlert("moved", code, device.name, peer, before.peer_address,
                                     f"heard from {peer}, before from {before.peer_address}"))
        elif before is not None and fields.get("address") and before.address not in (None, fields["address"]):
            self._alert(AddressAlert("moved", code, device.name, peer, before.address,
                                     f"reports address {fields['address']}, before {before.address}"))
        return Arrival(device)

    def _alert(self, alert: AddressAlert) -> None:
        key, now = (alert.kind, alert.code, alert.address), time.monotonic()
        with self._alert_guard:
            if now - self._alerted.get(key, -ALERT_EVERY) < ALERT_EVERY:
                return
            if len(self._alerted) > 10_000:
                self._alerted.clear()
            self._alerted[key] = now
        if alert.kind == "refused":
            log.warning("device %s: message from %s refused: %s (it changes nothing and takes no command)",
                        alert.code, alert.address or "?", alert.why)
        else:
            log.warning("device %s moved: %s", alert.code, alert.why)
        if self.bus is not None:
            self.bus.publish(DEVICE_ADDRESS, alert)

    def add(self, code: str, protocol: str, name: str | None = None, *, by: str | None = None) -> Device:
        """Register a source before it first calls (to configure it); an existing device is kept as it is."""
        device = self.repo.add(code, protocol, name)
        self.eventlog.settings_changed(f"device {code}", by, None, {"added": device.protocol})
        return device

    def configure(self, code: str, values: dict[str, Any], *, by: str | None = None) -> Configured:
        """Change a device's settings (see `parse_settings`); returns the device and the settings before
        and after, as logged (a secret shows as "set" or None). Raises SettingError for bad values,
        KeyError for an unknown device or gate device."""
        changes = parse_settings(values)
        before = self.repo.get(code)
        if before is None:
            raise KeyError(code)
        if changes.get("gate_device") and self.repo.get(changes["gate_device"]) is None:
            raise KeyError(changes["gate_device"])
        if changes.get("pinned_address") == CURRENT:
            if before.peer_address is None:
                raise SettingError(f"{code} has sent nothing yet: give the address to pin it to")
            changes["pinned_address"] = before.peer_address
        shown = dict(changes)
        if "secret" in changes:
            secret = changes.pop("secret")
            changes["secret_hash"] = hash_secret(secret) if secret else None
            shown["secret"] = "set" if secret else None
        old = {k: before.meta.get(k) if k == "whitelist_sync" else
               ("set" if before.secured else None) if k == "secret" else getattr(before, k) for k in shown}
        if changes:
            self.repo.configure(code, **changes)
        after = self.repo.get(code)
        assert after is not None
        if shown:
            self.eventlog.settings_changed(f"device {code}", by, old, shown)
        return Configured(after, old, shown)

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
        await cancel(self._task)
