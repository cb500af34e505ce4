"""Webhook outbox (issue 14): each delivery a webhook target is owed, stored where its event happens,
before the event is acknowledged, and deleted once the target answered 2xx (or given up). A delivery
survives a crash of the process that would have made it, and the processes sharing the database
deliver each one once: a process claims due rows for a while (a lease, `claimed_by`/`claimed_until`);
the rows of a process that died are claimed again when their lease ends. See core/store/outbox.py.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(32), nullable=False),  # sent as Idempotency-Key: the same on every attempt
        sa.Column("webhook_id", sa.Integer, sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # the webhook's events: recognition | alert
        sa.Column("body", sa.Text, nullable=False),  # the JSON posted
        sa.Column("image", sa.LargeBinary),  # with-image targets: the uploaded image, as it came
        sa.Column("filename", sa.String(255)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_at", tz, nullable=False),  # due from then on
        sa.Column("claimed_by", sa.String(128)),  # the process delivering it now …
        sa.Column("claimed_until", tz),  # … until then (after that, any process may claim it)
        sa.Column("created_at", tz, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_webhook_outbox_next_at", "webhook_outbox", ["next_at"])
    op.create_index("ix_webhook_outbox_webhook_id", "webhook_outbox", ["webhook_id"])


def downgrade() -> None:
    op.drop_table("webhook_outbox")
