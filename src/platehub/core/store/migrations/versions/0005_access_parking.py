"""Access lists and gate decisions, camera whitelist sync, parking lots and visits, alert webhooks.

The per-device `gate_default` (open | closed) becomes a gate policy: open → always, closed → never.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "access_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list", sa.String(8), nullable=False),  # allow | deny
        sa.Column("plate", sa.String(32), nullable=False),  # normalised
        sa.Column("plate_key", sa.String(32), nullable=False),  # look-alike canonical form of `plate`
        sa.Column("valid_from", tz),
        sa.Column("valid_until", tz),
        sa.Column("schedule", sa.JSON),  # weekly windows, site local time; NULL = always
        sa.Column("tag", sa.String(64)),  # group / tag
        sa.Column("comment", sa.Text),
        sa.Column("devices", sa.JSON),  # device codes the entry applies to; NULL = every device
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
        sa.UniqueConstraint("list", "plate", name="uq_access_list_plate"),
    )
    op.create_index("ix_access_plate", "access_entries", ["plate"])
    op.create_index("ix_access_plate_key", "access_entries", ["plate_key"])
    op.create_index("ix_access_tag", "access_entries", ["tag"])
    # change counter of the access lists (bumped by every edit, from any process): caches and the
    # camera whitelist sync compare it
    op.create_table(
        "access_version",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    op.bulk_insert(sa.table("access_version", sa.column("name", sa.String), sa.column("value", sa.Integer)),
                   [{"name": "lists", "value": 1}])
    op.create_table(
        "decisions",
        sa.Column("read_id", sa.String(32), primary_key=True),
        sa.Column("device", sa.String(128)),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),  # open | closed
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("list", sa.String(8)),
        sa.Column("entry_id", sa.Integer),
        sa.Column("entry_plate", sa.String(32)),
        sa.Column("distance", sa.Integer),
        sa.Column("alert", sa.String(16)),  # deny | unknown | NULL
        sa.Column("detail", sa.Text),
        sa.Column("at", tz, nullable=False),
    )
    op.create_index("ix_decisions_at", "decisions", ["at"])
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("gate_policy", sa.String(16)))
        batch.add_column(sa.Column("alert_unknown", sa.Boolean))
        batch.add_column(sa.Column("gate_device", sa.String(128)))  # the all-in-one camera that opens its gate
        batch.add_column(sa.Column("lot_entrance", sa.Integer))
        batch.add_column(sa.Column("lot_exit", sa.Integer))
    op.execute("UPDATE devices SET gate_policy = 'always' WHERE gate_default = 'open'")
    op.execute("UPDATE devices SET gate_policy = 'never' WHERE gate_default = 'closed'")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("gate_default")
    # what each all-in-one camera is known to hold in its own whitelist
    op.create_table(
        "camera_lists",
        sa.Column("device", sa.String(128), primary_key=True),
        sa.Column("plate", sa.String(32), primary_key=True),
        sa.Column("need_alarm", sa.Integer, nullable=False),
        sa.Column("enable_time", sa.String(19)),
        sa.Column("overdue_time", sa.String(19)),
        sa.Column("synced_at", tz, nullable=False),
    )
    op.create_table(
        "camera_sync",
        sa.Column("device", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),  # access_version the camera list was last found equal at
        sa.Column("last_batch", sa.JSON),  # the last white_list_operate sent, replayed after a lost contact
        sa.Column("last_batch_at", tz),
    )
    op.create_table(
        "parking_lots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),  # counter | group
        sa.Column("max_count", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("members", sa.JSON),  # group: counter ids
        sa.Column("created_at", tz, nullable=False),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lot_id", sa.Integer, nullable=False),
        sa.Column("plate", sa.String(32), nullable=False),  # the entry's plate (the exit's when exit-only)
        sa.Column("status", sa.String(12), nullable=False),  # open | closed | exit_only
        sa.Column("entry_read", sa.String(32)),
        sa.Column("exit_read", sa.String(32)),
        sa.Column("exit_plate", sa.String(32)),
        sa.Column("distance", sa.Integer),  # edits between the entry's and the exit's plate
        sa.Column("entered_at", tz),
        sa.Column("exited_at", tz),
    )
    op.create_index("ix_visits_lot_status_plate", "visits", ["lot_id", "status", "plate"])
    op.create_index("ix_visits_entered", "visits", ["entered_at"])
    op.create_index("ix_visits_exited", "visits", ["exited_at"])
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("events", sa.String(16)))  # recognition (default) | alert


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("events")
    for table in ("visits", "parking_lots", "camera_sync", "camera_lists", "decisions", "access_version",
                  "access_entries"):
        op.drop_table(table)
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("gate_default", sa.String(8)))
        batch.drop_column("lot_exit")
        batch.drop_column("lot_entrance")
        batch.drop_column("gate_device")
        batch.drop_column("alert_unknown")
        batch.drop_column("gate_policy")
