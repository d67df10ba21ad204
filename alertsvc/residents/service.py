"""Storing residents and their contacts in bulk: a thousand rows in a handful of statements.

Rules (the consent rules are the reason this module exists rather than a plain upsert):

* ``ref`` is the caller's id: a known ref updates that resident, only in the fields the row gives.
* Contacts written here count as **confirmed**: they come from a key allowed to write residents, which
  vouches for them (the double opt-in of the subscription pages is for residents signing themselves up).
* **Opt-outs are consent records.** Nothing here clears ``opted_out_at``, deletes an opted-out contact, or
  turns an opted-out address back on; every UPDATE and DELETE carries ``opted_out_at IS NULL`` as a guard, so
  a STOP that lands between our read and our write still wins.
* A new address on a channel **replaces** the resident's current (not opted-out) contact on that channel.
  The contact row is re-addressed in place, so the resident's delivery history stays attached to it; any
  further active contacts on that channel are removed.
* An address held by **another** resident refuses the whole row (without quoting the address). An address
  held by a deleted resident's tombstone (``residents.removal``) is taken over together with its opt-out.
* A refused row writes nothing; every other row lands. Rows are checked before anything is written; should a
  concurrent writer still make a statement fail, the batch is rolled back and retried one row at a time.

Each batch is one transaction with one audit row (counts only: never an address).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, delete, exists, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.clock import utcnow
from alertsvc.residents.validation import CHANNELS, TOMBSTONE_PREFIX, ResidentInput, RowProblem
from alertsvc.security.audit import record
from alertsvc.store.db import is_postgresql, transaction
from alertsvc.store.models import ConsentEvent, Contact, Resident

__all__ = ["BATCH_SIZE", "NumberedRow", "UpsertResult", "upsert_residents"]

BATCH_SIZE = 1000
"""Rows per transaction: large enough to amortise round trips, small enough to keep locks short."""

RESIDENTS = cast(Table, Resident.__table__)
CONTACTS = cast(Table, Contact.__table__)
CONSENT = cast(Table, ConsentEvent.__table__)
_RESIDENT_COLUMNS = ("language", "categories", "min_severity", "test_recipient", "quiet_start", "quiet_end",
                     "timezone", "lat", "lon")  # fmt: skip


@dataclass(frozen=True, slots=True)
class NumberedRow:
    """A validated row and where it came from (its 1-based line, for the report)."""

    line: int
    resident: ResidentInput


@dataclass(slots=True)
class UpsertResult:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, RowProblem]] = field(default_factory=list)

    def add(self, other: UpsertResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.rejected.extend(other.rejected)


@dataclass(frozen=True, slots=True)
class _Held:
    """A stored contact, as far as the rules need it."""

    id: int
    resident_id: int
    channel: str
    address: str
    confirmed: bool
    opted_out: bool
    tombstoned: bool = False
    """Held by a deleted resident's tombstone (only ever an opted-out contact): free to be taken over."""


@dataclass(slots=True)
class _Plan:
    """The contact changes of one run, applied in an order that never trips the (channel, address) key."""

    delete: list[int] = field(default_factory=list)
    readdress: list[tuple[int, str]] = field(default_factory=list)
    void_links: set[int] = field(default_factory=set)
    """Residents whose current contact on a channel is replaced or removed: their manage links stop working."""
    move: list[tuple[int, int]] = field(default_factory=list)
    confirm: list[int] = field(default_factory=list)
    insert: list[tuple[int, str, str]] = field(default_factory=list)
    emptied_tombstones: set[int] = field(default_factory=set)


async def upsert_residents(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[NumberedRow], actor: str
) -> UpsertResult:
    """Store ``rows`` (created or updated by ``ref``), one transaction per :data:`BATCH_SIZE` rows."""
    total = UpsertResult()
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        try:
            total.add(await _store_in_transaction(sessions, batch, actor))
        except IntegrityError:
            total.add(await _store_one_by_one(sessions, batch, actor))
    return total


