"""``residents_in_boxes`` against a plain SQL query, on both databases, boundary values included.

SQLite reads the rows on aiosqlite's own thread straight into numpy (not through SQLAlchemy's streaming), and
PostgreSQL through packed ``string_agg`` rows, one per latitude band: both must give exactly the residents
``lat BETWEEN .. AND lon BETWEEN`` selects (inclusive bounds, a resident in two overlapping boxes once), with
their positions bit for bit.
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.geo.targeting import BetweenParams
from alertsvc.store.audience import (
    BAND_CUTS,
    Band,
    Candidates,
    chunk_bounds,
    latitude_bands,
    referenced_alert_ids,
    residents_in_boxes,
)
from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.migrate import upgrade
from alertsvc.store.models import Alert, Resident

BOXES = (
    BetweenParams(lat_low=45.40, lat_high=45.60, lon_low=-73.70, lon_high=-73.50),
    BetweenParams(lat_low=45.55, lat_high=45.70, lon_low=-73.55, lon_high=-73.40),  # overlaps the first
    BetweenParams(lat_low=-0.25, lat_high=0.25, lon_low=179.5, lon_high=180.0),  # far away, on the antimeridian
)


def _positions() -> list[tuple[float, float]]:
    """Points exactly on every edge and corner, one ulp either side of them, and random ones around."""
    points: list[tuple[float, float]] = []
    for box in BOXES:
        mid_lat, mid_lon = (box.lat_low + box.lat_high) / 2, (box.lon_low + box.lon_high) / 2
        for lat_edge in (box.lat_low, box.lat_high):
            for lat in (math.nextafter(lat_edge, -math.inf), lat_edge, math.nextafter(lat_edge, math.inf)):
                points.append((lat, mid_lon))
                for lon_edge in (box.lon_low, box.lon_high):
                    points.append((lat, lon_edge))
        for lon_edge in (box.lon_low, box.lon_high):
            for lon in (math.nextafter(lon_edge, -math.inf), lon_edge, math.nextafter(lon_edge, math.inf)):
                points.append((mid_lat, lon))
    rng = random.Random(7)
    for _ in range(300):
        points.append((rng.uniform(45.3, 45.8), rng.uniform(-73.8, -73.3)))
    for _ in range(40):
        points.append((rng.uniform(-0.5, 0.5), rng.uniform(179.0, 180.0)))
    return points


def _inside(lat: float, lon: float) -> bool:
    return any(b.lat_low <= lat <= b.lat_high and b.lon_low <= lon <= b.lon_high for b in BOXES)


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(database_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    try:
        async with sessions() as setup, setup.begin():
            setup.add_all(Resident(ref=f"r{i}", lat=lat, lon=lon) for i, (lat, lon) in enumerate(_positions()))
        async with sessions() as active:
            yield active
    finally:
        await engine.dispose()


async def _collect(session: AsyncSession, boxes: tuple[BetweenParams, ...], chunk: int) -> list[Candidates]:
    return [candidates async for candidates in residents_in_boxes(session, boxes, chunk=chunk)]


async def _plain(session: AsyncSession, boxes: tuple[BetweenParams, ...]) -> dict[int, tuple[float, float]]:
    condition = or_(
        *(and_(Resident.lat.between(b.lat_low, b.lat_high), Resident.lon.between(b.lon_low, b.lon_high)) for b in boxes)
    )
    rows = await session.execute(select(Resident.id, Resident.lat, Resident.lon).where(condition))
    return {int(rid): (float(lat), float(lon)) for rid, lat, lon in rows}


async def test_same_residents_as_a_plain_query_boundaries_included(session: AsyncSession) -> None:
    chunks = await _collect(session, BOXES, chunk=7)
    expected = await _plain(session, BOXES)
    stored = {
        int(r): (float(a), float(o))
        for r, a, o in await session.execute(select(Resident.id, Resident.lat, Resident.lon))
    }
    assert expected == {rid: pos for rid, pos in stored.items() if _inside(*pos)}  # the oracle itself
    assert any(pos[0] in (b.lat_low, b.lat_high) for pos in expected.values() for b in BOXES)  # edges are in it
    assert all(0 < c.ids.size <= 7 for c in chunks)
    for c in chunks:
        assert c.ids.dtype == np.int64 and c.lats.dtype == np.float64 and c.lons.dtype == np.float64
        assert c.ids.size == c.lats.size == c.lons.size
    ids = np.concatenate([c.ids for c in chunks]).tolist()
    lats = np.concatenate([c.lats for c in chunks]).tolist()
    lons = np.concatenate([c.lons for c in chunks]).tolist()
    assert len(ids) == len(set(ids)), "a resident in two overlapping boxes must come back once"
    assert dict(zip(ids, zip(lats, lons, strict=True), strict=True)) == expected


async def test_each_box_alone_and_chunk_sizes(session: AsyncSession) -> None:
    for box in BOXES:
        expected = await _plain(session, (box,))
        assert expected
        for chunk in (1, 5000):
            got = await _collect(session, (box,), chunk=chunk)
            assert sorted(np.concatenate([c.ids for c in got]).tolist()) == sorted(expected)


async def test_no_box_and_empty_box_yield_nothing(session: AsyncSession) -> None:
    assert await _collect(session, (), chunk=10) == []
    assert await _collect(session, (BetweenParams(10.0, 10.1, 10.0, 10.1),), chunk=10) == []


async def test_pending_residents_are_flushed_first_and_other_queries_may_interleave(session: AsyncSession) -> None:
    session.add(Resident(ref="pending", lat=BOXES[0].lat_high, lon=BOXES[0].lon_low))
    seen: list[int] = []
    async for c in residents_in_boxes(session, BOXES, chunk=50):
        seen.extend(c.ids.tolist())
        await session.execute(select(Resident.ref).where(Resident.id == int(c.ids[0])))  # as reach_of does
    pending = await session.scalar(select(Resident.id).where(Resident.ref == "pending"))
    assert pending in seen
    assert sorted(seen) == sorted(await _plain(session, BOXES))


async def test_sqlite_does_not_stream_through_sqlalchemy(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("the fast path is SQLite's")

    async def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("residents_in_boxes went through AsyncSession.stream on SQLite")

    monkeypatch.setattr(AsyncSession, "stream", refuse)
    assert await _collect(session, BOXES, chunk=100)


def _band_of(bands: list[Band], lat: float) -> list[int]:
    return [i for i, b in enumerate(bands) if b.start <= lat and (lat <= b.end if b.closed else lat < b.end)]


@settings(max_examples=300, deadline=None)
@given(
    low=st.floats(-90, 90),
    span=st.floats(0, 180),
    cuts=st.lists(st.floats(0, 1, exclude_min=True, exclude_max=True), max_size=6).map(sorted),
    fractions=st.lists(st.floats(0, 1), max_size=20),
)
def test_latitude_bands_put_every_latitude_in_exactly_one(
    low: float, span: float, cuts: list[float], fractions: list[float]
) -> None:
    high = min(90.0, low + span)
    bands = latitude_bands(low, high, cuts)
    assert 1 <= len(bands) <= len(cuts) + 1
    probes = [low, high, *(low + (high - low) * f for f in fractions)]
    for band in bands:  # each bound, and one ulp either side of it
        probes += [band.start, band.end, math.nextafter(band.end, -math.inf), math.nextafter(band.start, math.inf)]
    for lat in probes:
        if low <= lat <= high:
            assert len(_band_of(bands, lat)) == 1, (lat, bands)
    assert _band_of(bands, math.nextafter(low, -math.inf)) == []
    assert _band_of(bands, math.nextafter(high, math.inf)) == []


def test_the_first_chunk_is_the_small_one() -> None:
    assert chunk_bounds(12_000, 5000, 1000) == [(0, 1000), (1000, 6000), (6000, 11000), (11000, 12000)]
    assert chunk_bounds(500, 5000, 1000) == [(0, 500)]
    assert chunk_bounds(10, 3, 1000) == [(0, 3), (3, 6), (6, 9), (9, 10)]  # never larger than a chunk
    assert chunk_bounds(0, 5000) == []


async def test_residents_on_band_bounds_come_back_once(database_url: str) -> None:
    """PostgreSQL reads the prefilter band by band: residents exactly on a band's bound, or one ulp from it."""
    box = BetweenParams(lat_low=10.0, lat_high=20.0, lon_low=5.0, lon_high=6.0)
    bands = latitude_bands(box.lat_low, box.lat_high)  # the bands residents_in_boxes reads (one box: its range)
    assert len(bands) == len(BAND_CUTS) + 1 > 1
    lats = [lat for b in bands for lat in (b.start, b.end, math.nextafter(b.end, -math.inf))]
    lats += [math.nextafter(box.lat_low, -math.inf), math.nextafter(box.lat_high, math.inf)]  # outside
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as setup, setup.begin():
            setup.add_all(Resident(ref=f"b{i}", lat=lat, lon=5.5) for i, lat in enumerate(lats))
        async with sessions() as session:
            got = np.concatenate([c.ids for c in await _collect(session, (box,), chunk=3)]).tolist()
            expected = await _plain(session, (box,))
        assert len(got) == len(set(got)) and set(got) == set(expected)
        assert len(expected) == sum(1 for lat in lats if box.lat_low <= lat <= box.lat_high)
    finally:
        await engine.dispose()


async def test_references_find_alerts_stored_before_utc_was_served_as_minus_zero(database_url: str) -> None:
    """Alerts stored before CAP times were written with ``-00:00`` keep ``+00:00`` in ``sent_text``; a reference
    now always arrives in the canonical ``-00:00`` form and must still find them (and the new ones)."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        sent_at = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
        async with sessions() as setup, setup.begin():
            for alert_id, sent_text in (("old", "2024-05-01T10:00:00+00:00"), ("new", "2024-05-01T10:00:00-00:00")):
                setup.add(
                    Alert(
                        id=alert_id, sender="s@x", identifier=alert_id, sent_text=sent_text, sent_at=sent_at,
                        status="Actual", msg_type="Alert", state="sent", cap={}, submitted_by="test",
                    )
                )  # fmt: skip
        async with sessions() as session:
            keys = [("s@x", "old", "2024-05-01T10:00:00-00:00"), ("s@x", "new", "2024-05-01T10:00:00-00:00")]
            assert await referenced_alert_ids(session, keys) == ["old", "new"]
            assert await referenced_alert_ids(session, [("s@x", "old", "2024-05-01T11:00:00-00:00")]) == []
    finally:
        await engine.dispose()
