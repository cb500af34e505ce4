"""Devices (LPR sources) and the per-device command queue.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "devices",
        sa.Column("code", sa.String(128), primary_key=True),
        sa.Column("protocol", sa.String(32), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("address", sa.String(255)),
        sa.Column("channels", sa.Integer),
        sa.Column("heartbeat", sa.Boolean, nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("gate_default", sa.String(8)),
        sa.Column("meta", sa.JSON),
        sa.Column("first_seen", tz, nullable=False),
        sa.Column("last_seen", tz, nullable=False),
    )
    op.create_table(
        "commands",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("via", sa.String(16)),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("delivered_at", tz),
    )
    op.create_index("ix_commands_device_status", "commands", ["device", "status", "id"])


def downgrade() -> None:
    op.drop_table("commands")
    op.drop_table("devices")
