"""The gate decision for a plate read at a device: its policy applied to what the access lists say.

Policies (per device, else PLATEHUB_GATE_POLICY):

- `allow_list` — open for an active allow-list entry only (the default: with empty lists nobody opens);
- `deny_list`  — open for everyone but an active deny-list entry (and a read without a plate);
- `always`     — open for every vehicle (a deny-list hit still raises its alert);
- `never`      — never open;
- `manual`     — never opens by itself: an operator opens by hand (an `open_gate` command).

The lists are matched tolerantly (`core.access.AccessLists.match`: exact, look-alike characters, up to
PLATEHUB_MATCH_EDITS character edits), best match first. Between an allow and a deny entry the better
match wins and, when both are equally good, the deny entry: a one-character misread of a banned car is
not let in because a resident's plate is one character away.

Only live reads open anything. An all-in-one camera's offline record (`live=False`) is a vehicle that
passed minutes or hours ago while the server was unreachable; the camera decided then, from its own
whitelist. Such reads are decided for the record (and a deny-list hit still alerts) but never open.

Each decision is stored with the read (`decisions` table: which entry matched, how, why), published
on the bus (`gate.decision`), and an alert — a deny-list vehicle always, an unknown vehicle when the
device (else PLATEHUB_ALERT_UNKNOWN) asks for it — is written to the event log (type `access`; the
TS-API `systemEvent` topic carries it), its alert webhook deliveries are stored (core/outbox.py), and it
is published as `gate.alert`. A device whose barrier is wired to another camera (`gate_device`) gets
its "open" as an `open_gate` command queued for that camera; an all-in-one camera opens its own through
the reply (`info: ok`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from platehub.config import GATE_POLICIES, Settings
from platehub.core.bus import Bus
from platehub.core.outbox import Outbox
from platehub.core.read import Read, image_path, utcnow
from platehub.core.store.decisions import Decision, DecisionRepo
from platehub.core.store.devices import Device

if TYPE_CHECKING:
    from platehub.core.access import AccessLists, Match
    from platehub.core.commands import CommandQueue
    from platehub.core.eventlog import EventLog

log = logging.getLogger("platehub.gate")

POLICIES = GATE_POLICIES
GATE_DECISION = "gate.decision"  # payload: Decision
GATE_ALERT = "gate.alert"  # payload: Alert

_KIND_RANK = {"exact": 0, "lookalike": 1, "edit": 2}


@dataclass(frozen=True)
class Alert:
    kind: str  # deny | unknown
    read: Read
    decision: Decision

    def as_json(self) -> dict[str, Any]:
        """The alert webhook's body."""
        r, d = self.read, self.decision
        return {
            "type": "alert", "alert": self.kind, "timestamp": d.at.isoformat(),
            "read": {"id": r.id, "plate": r.plate, "plate_raw": r.plate_raw, "source": r.source,
                     "protocol": r.protocol, "score": r.score, "direction": r.direction,
                     "first_seen": r.first_seen.isoformat(),
                     "image_full": image_path(r, "full"), "image_plate": image_path(r, "plate")},
            "decision": {"device": d.device, "policy": d.policy, "action": d.action, "reason": d.reason,
                         "why": d.why, "list": d.list, "entry_id": d.entry_id, "entry_plate": d.entry_plate,
                         "distance": d.distance},
        }


def _rank(m: Match) -> tuple[int, int]:
    return (_KIND_RANK.get(m.kind, 3), m.distance)


def verdict(matches: list[Match]) -> tuple[Match | None, Match | None]:
    """(the deciding active entry or None, the best inactive one when no active entry matched).
    Deny wins over allow at equal rank."""
    active = [m for m in matches if m.active]
    if active:
        best = min(active, key=lambda m: (_rank(m), 0 if m.entry.list == "deny" else 1))
        return best, None
    return None, (matches[0] if matches else None)


def policy_of(settings: Settings, device: Device | None) -> str:
    return (device.gate_policy if device and device.gate_policy else None) or settings.gate_policy


def alerts_unknown(settings: Settings, device: Device | None) -> bool:
    if device is not None and device.alert_unknown is not None:
        return device.alert_unknown
    return settings.alert_unknown


@dataclass(frozen=True)
class Outcome:
    """What the rule decides for one read."""

    opens: bool
    reason: str  # allowed, denied, inactive, no_plate, unknown, offline, or the policy (always, never, manual)
    why: str  # in words, for the log and the console
    alert: str | None  # "deny", "unknown" or None


