"""reach generation: a marker that moves whenever who an area reaches may have changed (issue 21)

Revision ID: 0016
Revises: 0015

Why: the compose page's reach must answer in 250 ms for a million residents, which one query per preview cannot
(0.8-2.2 s); each process therefore keeps an in-memory index of the residents' positions, languages and reachable
contacts (``alertsvc.alerts.reach_index``) and may use it only while it is current. ``reach_generation`` is the
marker that says so: ``(max(epoch), sum(counter))`` over its rows. Row 1 is seeded with a random ``epoch`` (a
database recreated at the same URL never looks like the old one); triggers add to a ``counter`` in the same
transaction as any change to what the reach reads: a resident added, deleted, moved, switching language or
test-recipient flag; a contact added, deleted, confirmed, opted out or moved. Every commit of such a change
therefore moves the sum, and a reader sees exactly the changes its snapshot sees. Triggers rather than calls in
``residents/``: every writer is caught (the API, the console, imports, SMS STOP, the benchmark's bulk loader, a
person at the SQL prompt), so the index cannot miss a change because a code path forgot to say so.

* SQLite: row-level ``AFTER`` triggers (SQLite has no statement triggers), ``UPDATE OF`` the read columns and
  ``WHEN`` a value really changed, adding to row 1. Writers are serialised on SQLite already: no contention.
* PostgreSQL: statement-level triggers (one bump a statement however many rows, and on ``TRUNCATE``) that add to
  a row of the session's own (``id = -pg_backend_pid()``, upserted): a backend runs one transaction at a time, so
  no two transactions ever wait for each other's bump, and one row for everyone could deadlock a transaction
  holding it against one holding a resident it needs. The rows are as many as backends that ever changed
  residents (process ids are reused), a few hundred at most, summed in well under a millisecond.
New table only; ``downgrade`` drops it and the triggers.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

RESIDENT_COLUMNS = ("lat", "lon", "language", "test_recipient")
CONTACT_COLUMNS = ("resident_id", "channel", "confirmed_at", "opted_out_at")
SQLITE_BUMP = "UPDATE reach_generation SET counter = counter + 1 WHERE id = 1"
POSTGRES_BUMP = (
    "INSERT INTO reach_generation (id, epoch, counter) VALUES (-pg_backend_pid(), '', 1) "
    "ON CONFLICT (id) DO UPDATE SET counter = reach_generation.counter + 1"
)


def _sqlite_triggers() -> list[tuple[str, str]]:
    statements = []
    for table, columns in (("residents", RESIDENT_COLUMNS), ("contacts", CONTACT_COLUMNS)):
        changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in columns)
        for name, event in (
            (f"reach_{table}_insert", f"INSERT ON {table}"),
            (f"reach_{table}_delete", f"DELETE ON {table}"),
            (f"reach_{table}_update", f"UPDATE OF {', '.join(columns)} ON {table} FOR EACH ROW WHEN {changed}"),
        ):
            statements.append((name, f"CREATE TRIGGER {name} AFTER {event} BEGIN {SQLITE_BUMP}; END"))
    return statements


POSTGRES_FUNCTION = (
    "CREATE FUNCTION reach_generation_bump() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN {POSTGRES_BUMP}; RETURN NULL; END $$"
)


def _postgres_triggers() -> list[tuple[str, str, str]]:
    statements = []
    for table, columns in (("residents", RESIDENT_COLUMNS), ("contacts", CONTACT_COLUMNS)):
        events = f"INSERT OR DELETE OR TRUNCATE OR UPDATE OF {', '.join(columns)}"
        name = f"reach_{table}_change"
        statements.append(
            (
                name,
                table,
                f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH STATEMENT "
                "EXECUTE FUNCTION reach_generation_bump()",
            )
        )
    return statements


def upgrade() -> None:
    op.create_table(
        "reach_generation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
    )
    op.execute(
        sa.text("INSERT INTO reach_generation (id, epoch, counter) VALUES (1, :epoch, 0)").bindparams(
            epoch=uuid.uuid4().hex
        )
    )
    if op.get_bind().dialect.name == "sqlite":
        for _, statement in _sqlite_triggers():
            op.execute(statement)
    else:
        op.execute(POSTGRES_FUNCTION)
        for _, _, statement in _postgres_triggers():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _ in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name, table, _ in _postgres_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS reach_generation_bump()")
    op.drop_table("reach_generation")
