"""Video channels (issue 12): cameras' video streams (RTSP, HTTP MJPEG) and video files that platehub
reads plates from itself; one row per channel with its sampling and recognition settings.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tz = sa.DateTime(timezone=True)
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),  # also the reads' source (device code)
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("sample_rate", sa.Float, nullable=False),  # frames read a second
        sa.Column("mode", sa.String(16), nullable=False),  # the engine mode: fast | regular | redaction
        sa.Column("zones", sa.JSON),  # polygons, 8K logical coordinates
        sa.Column("masks", sa.JSON),
        sa.Column("min_plate_width", sa.Integer, nullable=False),  # pixels
        sa.Column("text_formats", sa.JSON),  # regular expressions
        sa.Column("direction", sa.String(8), nullable=False),  # any | in | out
        sa.Column("created_at", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channels")
