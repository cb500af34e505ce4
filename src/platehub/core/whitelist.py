"""Keeping each all-in-one camera's own whitelist equal to the access-list entries it should hold.

Why: the camera decides by itself when the server is unreachable (spec 001: its whitelist, with
validity windows; `need_alarm` 1 marks a blacklisted plate). platehub is the source of truth: a camera's
list is driven to hold exactly the entries in its scope (entries for every device, or naming it) that a
camera can express — no weekly schedule (the camera has none; those are decided by the server only),
not expired — allow entries with need_alarm 0, deny entries with need_alarm 1 (a plate on both lists:
deny). Validity windows travel as `enable_time`/`overdue_time` in the site's local time.

How: the only channel is `white_list_operate` in the replies to the camera's plate pushes and comet
polls, at most 5 plates and one operation type a reply (spec 7.5). `next_batch` gives the next
operation: the first sync of a camera starts with a clear (its list may hold anything), then deletes,
then adds/changes. What the camera was sent is recorded (`camera_lists`) as what it holds.

A reply can be lost: the camera drops off the network right after platehub answered. So the last
operation sent stays unconfirmed until the camera calls again within `confirm_within` seconds (a
comet camera calls again at once, a heartbeat camera within its heartbeat interval); when its next
call comes later than that — it reconnected — that operation is sent again first. Operations are
idempotent (adding a plate the camera has replaces it; deleting one it lacks does nothing), so a
repeat is harmless. A queued manual whitelist command (`platehub command add CODE whitelist_*`) takes
the reply's slot first and is recorded too; the sync then converges the camera to the lists again.

Blocking (database): call off the event loop, one caller per camera at a time (the door's lock)."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from platehub.config import Settings
from platehub.core.eventlog import EventLog, over
from platehub.core.read import utcnow
from platehub.core.store.camera_lists import CameraEntry, CameraListRepo, ListEntry
from platehub.core.store.devices import Device

log = logging.getLogger("platehub.whitelist")

MAX_BATCH = 5  # spec 001 7.5: "Single reply message, up to 5 whitelist data"
CAMERA_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Batch:
    op: str  # add | delete | clear
    entries: tuple[CameraEntry, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"op": self.op, "entries": [e.__dict__ for e in self.entries]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Batch:
        return cls(data["op"], tuple(CameraEntry(**e) for e in data.get("entries", [])))


def camera_time(when: datetime | None, zone: tzinfo | None) -> str | None:
    return when.astimezone(zone).strftime(CAMERA_TIME) if when else None


def intended(entries: list[ListEntry], device: str, zone: tzinfo | None) -> dict[str, CameraEntry]:
    """What `device` should hold (see the module's docstring)."""
    out: dict[str, CameraEntry] = {}
    for e in entries:
        if e.devices is not None and device not in e.devices:
            continue
        if e.plate in out and out[e.plate].need_alarm:
            continue  # a deny entry of the same plate wins
        out[e.plate] = CameraEntry(e.plate, 1 if e.list == "deny" else 0, camera_time(e.valid_from, zone),
                                   camera_time(e.valid_until, zone))
    return out


def plan(held: dict[str, CameraEntry] | None, want: dict[str, CameraEntry]) -> list[tuple[str, CameraEntry | None]]:
    """Operations taking a camera from `held` (None: unknown) to `want`: (clear), deletes, adds."""
    ops: list[tuple[str, CameraEntry | None]] = []
    if held is None:
        ops.append(("clear", None))
        held = {}
    ops += [("delete", held[p]) for p in sorted(set(held) - set(want))]
    ops += [("add", want[p]) for p in sorted(want) if held.get(p) != want[p]]
    return ops


class WhitelistSync:
    def __init__(self, settings: Settings, repo: CameraListRepo, zone: tzinfo | None = None,
                 eventlog: EventLog | None = None) -> None:
        self.settings = settings
        self.repo = repo
        self.zone = zone
        self.eventlog = eventlog or over(repo.engine)
        self.confirm_within = 2 * settings.comet_hold + 2
        self._plans: dict[str, tuple[int, deque]] = {}
        self._replay: set[str] = set()

    def enabled(self, device: Device | None) -> bool:
        """The device's own setting, else PLATEHUB_WHITELIST_SYNC (off by default)."""
        if device is None:
            return False
        own = device.meta.get("whitelist_sync")
        return bool(self.settings.whitelist_sync if own is None else own)

    def contact(self, device: str) -> None:
        """The camera called (any message): it got our last reply, unless it calls after a long silence."""
        state = self.repo.state(device)
        if state is None or state.last_batch is None or state.last_batch_at is None:
            return
        if (utcnow() - state.last_batch_at).total_seconds() <= self.confirm_within:
            self.repo.save_state(device, last_batch=None, last_batch_at=None)
        elif device not in self._replay:
            log.info("whitelist of %s: the camera was away; the last operation is sent again", device)
            self._replay.add(device)

    def next_batch(self, device: str) -> Batch | None:
        state = self.repo.state(device)
        if device in self._replay and state is not None and state.last_batch:
            return Batch.from_json(state.last_batch)
        self._replay.discard(device)
        version = self.repo.lists_version()
        cached = self._plans.get(device)
        if cached is None or cached[0] != version:
            held = self.repo.held(device) if state is not None else None
            want = intended(self.repo.holdable(utcnow()), device, self.zone)
            cached = self._plans[device] = (version, deque(plan(held, want)))
            if cached[1]:
                log.info("whitelist of %s: %d operations to send", device, len(cached[1]))
        ops = cached[1]
        if not ops:
            if state is None or state.version != version:
                self.repo.save_state(device, version=version)
            return None
        op = ops[0][0]
        if op == "clear":
            return Batch("clear")
        taken = []
        for kind, entry in list(ops)[:MAX_BATCH]:
            if kind != op:
                break
            taken.append(entry)
        return Batch(op, tuple(taken))

    def sent(self, device: str, batch: Batch) -> None:
        """`batch` went out in a reply: record it as held, keep it until confirmed."""
        self.repo.apply(device, batch.op, list(batch.entries))
        self.repo.save_state(device, last_batch=batch.as_json(), last_batch_at=utcnow())
        if device in self._replay:
            self._replay.discard(device)
            return
        cached = self._plans.get(device)
        if cached is not None:
            ops = cached[1]
            for _ in range(1 if batch.op == "clear" else len(batch.entries)):
                if ops:
                    ops.popleft()

    def recorded(self, device: str, op: str, entries: list[CameraEntry]) -> None:
        """A manual whitelist command reached the camera: what it holds changed outside the plan."""
        self.repo.apply(device, op, entries)
        self._plans.pop(device, None)

    def reset(self, device: str, *, by: str | None = None) -> None:
        """Forget what the camera holds: the next sync clears it and sends everything again (logged)."""
        self.repo.forget(device)
        self._plans.pop(device, None)
        self._replay.discard(device)
        self.eventlog.settings_changed(f"device {device} whitelist", by, None, "reset")



