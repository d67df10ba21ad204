"""The address gazetteer: importing address points from a CSV and finding them by the words of an address.

The owner of the ``addresses`` table. A dispatcher told "12 River Road" types it into the compose page and the map
centres there; the points come from ``alertsvc addresses import FILE`` (the OpenAddresses layout, read by
:mod:`alertsvc.residents.address_rows`).

Importing streams: :data:`BATCH_SIZE` good rows at a time are written in one transaction, as an upsert on
``source_key`` (HASH, else ID, else a digest of the row), so a second import of the same file replaces its rows and
adds none, and an import cut short keeps the batches it committed. Memory holds one batch and the first
:data:`KEPT_PROBLEMS` bad rows, whatever the file's size.

Searching matches every word of the query as the prefix of a word of the address ("12 riv" finds "12 River Road"),
through each database's own word index (migration 0013): SQLite FTS5 (``"12"* "riv"*``) or PostgreSQL's
``to_tsvector('simple', …) @@ to_tsquery('simple', '12:* & riv:*')`` on a GIN index. The query's words are folded
like the stored ones and reduced to letters and digits, so no query syntax of either database can be written into
them. An address whose house number is exactly the first word comes first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.residents.address_rows import AddressRow, BadRow, fold_words, read_rows
from alertsvc.runtime import Runtime
from alertsvc.store.db import transaction
from alertsvc.store.models import Address

__all__ = [
    "BATCH_SIZE",
    "MAX_QUERY_LENGTH",
    "MAX_QUERY_WORDS",
    "AddressImport",
    "AddressMatch",
    "count_addresses",
    "import_addresses",
    "search_addresses",
]

BATCH_SIZE = 1000
"""Good rows written per transaction: large enough to import a city's hundred thousand points in seconds, small
enough that the embedded SQLite writer is not held for long."""
KEPT_PROBLEMS = 1000
"""Bad rows remembered with their line and reason; past this only counted."""
MAX_QUERY_LENGTH = 100
"""The longest search the console accepts (characters): an address, not a document."""
MAX_QUERY_WORDS = 8
"""Words of a query used; more only narrow a match nobody needs narrowed further."""
RESULTS = 10


@dataclass(slots=True)
class AddressImport:
    """What an import did: rows read, addresses added and replaced, and the rows refused with line and reason."""

    read: int = 0
    added: int = 0
    replaced: int = 0
    rejected: int = 0
    problems: list[BadRow] = field(default_factory=list)
    seconds: float = 0.0

    def refuse(self, bad: BadRow) -> None:
        self.rejected += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(bad)

    def summary(self) -> str:
        """One line for the command line."""
        return (
            f"addresses: {self.read} rows read, {self.added} added, {self.replaced} replaced, "
            f"{self.rejected} rejected in {self.seconds:.1f} s"
        )


@dataclass(frozen=True, slots=True)
class AddressMatch:
    label: str
    lat: float
    lon: float


def _values(row: AddressRow, imported_at: object) -> dict[str, object]:
    return {
        "source_key": row.source_key,
        "number": row.number,
        "street": row.street,
        "unit": row.unit,
        "city": row.city,
        "district": row.district,
        "region": row.region,
        "postcode": row.postcode,
        "label": row.label,
        "search_text": row.search_text,
        "lat": row.lat,
        "lon": row.lon,
        "imported_at": imported_at,
    }


async def _store_batch(session: AsyncSession, rows: Sequence[AddressRow]) -> tuple[int, int]:
    """Upsert ``rows`` on ``source_key``; (added, replaced). A key twice in one batch keeps its last row, as a
    second import would, and PostgreSQL refuses one statement touching a row twice."""
    by_key = {row.source_key: row for row in rows}
    existing = set(await session.scalars(select(Address.source_key).where(Address.source_key.in_(list(by_key)))))
    now = utcnow()
    values = [_values(row, now) for row in by_key.values()]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    statement = insert(Address).values(values)
    updated = {name: statement.excluded[name] for name in values[0] if name != "source_key"}
    await session.execute(statement.on_conflict_do_update(index_elements=["source_key"], set_=updated))
    replaced = len(existing)
    return len(by_key) - replaced, replaced


def _batches(path: Path, report: AddressImport) -> Iterator[list[AddressRow]]:
    """The file's good rows in batches; bad rows go to ``report`` as they are read."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        batch: list[AddressRow] = []
        for item in read_rows(stream):
            report.read += 1
            if isinstance(item, BadRow):
                report.refuse(item)
                continue
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
        if batch:
            yield batch


async def import_addresses(sessions: async_sessionmaker[AsyncSession], path: Path) -> AddressImport:
    """Import the gazetteer CSV at ``path``, one transaction a batch; what it did. Raises
    :class:`~alertsvc.errors.InvalidInput` (before writing anything) when the header lacks a required column."""
    report = AddressImport()
    started = time.monotonic()
    batches = _batches(path, report)
    done = object()
    while True:
        # Reading and checking a batch is CPU work: off the event loop, one batch at a time.
        batch = await asyncio.to_thread(next, batches, done)
        if batch is done:
            break
        assert isinstance(batch, list)
        async with transaction(sessions) as session:
            added, replaced = await _store_batch(session, batch)
        report.added += added
        report.replaced += replaced
    report.seconds = time.monotonic() - started
    return report


async def count_addresses(runtime: Runtime) -> int:
    """How many addresses the gazetteer holds."""
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Address)) or 0)


def _query_words(query: str) -> list[str]:
    return fold_words(query[:MAX_QUERY_LENGTH])[:MAX_QUERY_WORDS]


async def search_addresses(runtime: Runtime, query: str, limit: int = RESULTS) -> list[AddressMatch]:
    """Up to ``limit`` addresses having every word of ``query`` as the start of one of their words; none for a
    query with no letters or digits."""
    words = _query_words(query)
    if not words:
        return []
    first = words[0]
    async with runtime.sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            match = " ".join(f'"{word}"*' for word in words)
            statement = text(
                "SELECT a.label, a.lat, a.lon FROM addresses_fts f JOIN addresses a ON a.id = f.rowid "
                "WHERE addresses_fts MATCH :match "
                "ORDER BY CASE WHEN lower(a.number) = :first THEN 0 ELSE 1 END, length(a.label), a.label LIMIT :limit"
            ).bindparams(match=match, first=first, limit=limit)
        else:
            match = " & ".join(f"{word}:*" for word in words)
            statement = text(
                "SELECT label, lat, lon FROM addresses "
                "WHERE to_tsvector('simple', search_text) @@ to_tsquery('simple', :match) "
                "ORDER BY CASE WHEN lower(number) = :first THEN 0 ELSE 1 END, length(label), label LIMIT :limit"
            ).bindparams(match=match, first=first, limit=limit)
        rows = (await session.execute(statement)).all()
    return [AddressMatch(str(label), float(lat), float(lon)) for label, lat, lon in rows]
