"""help_handled: need-help answers marked handled by a named staff member (issue 20)

Revision ID: 0012
Revises: 0011

Why: reserved for need-help answers marked handled by a named staff member (issue 20); filled in by the change that needs it.
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the revision number is reserved so parallel changes keep one linear history."""


def downgrade() -> None:
    """Nothing yet (see :func:`upgrade`)."""
