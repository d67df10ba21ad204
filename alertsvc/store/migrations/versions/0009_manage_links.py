"""manage_links: resident manage links that expire and can be revoked (issue 17)

Revision ID: 0009
Revises: 0008

Why: reserved for resident manage links that expire and can be revoked (issue 17); filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
