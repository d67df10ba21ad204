"""partial indexes on deliveries: pending rows by age, provider ids only where set

Revision ID: 0003
Revises: 0002

Why: a delivery row is written three times (planned, claimed, sent), and every write touched every index of the
table. Two indexes only ever answer questions about some rows:

* the sweeper looks for pending (``queued``/``sending``) rows by age: ``(state, updated_at)`` becomes
  ``(updated_at) WHERE state IN ('queued', 'sending')``, so a row leaves it once it is final;
* status callbacks look rows up by provider id, which is NULL until the row is sent: ``(provider_id)`` becomes
  ``WHERE provider_id IS NOT NULL``.

It also fixes a plan: SQLite answered the claim (``id IN (...) AND state = ?``) from ``(state, updated_at)``,
walking every queued row of every alert for each batch of 500 instead of looking 500 ids up.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PENDING = "state IN ('queued', 'sending')"
SENT = "provider_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_state_updated")
        batch_op.drop_index("ix_deliveries_provider_id")
        batch_op.create_index(
            "ix_deliveries_pending_updated",
            ["updated_at"],
            unique=False,
            sqlite_where=sa.text(PENDING),
            postgresql_where=sa.text(PENDING),
        )
        batch_op.create_index(
            "ix_deliveries_provider_id",
            ["provider_id"],
            unique=False,
            sqlite_where=sa.text(SENT),
            postgresql_where=sa.text(SENT),
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_provider_id")
        batch_op.drop_index("ix_deliveries_pending_updated")
        batch_op.create_index("ix_deliveries_provider_id", ["provider_id"], unique=False)
        batch_op.create_index("ix_deliveries_state_updated", ["state", "updated_at"], unique=False)
