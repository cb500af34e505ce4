"""The event log (TS-API eventLog): system start/stop, sign-in/out, device online/offline, settings changes.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),  # TS-API event log type, e.g. "system", "auth"
        sa.Column("code", sa.String(64), nullable=False),  # TS-API event code within the type
        sa.Column("user", sa.String(64)),
        sa.Column("source", sa.String(128)),  # device code, client address …
        sa.Column("details", sa.JSON),
    )
    op.create_index("ix_event_log_at", "event_log", ["at"])
    op.create_index("ix_event_log_type_at", "event_log", ["type", "at"])


def downgrade() -> None:
    op.drop_table("event_log")
