"""users.session_epoch: signing out, a new password, a new role or deactivation ends every console session at once

Revision ID: 0007
Revises: 0006

Why: console sessions live in a signed cookie, which nothing could end before it expired; a copied cookie kept
working after its owner signed out. Each cookie now carries the user's epoch at sign-in, and a request whose
epoch is not the user's current one is signed out. Signing out, changing the password or the role, and
deactivating move the epoch on (``alertsvc.security.users``). Existing users start at 0, as do their cookies
(which carried no epoch), so an upgrade signs nobody out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
