"""Webhook deliveries, written where their event happens (issue 14).

`Recognizer` (a Snapshot API call: kind `recognition`) and `GateKeeper` (a gate alert: kind `alert`)
call `add` before their event is acknowledged; it stores one delivery per enabled target of that kind
in the outbox (core/store/outbox.py), whatever process it runs in, and wakes this process's dispatcher
(protocols/snapshot/webhooks.py), which posts it. How an event becomes a target's JSON body is the
protocol's business, so the bodies are handed in (`bodies`, by kind: app.build gives the Snapshot API's
`webhook_payload` for recognitions and `Alert.as_json` for alerts). Blocking (database): call off the
event loop."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection

from platehub.core.store.hooks import EVENTS, Webhook
from platehub.core.store.outbox import OutboxRepo

Body = Callable[[Any, Webhook], dict[str, Any]]  # (the event, the target) -> the JSON the target gets


class Outbox:
    def __init__(self, repo: OutboxRepo, bodies: Mapping[str, Body]) -> None:
        if set(bodies) != set(EVENTS):
            raise ValueError(f"bodies: one for each of {', '.join(EVENTS)}")
        self.repo = repo
        self.bodies = dict(bodies)
        self._listeners: list[Callable[[], None]] = []

    def listen(self, added: Callable[[], None]) -> Callable[[], None]:
        """Call `added()` (from any thread) after each `add` that stored rows; returns the unsubscribe."""
        self._listeners.append(added)
        return lambda: self._listeners.remove(added)

    def add(self, kind: str, event: Any, image: bytes | None = None, filename: str | None = None) -> int:
        """Store the deliveries `event` owes the targets of `kind` (`image`/`filename`: for with-image
        targets); returns how many. Raises when the database does: the event must not be acknowledged."""
        body = self.bodies[kind]
        added = self.repo.add(kind, lambda hook: json.dumps(body(event, hook)), image, filename)
        if added:
            self.wake()
        return added

    def add_in(self, conn: Connection, kind: str, event: Any) -> int:
        """`add` inside the caller's transaction; call `wake` once it is committed."""
        body = self.bodies[kind]
        return self.repo.add_in(conn, kind, lambda hook: json.dumps(body(event, hook)))

    def wake(self) -> None:
        """Tell this process's dispatcher that deliveries were stored."""
        for wake in list(self._listeners):
            wake()
