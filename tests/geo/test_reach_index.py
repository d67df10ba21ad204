"""The reach index answers exactly what the database path answers, and never once the residents have changed.

Random residents and contacts, random areas (convex polygons, circles) and random changes of every kind the reach
reads (a resident added, deleted, moved, switching language or test flag; a contact added, confirmed, opted out,
deleted). After each change the index built before it must refuse to answer (the generation moved in the same
transaction), and once rebuilt it must agree with :func:`reach_from_database` (the fan-out's own stages) area by
area, figure by figure, for everyone and for the test recipients.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
import shapely
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.alerts.reach import current_index, indexed_reach, reach_from_database, reach_of
from alertsvc.alerts.reach_index import ReachArrays
from alertsvc.geo.areas import Area, CircleArea, LatLon, PolygonArea
from alertsvc.geo.targeting import TargetArea
from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.migrate import upgrade
from alertsvc.store.models import Contact, Resident
from alertsvc.store.resident_snapshot import read_generation

LANGUAGES = ("en", "fr", "fr-CA", "es", "EN-gb")
CHANNELS = ("sms", "email", "push")
NOW = datetime(2026, 12, 5, tzinfo=UTC)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        yield session_factory(engine)
    finally:
        await engine.dispose()


def a_point(rng: random.Random) -> tuple[float, float]:
    return rng.uniform(45.0, 45.2), rng.uniform(5.0, 5.3)


def an_area(rng: random.Random) -> Area:
    if rng.random() < 0.3:
        lat, lon = a_point(rng)
        return CircleArea(LatLon(lat, lon), rng.uniform(1.0, 12.0))
    hull = shapely.MultiPoint([a_point(rng)[::-1] for _ in range(7)]).convex_hull
    ring = [LatLon(y, x) for x, y in hull.exterior.coords]
    return PolygonArea(tuple(ring))


async def add_residents(session: AsyncSession, rng: random.Random, count: int, start: int) -> None:
    for n in range(start, start + count):
        lat, lon = a_point(rng)
        resident = Resident(
            ref=f"r{n}", lat=lat, lon=lon, language=rng.choice(LANGUAGES), test_recipient=rng.random() < 0.2
        )
        session.add(resident)
        await session.flush()
        for channel in CHANNELS:
            if rng.random() < 0.7:
                confirmed = NOW if rng.random() < 0.8 else None
                opted_out = NOW if rng.random() < 0.15 else None
                await session.execute(
                    insert(Contact).values(
                        resident_id=resident.id, channel=channel, address=f"{channel}-{n}",
                        confirmed_at=confirmed, opted_out_at=opted_out,
                    )
                )  # fmt: skip


async def some_id(session: AsyncSession, model: type[Resident] | type[Contact], rng: random.Random) -> int:
    ids = list(await session.scalars(select(model.id)))
    return rng.choice(ids)


Change = Callable[[AsyncSession, random.Random], Awaitable[None]]


async def add_one(session: AsyncSession, rng: random.Random) -> None:
    await add_residents(session, rng, 1, 10_000 + rng.randrange(10**6))


async def delete_one(session: AsyncSession, rng: random.Random) -> None:
    await session.execute(delete(Resident).where(Resident.id == await some_id(session, Resident, rng)))


async def move_one(session: AsyncSession, rng: random.Random) -> None:
    lat, lon = a_point(rng)
    await session.execute(
        update(Resident).where(Resident.id == await some_id(session, Resident, rng)).values(lat=lat, lon=lon)
    )


async def switch_language(session: AsyncSession, rng: random.Random) -> None:
    resident = await session.get(Resident, await some_id(session, Resident, rng))
    assert resident is not None
    resident.language = "de" if resident.language != "de" else "it"


async def toggle_test(session: AsyncSession, rng: random.Random) -> None:
    resident = await session.get(Resident, await some_id(session, Resident, rng))
    assert resident is not None
    resident.test_recipient = not resident.test_recipient


async def confirm_one(session: AsyncSession, rng: random.Random) -> None:
    """Confirm a contact waiting for it (or, when none waits, take a confirmation back, so something changes)."""
    waiting = list(await session.scalars(select(Contact).where(Contact.confirmed_at.is_(None))))
    if waiting:
        rng.choice(waiting).confirmed_at = NOW
    else:
        (await session.get_one(Contact, await some_id(session, Contact, rng))).confirmed_at = None


async def opt_out_one(session: AsyncSession, rng: random.Random) -> None:
    contact = rng.choice(list(await session.scalars(select(Contact).where(Contact.opted_out_at.is_(None)))))
    contact.opted_out_at = NOW


async def delete_contact(session: AsyncSession, rng: random.Random) -> None:
    await session.execute(delete(Contact).where(Contact.id == await some_id(session, Contact, rng)))


CHANGES: tuple[Change, ...] = (
    add_one, delete_one, move_one, switch_language, toggle_test, confirm_one, opt_out_one, delete_contact,
)  # fmt: skip


async def wait_for_index(sessions: Sessions, within: float = 30.0) -> ReachArrays:
    """The index once it is of the database's current generation (each look starts a rebuild if it is not)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with sessions() as session:
            arrays = await current_index(session)
        if arrays is not None:
            return arrays
        assert asyncio.get_running_loop().time() < deadline, "the reach index was not rebuilt in time"
        await asyncio.sleep(0.02)


