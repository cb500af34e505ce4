"""Device address pinning (issue 11): the network address a device's messages come from, the address it
is pinned to, a hash of its shared secret (the all-in-one registration's password), and the address
each command was delivered to.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("peer_address", sa.String(64)))
        batch.add_column(sa.Column("pinned_address", sa.String(64)))
        batch.add_column(sa.Column("secret_hash", sa.String(160)))
    with op.batch_alter_table("commands") as batch:
        batch.add_column(sa.Column("delivered_to", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.drop_column("delivered_to")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("secret_hash")
        batch.drop_column("pinned_address")
        batch.drop_column("peer_address")
