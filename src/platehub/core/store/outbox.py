"""The webhook outbox: each delivery a target is owed, from the moment its event happened until the
target answered 2xx or the delivery was given up (migration 0014).

Rows are added where the event happens (`add`: one per enabled target of the event's kind, in one
transaction), before it is acknowledged, so they survive the crash of any process. Every process may
deliver them: `claim` takes due rows for one process for `lease` seconds, atomically (PostgreSQL:
`FOR UPDATE SKIP LOCKED`, so two processes claiming at once get different rows; SQLite: the claiming
UPDATE is the transaction's first statement and SQLite has one writer), so each row is posted by one
process at a time. Rows whose lease ended (their process died mid-delivery) are claimable again: a
delivery is made at least once, and twice only when a process dies between the target's 2xx and `done`.
Blocking (database): call off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from platehub.core.read import new_id, utcnow
from platehub.core.store.hooks import Webhook, count_failure, wanting
from platehub.core.store.schema import webhook_outbox, webhooks

_o = webhook_outbox


@dataclass(frozen=True)
class Delivery:
    """A claimed row, with what its target's row says now."""

    id: int
    key: str  # the same on every attempt (the Idempotency-Key header)
    webhook_id: int
    kind: str  # recognition | alert
    body: str  # the JSON to post
    image: bytes | None = field(repr=False)  # set: post multipart (`upload` = this image, `json` = body)
    filename: str | None
    attempts: int  # attempts made before this one
    target: str = field(repr=False)  # may carry credentials
    failures: int  # the target's failed deliveries in a row


class OutboxRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, kind: str, body: Callable[[Webhook], str], image: bytes | None = None,
            filename: str | None = None) -> int:
        """One row per enabled target of `kind`, its JSON `body(target)`; the image only for with-image
        targets. One transaction: the event's deliveries are all stored or none. Returns the rows added."""
        with self.engine.begin() as conn:
            return self.add_in(conn, kind, body, image, filename)

    def add_in(self, conn: Connection, kind: str, body: Callable[[Webhook], str], image: bytes | None = None,
               filename: str | None = None) -> int:
        """`add` inside the caller's transaction (a gate alert's deliveries with its read and decision)."""
        now = utcnow()
        rows = [{"key": new_id(), "webhook_id": hook.id, "kind": kind, "body": body(hook),
                 "image": image if hook.with_image else None, "filename": filename if hook.with_image else None,
                 "attempts": 0, "next_at": now, "created_at": now}
                for hook in wanting(conn, kind)]
        if rows:
            conn.execute(insert(_o), rows)
        return len(rows)

    def claim(self, owner: str, limit: int, lease: float) -> list[Delivery]:
        """Up to `limit` due rows that no live lease holds, now held by `owner` for `lease` seconds
        (oldest due first)."""
        now = utcnow()
        due = select(_o.c.id).where(_o.c.next_at <= now, or_(_o.c.claimed_until.is_(None), _o.c.claimed_until < now))
        with self.engine.connect() as conn:  # most looks find nothing: no write transaction for them
            if conn.execute(due.limit(1)).first() is None:
                return []
        due = due.order_by(_o.c.next_at, _o.c.id).limit(limit).with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            ids = conn.execute(update(_o).where(_o.c.id.in_(due))
                               .values(claimed_by=owner, claimed_until=now + timedelta(seconds=lease))
                               .returning(_o.c.id)).scalars().all()
            if not ids:
                return []
            rows = conn.execute(select(_o, webhooks.c.target, webhooks.c.failures)
                                .join(webhooks, webhooks.c.id == _o.c.webhook_id)
                                .where(_o.c.id.in_(ids)).order_by(_o.c.next_at, _o.c.id)).all()
        return [Delivery(r.id, r.key, r.webhook_id, r.kind, r.body, r.image, r.filename, r.attempts, r.target,
                         r.failures) for r in rows]

    def done(self, row_id: int) -> None:
        """Delivered: the row goes."""
        with self.engine.begin() as conn:
            conn.execute(delete(_o).where(_o.c.id == row_id))

    def retry(self, row_id: int, attempts: int, delay: float, error: str) -> None:
        """An attempt failed: due again in `delay` seconds, for any process."""
        with self.engine.begin() as conn:
            conn.execute(update(_o).where(_o.c.id == row_id).values(
                attempts=attempts, next_at=utcnow() + timedelta(seconds=delay), last_error=error[:1000],
                claimed_by=None, claimed_until=None))

    def give_up(self, row_id: int, webhook_id: int, error: str, disable_after: int) -> Webhook | None:
        """The last attempt failed: the row goes and the target's failure is counted
        (`WebhookRepo.record_failure`); a target disabled by it loses its other rows too. Returns the
        target as it is now (None: removed meanwhile)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_o).where(_o.c.id == row_id))
            hook = count_failure(conn, webhook_id, error, disable_after)
            if hook is not None and not hook.enabled:
                conn.execute(delete(_o).where(_o.c.webhook_id == webhook_id))
        return hook

    def release(self, owner: str) -> int:
        """`owner` stops (a clean shutdown): its claimed rows are free for any process at once."""
        with self.engine.begin() as conn:
            return conn.execute(update(_o).where(_o.c.claimed_by == owner)
                                .values(claimed_by=None, claimed_until=None)).rowcount

    def pending(self) -> int:
        """Rows in the outbox: deliveries owed, due or not, claimed or not, of every process."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(_o)).scalar_one()
