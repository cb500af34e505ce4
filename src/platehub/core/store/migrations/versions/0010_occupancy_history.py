"""Occupancy history (issue 13 part 4): each change of a parking counter (an entry, an exit, an
operator's correction) as a signed delta at the time the vehicle moved, and per lot the time since
which its changes are all stored (`history_since`: its creation, this migration for the lots that
exist already, moved forward by retention). See core/store/occupancy.py.

Revision ID: 0010
Revises: 0009
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "occupancy_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lot_id", sa.Integer, nullable=False),  # a counter (groups are summed from their members)
        sa.Column("at", tz, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),  # +1 entry, -1 exit, after - before for a correction
        sa.Column("cause", sa.String(8), nullable=False),  # entry | exit | manual
    )
    op.create_index("ix_occupancy_changes_lot_at", "occupancy_changes", ["lot_id", "at"])
    op.create_index("ix_occupancy_changes_at", "occupancy_changes", ["at"])
    with op.batch_alter_table("parking_lots") as batch:
        batch.add_column(sa.Column("history_since", tz))
    lots = sa.table("parking_lots", sa.column("history_since", tz))
    op.execute(lots.update().values(history_since=datetime.now(UTC)))  # no history before this migration


def downgrade() -> None:
    with op.batch_alter_table("parking_lots") as batch:
        batch.drop_column("history_since")
    op.drop_index("ix_occupancy_changes_at", "occupancy_changes")
    op.drop_index("ix_occupancy_changes_lot_at", "occupancy_changes")
    op.drop_table("occupancy_changes")
