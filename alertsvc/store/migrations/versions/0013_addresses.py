"""addresses: an address gazetteer the console searches (issue 21)

Revision ID: 0013
Revises: 0012

Why: a dispatcher told "a fire at 12 River Road" must find it on the map by typing, not by reading coordinates off
a street sign. ``alertsvc addresses import`` loads address points (the OpenAddresses column layout) into
``addresses``; ``source_key`` (the file's HASH, else its ID, else a digest of the row) is unique so importing the
same file again replaces rows instead of adding them. The console's search matches words by prefix ("12 riv"), so
each database gets a word index of its own over ``search_text`` (the words already folded to lower case without
accents, one space between them, so both indexes see the same words):

* SQLite: an FTS5 table ``addresses_fts`` with ``addresses`` as its external content, kept in step by triggers
  (so the owner module writes one table and the index cannot drift from it);
* PostgreSQL: a GIN index on ``to_tsvector('simple', search_text)`` (built in, no extension to install; the
  ``simple`` configuration neither stems nor drops words, so "12" and "St" stay searchable), queried with
  ``to_tsquery`` prefix terms (``riv:*``).
New tables only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE addresses_fts USING fts5("
    "search_text, content='addresses', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER addresses_fts_insert AFTER INSERT ON addresses BEGIN "
    "INSERT INTO addresses_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER addresses_fts_delete AFTER DELETE ON addresses BEGIN "
    "INSERT INTO addresses_fts(addresses_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER addresses_fts_update AFTER UPDATE ON addresses BEGIN "
    "INSERT INTO addresses_fts(addresses_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO addresses_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
POSTGRES_INDEX = "CREATE INDEX ix_addresses_search ON addresses USING gin (to_tsvector('simple', search_text))"


def upgrade() -> None:
    op.create_table(
        "addresses",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("source_key", sa.String(length=80), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=False),
        sa.Column("district", sa.String(length=120), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=False),
        sa.Column("postcode", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=400), nullable=False),
        sa.Column("search_text", sa.String(length=700), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source_key", name="uq_addresses_source_key"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_INDEX:
            op.execute(statement)
    else:
        op.execute(POSTGRES_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("addresses_fts_insert", "addresses_fts_delete", "addresses_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS addresses_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_addresses_search")
    op.drop_table("addresses")