def rule(policy: str, plate: str, deciding: Match | None, inactive: Match | None, live: bool,
         alert_unknown: bool) -> Outcome:
    """The rule itself (pure): the device's policy applied to the lists' verdict (`verdict`)."""
    denied = deciding is not None and deciding.entry.list == "deny"
    allowed = deciding is not None and deciding.entry.list == "allow"
    alert = "deny" if denied else ("unknown" if alert_unknown and deciding is None and plate else None)
    if deciding is not None:
        reason, why = ("denied" if denied else "allowed"), deciding.why
    elif inactive is not None:
        reason, why = "inactive", inactive.why
    elif not plate:
        reason, why = "no_plate", "no plate was read"
    else:
        reason, why = "unknown", "on no list"
    if policy == "always":
        opens = True
    elif policy == "deny_list":
        opens = not denied
    elif policy == "allow_list":
        opens = allowed
    else:  # never, manual
        opens = False
    if policy in ("always", "never", "manual"):
        why = f"policy {policy}; {why}"
        reason = policy if not denied else reason
    if opens and not live:
        opens, reason, why = False, "offline", f"offline record, not opened ({why})"
    return Outcome(opens, reason, why, alert)


class GateKeeper:
    """Blocking (database): call off the event loop."""

    def __init__(self, settings: Settings, lists: AccessLists, repo: DecisionRepo, bus: Bus,
                 commands: CommandQueue | None = None, eventlog: EventLog | None = None,
                 outbox: Outbox | None = None) -> None:
        self.settings = settings
        self.lists = lists
        self.repo = repo
        self.bus = bus
        self.commands = commands  # for devices whose gate another camera opens
        self.eventlog = eventlog  # for alerts
        self.outbox = outbox  # for alert webhooks: stored before the read is acknowledged

    def decide(self, read: Read, device: Device | None, live: bool = True) -> Decision:
        """Decide, store, publish (and alert, and queue the open for a wired camera). A read decided
        before keeps its first decision (a camera resending a record gets the same answer)."""
        decision = self.judge(read, device, live)
        with self.repo.engine.begin() as conn:
            stored = self.store_in(conn, read, decision)
        if not stored:  # decided before: the first decision stands
            return self.repo.get(read.id) or decision
        log.info("%s: %s", read.plate or "-", decision.summary())
        self.carry_out(read, device, decision)
        return decision

    def store_in(self, conn: Connection, read: Read, decision: Decision) -> bool:
        """Store the decision, and an alert's webhook deliveries, in the caller's transaction (the ingest's:
        with the read, so a read is never stored without them); False when the read was decided before."""
        if not self.repo.add_in(conn, decision):
            return False
        if decision.alert and self.outbox is not None:
            self.outbox.add_in(conn, "alert", Alert(decision.alert, read, decision))
        return True

    def judge(self, read: Read, device: Device | None, live: bool = True) -> Decision:
        """The decision on a read, without storing or doing anything (the ingest stores it with the read,
        in one transaction (`store_in`), then calls `carry_out`)."""
        policy = policy_of(self.settings, device)
        code = device.code if device else read.source
        at = read.received_at if live else read.first_seen  # an offline record: the lists as they were
        matches = self.lists.match(read.plate, code, at) if read.plate else []
        deciding, inactive = verdict(matches)
        got = rule(policy, read.plate, deciding, inactive, live, alerts_unknown(self.settings, device))
        m = deciding or inactive
        return Decision(
            read_id=read.id, device=code, policy=policy, action="open" if got.opens else "closed",
            reason=got.reason, why=got.why, at=utcnow(), list=m.entry.list if m else None,
            entry_id=m.entry.id if m else None, entry_plate=m.entry.plate if m else None,
            distance=m.distance if m else None, alert=got.alert)

    def carry_out(self, read: Read, device: Device | None, decision: Decision) -> None:
        """What a stored decision sets going: published, alerted, the open queued for a wired camera (the
        caller logs the decision with its read)."""
        self.bus.publish(GATE_DECISION, decision)
        if decision.alert:
            self._alert(decision.alert, read, decision)
        if decision.opens and device is not None and device.gate_device and device.gate_device != device.code \
                and self.commands is not None:
            self.commands.enqueue(device.gate_device, "open_gate", {"channel": 0, "read": read.id})

    def _alert(self, kind: str, read: Read, decision: Decision) -> None:
        log.warning("gate alert (%s): %s at %s — %s", kind, read.plate or "-", decision.device, decision.why)
        if self.eventlog is not None:
            self.eventlog.record("access", "denied" if kind == "deny" else "unknown", source=decision.device,
                                 details={"plate": read.plate, "read": read.id, "why": decision.why,
                                          "action": decision.action, "policy": decision.policy})
        if self.outbox is not None:
            self.outbox.wake()  # its deliveries were stored with the decision (store_in)
        self.bus.publish(GATE_ALERT, Alert(kind, read, decision))
