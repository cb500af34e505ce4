"""Webhook targets and their delivery health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from platehub.core.read import utcnow
from platehub.core.store.database import as_utc
from platehub.core.store.schema import webhooks

# recognition: one POST per Snapshot API call (spec 002); alert: one per gate alert (core.gate.Alert)
EVENTS = ("recognition", "alert")


@dataclass(frozen=True)
class Webhook:
    id: int
    target: str
    with_image: bool
    enabled: bool
    failures: int
    last_error: str | None
    created_at: datetime
    events: str = "recognition"  # EVENTS: what the target receives


def _from_row(row) -> Webhook:
    return Webhook(
        row.id, row.target, bool(row.with_image), bool(row.enabled), row.failures, row.last_error,
        as_utc(row.created_at), row.events or "recognition",
    )


def wanting(conn: Connection, events: str) -> list[Webhook]:
    """The enabled targets that receive `events` (EVENTS), in `conn`'s transaction."""
    kind = webhooks.c.events == events
    if events == "recognition":  # stored as NULL
        kind = or_(kind, webhooks.c.events.is_(None))
    return [_from_row(r) for r in conn.execute(select(webhooks).where(webhooks.c.enabled.is_(True), kind)
                                               .order_by(webhooks.c.id))]


def count_failure(conn: Connection, webhook_id: int, error: str, disable_after: int) -> Webhook | None:
    """`WebhookRepo.record_failure` in `conn`'s transaction."""
    row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
    if row is None:
        return None
    failures = row.failures + 1
    enabled = row.enabled and failures < disable_after
    conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(failures=failures, last_error=error[:1000], enabled=enabled)
    )
    return _from_row(conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first())


class WebhookRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, target: str, with_image: bool = False, events: str = "recognition") -> Webhook:
        if events not in EVENTS:
            raise ValueError(f"events: one of {', '.join(EVENTS)}")
        now = utcnow()
        with self.engine.begin() as conn:
            wid = conn.execute(
                insert(webhooks).values(
                    target=target, with_image=with_image, enabled=True, failures=0, created_at=now,
                    events=None if events == "recognition" else events,
                )
            ).inserted_primary_key[0]
        return Webhook(int(wid), target, with_image, True, 0, None, now, events)

    def list(self, enabled_only: bool = False) -> list[Webhook]:
        q = select(webhooks).order_by(webhooks.c.id)
        if enabled_only:
            q = q.where(webhooks.c.enabled.is_(True))
        with self.engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(q)]

    def remove(self, webhook_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount > 0

    def record_success(self, webhook_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(failures=0, last_error=None))

    def record_failure(self, webhook_id: int, error: str, disable_after: int) -> Webhook | None:
        """Count a failed delivery; disable the target after `disable_after` in a row."""
        with self.engine.begin() as conn:
            return count_failure(conn, webhook_id, error, disable_after)