async def _store_in_transaction(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[NumberedRow], actor: str
) -> UpsertResult:
    async with transaction(sessions) as session:
        if is_postgresql(session):
            # asyncpg prepares every statement; after five runs PostgreSQL may switch to a generic plan made
            # with the statistics of the moment, and a table that an import is filling still looks empty
            # then (autovacuum has not analysed it yet): a sequential scan per lookup, slower with every
            # batch. Planning each lookup afresh costs a fraction of a millisecond.
            await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        result = UpsertResult()
        for run in _conflict_free_runs(rows):
            result.add(await _store_run(session, run))
        stored = result.created + result.updated
        if stored:
            subject = rows[0].resident.ref[:64] if len(rows) == 1 else None
            detail = {"created": result.created, "updated": result.updated, "rejected": len(result.rejected)}
            await record(session, actor, "residents.upserted", "resident", subject, detail)
        return result


async def _store_one_by_one(
    sessions: async_sessionmaker[AsyncSession], rows: Sequence[NumberedRow], actor: str
) -> UpsertResult:
    """The slow path after a concurrent write broke a batch: each row alone, so only the clashing one fails."""
    result = UpsertResult()
    for row in rows:
        try:
            result.add(await _store_in_transaction(sessions, [row], actor))
        except IntegrityError:
            reason = "changed by another request at the same time; import this row again"
            result.rejected.append((row.line, RowProblem("row", reason)))
    return result


def _conflict_free_runs(rows: Sequence[NumberedRow]) -> Iterator[list[NumberedRow]]:
    """Consecutive runs in which no ref and no address repeats, so one run can be written set-wise and still
    mean the same as writing its rows one after another (a later row for a ref must see the earlier one)."""
    run: list[NumberedRow] = []
    refs: set[str] = set()
    addresses: set[tuple[str, str]] = set()
    for row in rows:
        contacts = set(row.resident.contacts())
        if row.resident.ref in refs or contacts & addresses:
            yield run
            run, refs, addresses = [], set(), set()
        run.append(row)
        refs.add(row.resident.ref)
        addresses |= contacts
    if run:
        yield run


async def _store_run(session: AsyncSession, rows: list[NumberedRow]) -> UpsertResult:
    now = utcnow()
    result = UpsertResult()
    existing = await _resident_ids(session, [row.resident.ref for row in rows])
    held = await _contacts_by_address(session, {pair for row in rows for pair in row.resident.contacts()})

    accepted: list[ResidentInput] = []
    for row in rows:
        owner = existing.get(row.resident.ref)
        clash = next(
            (
                channel
                for channel, address in row.resident.contacts()
                if (found := held.get((channel, address))) is not None
                and found.resident_id != owner
                and not found.tombstoned
            ),
            None,
        )
        if clash is not None:
            reason = f"this {clash} address is already registered to another resident"
            result.rejected.append((row.line, RowProblem(clash, reason)))
            continue
        accepted.append(row.resident)
        if owner is None:
            result.created += 1
        else:
            result.updated += 1
    if not accepted:
        return result

    await _upsert_residents(session, accepted, now)
    ids = await _resident_ids(session, [resident.ref for resident in accepted])
    current = await _contacts_of(session, [existing[r.ref] for r in accepted if r.ref in existing])
    plan = _plan_contacts(accepted, ids, held, current)
    await _apply(session, plan, now)
    return result


