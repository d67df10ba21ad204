"""tips: anonymous tips from residents (issue 22)

Revision ID: 0011
Revises: 0010

Why: reserved for anonymous tips from residents (issue 22); filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
