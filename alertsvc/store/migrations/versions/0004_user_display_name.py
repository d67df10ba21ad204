"""users.display_name: people are shown by name, not as ``user:1``

Revision ID: 0004
Revises: 0003

Why: lists, approvals, timelines and the audit log named console users by id; ``alertsvc users create --name``
and the admin page now store a display name. Nullable: users made before it fall back to their e-mail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("display_name")