def _one_of(session: AsyncSession, column: ColumnElement[Any], values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``: one parameter instead of a thousand to bind,
    and one statement text (so one prepared statement) whatever the batch size."""
    if is_postgresql(session):
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(list(values))


async def _resident_ids(session: AsyncSession, refs: Sequence[str]) -> dict[str, int]:
    if not refs:
        return {}
    rows = await session.execute(select(RESIDENTS.c.ref, RESIDENTS.c.id).where(_one_of(session, RESIDENTS.c.ref, refs)))
    return {str(ref): int(resident_id) for ref, resident_id in rows}


_HELD_COLUMNS = (
    CONTACTS.c.id,
    CONTACTS.c.resident_id,
    CONTACTS.c.channel,
    CONTACTS.c.address,
    CONTACTS.c.confirmed_at,
    CONTACTS.c.opted_out_at,
)


def _held(row: Sequence[Any]) -> _Held:
    contact_id, resident_id, channel, address, confirmed_at, opted_out_at = row
    return _Held(
        id=int(contact_id),
        resident_id=int(resident_id),
        channel=str(channel),
        address=str(address),
        confirmed=confirmed_at is not None,
        opted_out=opted_out_at is not None,
    )


async def _contacts_by_address(session: AsyncSession, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], _Held]:
    """Who holds each of these addresses now: one query per channel on the unique key, then one on the
    primary key for the holders' refs. (A join would let PostgreSQL, planning on a young table's statistics,
    scan every resident for every batch.)"""
    found: list[_Held] = []
    for channel in CHANNELS:
        addresses = sorted(address for c, address in pairs if c == channel)
        if addresses:
            rows = await session.execute(
                select(*_HELD_COLUMNS).where(
                    CONTACTS.c.channel == channel, _one_of(session, CONTACTS.c.address, addresses)
                )
            )
            found.extend(_held(tuple(row)) for row in rows)
    holders = sorted({held.resident_id for held in found})
    tombstones: set[int] = set()
    if holders:
        refs = await session.execute(
            select(RESIDENTS.c.id, RESIDENTS.c.ref).where(_one_of(session, RESIDENTS.c.id, holders))
        )
        tombstones = {int(rid) for rid, ref in refs if str(ref).startswith(TOMBSTONE_PREFIX)}
    return {(held.channel, held.address): replace(held, tombstoned=held.resident_id in tombstones) for held in found}


async def _contacts_of(session: AsyncSession, resident_ids: Sequence[int]) -> dict[tuple[int, str], list[_Held]]:
    """The current contacts of these residents, by (resident, channel), oldest first."""
    grouped: dict[tuple[int, str], list[_Held]] = {}
    if not resident_ids:
        return grouped
    rows = await session.execute(
        select(*_HELD_COLUMNS).where(_one_of(session, CONTACTS.c.resident_id, resident_ids)).order_by(CONTACTS.c.id)
    )
    for row in rows:
        held = _held(tuple(row))
        grouped.setdefault((held.resident_id, held.channel), []).append(held)
    return grouped


def _upsert_statement(dialect: str, present: frozenset[str]) -> Any:
    """``INSERT ... ON CONFLICT (ref) DO UPDATE`` of the columns the rows gave, for this database."""
    insert = postgresql.insert(RESIDENTS) if dialect == "postgresql" else sqlite.insert(RESIDENTS)
    updates: dict[str, Any] = {name: insert.excluded[name] for name in _RESIDENT_COLUMNS if name in present}
    updates["updated_at"] = insert.excluded.updated_at
    return insert.on_conflict_do_update(index_elements=[RESIDENTS.c.ref], set_=updates)


def _resident_params(resident: ResidentInput, now: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {name: getattr(resident, name) for name in _RESIDENT_COLUMNS}
    params.update(ref=resident.ref, created_at=now, updated_at=now)
    return params


async def _upsert_residents(session: AsyncSession, residents: Sequence[ResidentInput], now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for resident in residents:
        groups.setdefault(resident.present, []).append(_resident_params(resident, now))
    for present, params in groups.items():
        await session.execute(_upsert_statement(dialect, present), params)


def _plan_contacts(
    residents: Iterable[ResidentInput],
    ids: dict[str, int],
    held: dict[tuple[str, str], _Held],
    current: dict[tuple[int, str], list[_Held]],
) -> _Plan:
    plan = _Plan()
    for resident in residents:
        resident_id = ids[resident.ref]
        for channel, address in resident.contacts():
            others = [c for c in current.get((resident_id, channel), []) if c.address != address and not c.opted_out]
            found = held.get((channel, address))
            if others:
                plan.void_links.add(resident_id)
            if found is None and others:
                plan.readdress.append((others[0].id, address))
                plan.delete.extend(c.id for c in others[1:])
                continue
            plan.delete.extend(c.id for c in others)
            if found is None:
                plan.insert.append((resident_id, channel, address))
            elif found.resident_id != resident_id:  # a tombstone's consent record: it follows its address
                plan.move.append((found.id, resident_id))
                plan.emptied_tombstones.add(found.resident_id)
            elif not found.opted_out and not found.confirmed:
                plan.confirm.append(found.id)
    return plan


async def _apply(session: AsyncSession, plan: _Plan, now: datetime) -> None:
    active = CONTACTS.c.opted_out_at.is_(None)
    if plan.void_links:  # whoever held the old address must not keep the way into the preferences
        await session.execute(
            update(RESIDENTS)
            .where(_one_of(session, RESIDENTS.c.id, sorted(plan.void_links)))
            .values(manage_link_epoch=RESIDENTS.c.manage_link_epoch + 1)
        )
    if plan.delete:
        await session.execute(delete(CONTACTS).where(_one_of(session, CONTACTS.c.id, plan.delete), active))
    if plan.readdress:
        await session.execute(
            update(CONTACTS)
            .where(CONTACTS.c.id == bindparam("contact_id"), active)
            .values(address=bindparam("new_address"), confirmed_at=bindparam("now")),
            [{"contact_id": cid, "new_address": address, "now": now} for cid, address in plan.readdress],
        )
    if plan.move:
        await session.execute(
            update(CONTACTS).where(CONTACTS.c.id == bindparam("contact_id")).values(resident_id=bindparam("new_owner")),
            [{"contact_id": cid, "new_owner": owner} for cid, owner in plan.move],
        )
    if plan.confirm:
        await session.execute(
            update(CONTACTS)
            .where(_one_of(session, CONTACTS.c.id, plan.confirm), active, CONTACTS.c.confirmed_at.is_(None))
            .values(confirmed_at=now)
        )
    consented: list[tuple[int, str]] = []
    if plan.insert:
        inserted = await session.execute(
            CONTACTS.insert().returning(CONTACTS.c.id, CONTACTS.c.channel),
            [
                {"resident_id": rid, "channel": channel, "address": address, "confirmed_at": now, "created_at": now}
                for rid, channel, address in plan.insert
            ],
        )
        consented.extend((int(row[0]), str(row[1])) for row in inserted)
    touched = [*plan.confirm, *(cid for cid, _address in plan.readdress)]
    if touched:
        rows = await session.execute(
            select(CONTACTS.c.id, CONTACTS.c.channel).where(_one_of(session, CONTACTS.c.id, touched))
        )
        consented.extend((int(row[0]), str(row[1])) for row in rows)
    if consented:
        # The authorised importer vouches for these contacts; the record says so, and when.
        await session.execute(
            CONSENT.insert(),
            [
                {
                    "contact_id": cid,
                    "channel": channel or "unknown",
                    "action": "opt_in",
                    "method": "import",
                    "source": "authorised API key or CLI",
                    "at": now,
                }
                for cid, channel in consented
            ],
        )
    if plan.emptied_tombstones:
        has_contacts = exists().where(CONTACTS.c.resident_id == RESIDENTS.c.id)
        await session.execute(
            delete(RESIDENTS).where(
                _one_of(session, RESIDENTS.c.id, plan.emptied_tombstones),
                RESIDENTS.c.ref.startswith(TOMBSTONE_PREFIX, autoescape=True),
                ~has_contacts,
            )
        )
