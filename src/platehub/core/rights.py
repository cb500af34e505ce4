"""Which access right each operation and each kind of record needs. Rights are TS-API's
`accessRights2` names (core/store/accounts.py `RIGHTS`); an admin holds every right.

Readings chosen here (the TS-API guide names the rights but not what each one guards beyond its
one-line description):

- Pushing events (`POST /api/push`) needs `Control` ("Pan tilt, relay control"): a pushed read of an
  allow-listed plate opens a barrier, which is relay control. Signing in alone is not enough.
- Event log entries (`/api/find?what=eventLog` and the `systemEvent` WebSocket topic) are shown by
  type: the system log (start/stop) and emergency calls to every signed-in user; LPR devices, gate
  alerts (plates) and parking to holders of `LPR` ("Vehicle number search"); settings changes to
  holders of `Settings`; sign-ins and sign-outs (user names and their addresses) to admins only.
- Video channels: their list and status to every signed-in user (the guide: "session
  authenticated"); adding and deleting them needs `Settings`; device control (PTZ, presets, relays,
  reboot) needs `Control`, the guide's "Device control permission"."""

from __future__ import annotations

from platehub.core import eventlog
from platehub.core.store.accounts import User

ADMIN = "admin"  # not a right a user can be given: only admins pass
PUSH = "Control"
CHANNELS = "Settings"  # adding, changing, deleting video channels
DEVICE_CONTROL = "Control"
EVENT_LOG: dict[str, str | None] = {
    eventlog.SYSTEM: None,
    eventlog.EMERGENCY: None,
    eventlog.DEVICE: "LPR",
    eventlog.ACCESS: "LPR",
    eventlog.PARKING: "LPR",
    eventlog.SETTINGS: "Settings",
    eventlog.PRIVACY: ADMIN,
}
assert set(EVENT_LOG) == set(eventlog.KINDS), "every event log type needs its right"


def holds(user: User, right: str | None) -> bool:
    """Whether `user` may do what needs `right` (None: any signed-in user)."""
    if right is None or user.is_admin:
        return True
    return right != ADMIN and right in user.rights


def may_read_log(user: User, type_: str) -> bool:
    """Whether `user` may see event log entries of `type_` (unknown types: admins only)."""
    return holds(user, EVENT_LOG.get(type_, ADMIN))


def readable_log_types(user: User) -> tuple[str, ...]:
    return tuple(t for t in eventlog.KINDS if may_read_log(user, t))


def visible_log_kinds(user: User, kinds: list[tuple[str, str | None]] | None,
                      ) -> list[tuple[str, str | None]] | None:
    """An event log search's (type, code) filter narrowed to what `user` may read (None: everything)."""
    readable = readable_log_types(user)
    if kinds is None:
        return None if len(readable) == len(eventlog.KINDS) else [(t, None) for t in readable]
    return [(t, c) for t, c in kinds if t in readable]
