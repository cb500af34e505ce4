"""Recording per video channel (issue 12): `off`, `continuous` or `event` (video/recorder.py writes the camera's
stream, as it is, into fragmented MP4 segments under the data directory; the files are the record).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("recording", sa.String(16), nullable=False, server_default="off"))


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("recording")
