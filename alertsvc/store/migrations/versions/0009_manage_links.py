"""manage_links: resident manage links that expire and can be revoked (issue 17)

Revision ID: 0009
Revises: 0008

Why: a manage link (``/r/manage/{token}``) opens a resident's preferences and contacts without a password, so it
must not work for ever nor after the resident has said so. The token carries when it was made (it expires after
``ALERTSVC_MANAGE_LINK_DAYS``) and the resident's link epoch at that moment; ``residents.manage_link_epoch`` is
raised when the resident signs out of every link, unsubscribes a contact, or has a contact changed, and a token of
an older epoch is refused on every use. Existing residents start at 0.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manage_link_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("manage_link_epoch")
