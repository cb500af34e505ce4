"""The event log service: records what happened on the server (TS-API "Search event log").

Recorded: system start/stop (`record_start`/`record_stop`, called by the app's lifespan),
sign-in/sign-out (the TS-API `/api/auth`), LPR devices coming online / going offline, heard from a new
address (`moved`) or refused a message (`refused`), and emergency calls (the bus topics `device.status`,
`device.address` and `emergency.call`, consumed by the `start()` task), erasures of a vehicle's data
(`privacy`/`erased`, by core/erasure.py: who and the counts, never the plate), and
settings changes (`settings_changed`, for whatever changes settings). Entries are stored first, then
published on the bus as `EVENT_LOGGED` (for a later `systemEvent` WebSocket topic).

No secrets in the log: a settings change's values are scrubbed on the way in (`scrub`: URLs lose
their passwords and secret-looking parameters, values under secret-looking names become `***`),
whatever the caller passed. Who may read which entries: core/rights.py.

The `record_*` methods block (database): call them off the event loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from platehub.core import tasks
from platehub.core.bus import DEVICE_ADDRESS, DEVICE_STATUS, EMERGENCY_CALL, Bus
from platehub.core.redact import MASK, redact_url, secret_name
from platehub.core.store.devices import Device
from platehub.core.store.eventlog import EventLogRepo, LogEntry

log = logging.getLogger("platehub.eventlog")

EVENT_LOGGED = "eventlog.added"  # payload: core.store.eventlog.LogEntry

# platehub's names for the entries (type → codes); the TS-API numbers live in protocols/tsapi/eventlog.py
SYSTEM, PRIVACY, SETTINGS, DEVICE, EMERGENCY = "system", "privacy", "settings", "device", "emergency"
ACCESS = "access"  # gate alerts: a deny-list vehicle, an unknown vehicle (when the policy asks for it)
PARKING = "parking"  # a lot counted beyond its maximum
KINDS: dict[str, tuple[str, ...]] = {
    SYSTEM: ("startup", "shutdown"),
    PRIVACY: ("signIn", "signOut", "erased"),  # erased: platehub purge (core/erasure.py)
    SETTINGS: ("changed",),
    DEVICE: ("online", "offline", "moved", "refused"),
    EMERGENCY: ("callStart", "callEnd"),
    ACCESS: ("denied", "unknown"),
    PARKING: ("full",),
}


def scrub(value: Any) -> Any:
    """A JSON value without secrets: URLs redacted (core.redact), values of secret-looking keys masked."""
    if isinstance(value, dict):
        return {k: MASK if isinstance(k, str) and secret_name(k) and isinstance(v, str) else scrub(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


class EventLog:
    def __init__(self, repo: EventLogRepo, bus: Bus) -> None:
        self.repo = repo
        self.bus = bus
        self._task: asyncio.Task | None = None

    def record(self, type: str, code: str, *, user: str | None = None, source: str | None = None,
               details: dict[str, Any] | None = None, at: datetime | None = None) -> LogEntry:
        if code not in KINDS.get(type, ()):
            raise ValueError(f"unknown event log entry {type}/{code}")
        entry = self.repo.add(type, code, at, user=user, source=source, details=details)
        self.bus.publish(EVENT_LOGGED, entry)
        return entry

    def record_start(self) -> LogEntry:
        return self.record(SYSTEM, "startup")

    def record_stop(self) -> LogEntry:
        return self.record(SYSTEM, "shutdown")

    def signed_in(self, user: str, address: str | None = None, via: str = "session") -> LogEntry:
        return self.record(PRIVACY, "signIn", user=user, source=address, details={"uid": user, "via": via})

    def signed_out(self, user: str, address: str | None = None) -> LogEntry:
        return self.record(PRIVACY, "signOut", user=user, source=address, details={"uid": user})

    def settings_changed(self, what: str, user: str | None = None, before: Any = None, after: Any = None,
                         ) -> LogEntry:
        """A setting `what` changed (by `user`, when known); `before`/`after` are JSON values, scrubbed
        of secrets here (`scrub`) in case a caller passed one."""
        details: dict[str, Any] = {"setting": what}
        if before is not None:
            details["before"] = scrub(before)
        if after is not None:
            details["after"] = scrub(after)
        return self.record(SETTINGS, "changed", user=user, details=details)

    def device_status(self, device: Device) -> LogEntry:
        return self.record(DEVICE, "online" if device.online else "offline", source=device.code,
                           details={"code": device.code, "name": device.name or device.code,
                                    "protocol": device.protocol, "address": device.address,
                                    "lastSeen": device.last_seen.isoformat()})

    def device_address(self, alert) -> LogEntry:
        """A device heard from a new address, or a message for it refused (core.devices.AddressAlert)."""
        return self.record(DEVICE, alert.kind, source=alert.code, details=alert.details())

    def emergency_call(self, payload: dict[str, Any]) -> LogEntry | None:
        event = payload.get("event")
        if event not in KINDS[EMERGENCY] or not payload.get("src"):
            return None
        keep = {k: payload.get(k) for k in ("src", "device", "camera", "when")}
        return self.record(EMERGENCY, event, source=str(payload["src"]), details=keep)

    def _handle(self, topic: str, payload: Any) -> None:
        if topic == DEVICE_STATUS:
            self.device_status(payload)
        elif topic == DEVICE_ADDRESS:
            self.device_address(payload)
        elif topic == EMERGENCY_CALL:
            self.emergency_call(payload)

    async def _consume(self, sub) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                event = await sub.get()
                try:
                    await loop.run_in_executor(None, self._handle, event.topic, event.payload)
                except Exception:  # a database hiccup must not end the consumer
                    log.exception("could not record %s in the event log", event.topic)
        finally:
            sub.close()

    def start(self) -> None:
        """Consume device status and emergency calls from the bus (idempotent)."""
        if self._task is None or self._task.done():
            sub = self.bus.subscribe(DEVICE_STATUS, DEVICE_ADDRESS, EMERGENCY_CALL)
            self._task = asyncio.create_task(self._consume(sub), name="event-log")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None


def over(engine, bus: Bus | None = None) -> EventLog:
    """An event log over a database engine, for a service built without the app's (a CLI command, a test):
    its entries are published on `bus`, else on a bus of its own that nobody hears."""
    return EventLog(EventLogRepo(engine), bus or Bus())


def record_setting(store, what: str, user: str | None = None, before: Any = None, after: Any = None,
                   bus: Bus | None = None) -> LogEntry:
    """Log a settings change from a domain operation that holds the store (core/accounts.py, core/webhooks.py).

    Blocking. `before`/`after` must not be secrets."""
    return over(store.engine, bus).settings_changed(what, user, before, after)

