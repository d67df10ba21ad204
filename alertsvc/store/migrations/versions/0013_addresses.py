"""addresses: an address gazetteer the console searches (issue 21)

Revision ID: 0013
Revises: 0012

Why: reserved for an address gazetteer the console searches (issue 21); filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
