"""Event log entries of webhook changes made before issue 11 hold the target URL in full, credentials
included: redact them (`core.redact.redact_url`), as new entries are.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from platehub.core.redact import redact_url

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    log = sa.table("event_log", sa.column("id", sa.Integer), sa.column("type", sa.String),
                   sa.column("details", sa.JSON))
    conn = op.get_bind()
    for row in conn.execute(sa.select(log.c.id, log.c.details).where(log.c.type == "settings")).all():
        details = row.details
        if not isinstance(details, dict) or details.get("setting") != "webhook":
            continue
        changed = False
        for side in ("before", "after"):
            value = details.get(side)
            if isinstance(value, dict) and isinstance(value.get("target"), str):
                redacted = redact_url(value["target"])
                if redacted != value["target"]:
                    details = {**details, side: {**value, "target": redacted}}
                    changed = True
        if changed:
            conn.execute(sa.update(log).where(log.c.id == row.id).values(details=details))


def downgrade() -> None:
    pass  # the secrets are gone for good
