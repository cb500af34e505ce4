"""Initial schema: reads, users, API tokens, webhooks, usage.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "reads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.String(32)),
        sa.Column("protocol", sa.String(32), nullable=False),
        sa.Column("source", sa.String(128)),
        sa.Column("source_key", sa.String(255)),
        sa.Column("plate", sa.String(32), nullable=False),
        sa.Column("plate_raw", sa.String(64), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("dscore", sa.Float),
        sa.Column("box", sa.JSON),
        sa.Column("region", sa.String(16)),
        sa.Column("region_score", sa.Float),
        sa.Column("vehicle_type", sa.String(32)),
        sa.Column("vehicle_score", sa.Float),
        sa.Column("vehicle_box", sa.JSON),
        sa.Column("candidates", sa.JSON),
        sa.Column("direction", sa.String(16)),
        sa.Column("first_seen", tz, nullable=False),
        sa.Column("last_seen", tz),
        sa.Column("received_at", tz, nullable=False),
        sa.Column("image_full", sa.String(255)),
        sa.Column("image_plate", sa.String(255)),
        sa.Column("raw", sa.JSON),
    )
    op.create_index("ix_reads_plate_first_seen", "reads", ["plate", "first_seen"])
    op.create_index("ix_reads_first_seen", "reads", ["first_seen"])
    op.create_index("ix_reads_event", "reads", ["event_id"])
    op.create_index("ux_reads_source_key", "reads", ["protocol", "source_key"], unique=True)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("rights", sa.JSON),
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("revoked_at", tz),
        sa.Column("last_used_at", tz),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("with_image", sa.Boolean, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "usage",
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("calls", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("usage", "webhooks", "api_tokens", "users", "reads"):
        op.drop_table(table)