async def assert_index_agrees(sessions: Sessions, rng: random.Random, areas: int = 6) -> None:
    for _ in range(areas):
        target = TargetArea([an_area(rng) for _ in range(rng.choice((1, 1, 2)))])
        async with sessions() as session:
            from_index = await indexed_reach(session, target)
            from_database = await reach_from_database(session, target)
        assert from_index is not None, "the index went stale with no change"
        assert from_index == from_database


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_index_matches_the_database_through_every_kind_of_change(sessions: Sessions, seed: int) -> None:
    rng = random.Random(seed)
    async with sessions() as session, session.begin():
        await add_residents(session, rng, 250, 0)
    await wait_for_index(sessions)
    await assert_index_agrees(sessions, rng)
    for round_ in range(2 * len(CHANGES)):
        change = CHANGES[round_ % len(CHANGES)]
        async with sessions() as session:
            before = await read_generation(session)
        async with sessions() as session, session.begin():
            await change(session, rng)
        async with sessions() as session:
            assert await read_generation(session) != before, f"{change.__name__} did not move the generation"
            target = TargetArea([an_area(rng)])
            assert await indexed_reach(session, target) is None, f"a stale index answered after {change.__name__}"
            assert await reach_of(session, list(target.areas)) == await reach_from_database(session, target)
        await wait_for_index(sessions)
        await assert_index_agrees(sessions, rng)


async def test_a_change_outside_what_the_reach_reads_keeps_the_index(sessions: Sessions) -> None:
    """Preferences the reach does not count (quiet hours, categories) leave the index current (SQLite's triggers
    fire only when a read column really changed; PostgreSQL's only on those columns)."""
    rng = random.Random(7)
    async with sessions() as session, session.begin():
        await add_residents(session, rng, 20, 0)
    built = await wait_for_index(sessions)
    async with sessions() as session, session.begin():
        await session.execute(update(Resident).values(quiet_start="22:00", categories="Fire"))
    assert await wait_for_index(sessions, within=0.5) is built


async def test_the_index_counts_by_primary_language_and_channel(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        for n, (language, test) in enumerate([("fr", False), ("fr-CA", True), ("en", False)]):
            resident = Resident(ref=f"p{n}", lat=45.1, lon=5.1, language=language, test_recipient=test)
            session.add(resident)
            await session.flush()
            session.add(Contact(resident_id=resident.id, channel="sms", address=f"+3360000000{n}", confirmed_at=NOW))
            session.add(Contact(resident_id=resident.id, channel="email", address=f"p{n}@x.example"))
    await wait_for_index(sessions)
    target = TargetArea([CircleArea(LatLon(45.1, 5.1), 1.0)])
    async with sessions() as session:
        found = await indexed_reach(session, target)
    assert found is not None
    assert (found.residents, found.languages) == (3, {"en": 1, "fr": 2})
    assert found.contacts == {"sms": 3, "email": 0, "push": 0}
    assert found.contacts_by_language["sms"] == {"en": 1, "fr": 2}
    assert found.tests is not None and (found.tests.residents, found.tests.contacts["sms"]) == (1, 1)


async def test_two_transactions_changing_residents_never_wait_for_each_others_bump(sessions: Sessions) -> None:
    """PostgreSQL: each backend adds to its own row of the marker, so a second writer is not held until the first
    commits (one row for all would be, and could deadlock against a resident row the first one needs)."""
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises its writers anyway")
    async with sessions() as session, session.begin():
        await add_residents(session, random.Random(5), 2, 0)
    async with sessions() as first, first.begin():
        await first.execute(update(Resident).where(Resident.ref == "r0").values(language="de"))
        async with sessions() as second, second.begin():
            async with asyncio.timeout(5):
                await second.execute(update(Resident).where(Resident.ref == "r1").values(language="it"))
        async with sessions() as third:
            committed = await read_generation(third)
    async with sessions() as session:
        both = await read_generation(session)
    assert committed is not None and both is not None and both[1] > committed[1]
