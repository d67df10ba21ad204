"""Across the 180th meridian on both databases, through the path fan-out takes: CAP alert -> ``target_area`` ->
``bbox_filter_params`` -> ``residents_in_boxes`` (the SQL prefilter) -> ``TargetArea.contains``, compared with
the independent oracles; the targeting preview (``reach_of``) counts the same residents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alertsvc.alerts.reach import reach_of
from alertsvc.alerts.sending_rules import alert_areas, target_area
from alertsvc.cap import parse_cap_json
from alertsvc.geo.areas import (
    CircleArea,
    PolygonArea,
    circle_to_cap,
    parse_cap_circle,
    parse_cap_polygon,
    polygon_to_cap,
)
from alertsvc.geo.targeting import bbox_filter_params
from alertsvc.geo.zones import ZoneRegistry
from alertsvc.store.audience import residents_in_boxes
from alertsvc.store.db import create_engine, session_factory
from alertsvc.store.migrate import upgrade
from alertsvc.store.models import Resident

from .oracles import destination, haversine_km, point_in_polygon_on_globe
from .strategies import crossing_circles, crossing_edge_points, crossing_polygons, crossing_probe_points, ring_of

DB_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
BAND_KM = 1e-5  # circle answers are compared with the oracle only this far (1 cm) from the edge


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        yield session_factory(engine)
    finally:
        await engine.dispose()


def alert_with(polygons: list[PolygonArea], circles: list[CircleArea]) -> dict[str, Any]:
    """A CAP alert (JSON form) with these areas written as CAP text, as a sender would send them."""
    area = {"areaDesc": "Pacific", "polygon": [polygon_to_cap(p) for p in polygons]}
    area["circle"] = [circle_to_cap(c) for c in circles]
    return {
        "identifier": "DATE-LINE-1",
        "sender": "warnings@pacific.example",
        "sent": "2024-05-01T14:00:00-00:00",
        "status": "Actual",
        "msgType": "Alert",
        "scope": "Public",
        "info": [
            {"category": ["Geo"], "event": "Tsunami", "urgency": "Immediate", "severity": "Extreme",
             "certainty": "Observed", "area": [area]}
        ],
    }  # fmt: skip


async def place_residents(sessions: async_sessionmaker[AsyncSession], points: list[tuple[float, float]]) -> list[int]:
    """Replace every resident by one at each point; their ids, in the order of ``points``."""
    async with sessions() as session, session.begin():
        await session.execute(delete(Resident))
        rows = [{"ref": f"r{i}", "lat": lat, "lon": lon} for i, (lat, lon) in enumerate(points)]
        ids = await session.scalars(insert(Resident).returning(Resident.id, sort_by_parameter_order=True), rows)
        return list(ids)


async def targeted(sessions: async_sessionmaker[AsyncSession], document: dict[str, Any]) -> set[int]:
    """The residents fan-out targets for ``document``: the same calls, in the same order, as
    ``alertsvc.dispatch.fanout._recipients_in_area``."""
    cap = parse_cap_json(document)
    target = target_area(cap, ZoneRegistry())
    boxes = bbox_filter_params(target)
    found: set[int] = set()
    async with sessions() as session:
        async for chunk in residents_in_boxes(session, boxes):
            found |= set(chunk.ids[target.contains(chunk.lats, chunk.lons)].tolist())
    async with sessions() as session:  # the targeting preview walks the same path and must agree
        assert (await reach_of(session, alert_areas(cap, ZoneRegistry()))).residents == len(found)
    return found


async def test_the_issue_examples_on_both_databases(sessions: async_sessionmaker[AsyncSession]) -> None:
    points = [(10.5, 179.5), (10.5, -179.5), (10.5, 0.0), (10.0, -179.8), (10.5, 180.0), (10.5, -180.0)]
    ids = await place_residents(sessions, points)
    by_point = dict(zip(points, ids, strict=True))
    box = parse_cap_polygon("10,179 10,-179 11,-179 11,179 10,179")
    inside = [(10.5, 179.5), (10.5, -179.5), (10.5, 180.0), (10.5, -180.0), (10.0, -179.8)]  # the last on an edge
    assert await targeted(sessions, alert_with([box], [])) == {by_point[p] for p in inside}
    circle = parse_cap_circle("10,179.9 50")
    assert by_point[(10.0, -179.8)] in await targeted(sessions, alert_with([], [circle]))
    assert by_point[(10.5, 0.0)] not in await targeted(sessions, alert_with([box], [circle]))


@DB_SETTINGS
@given(polygon=crossing_polygons(), data=st.data())
async def test_crossing_polygon_on_both_databases(
    sessions: async_sessionmaker[AsyncSession], polygon: PolygonArea, data: st.DataObject
) -> None:
    points = list(dict.fromkeys(data.draw(crossing_probe_points(polygon)) + crossing_edge_points(polygon)))
    ids = await place_residents(sessions, points)
    ring = ring_of(polygon)
    expected = {rid for rid, point in zip(ids, points, strict=True) if point_in_polygon_on_globe(point, ring)}
    assert expected, "some residents must be inside"
    assert await targeted(sessions, alert_with([polygon], [])) == expected


@DB_SETTINGS
@given(circle=crossing_circles(), seed=st.integers(0, 2**32 - 1))
async def test_crossing_circle_on_both_databases(
    sessions: async_sessionmaker[AsyncSession], circle: CircleArea, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    c, r = circle.center, circle.radius_km
    written = parse_cap_circle(circle_to_cap(circle))  # what the alert carries (the CAP text, read back)
    bearings, factors = rng.uniform(0, 360, 60), rng.uniform(0, 2, 60)
    points = [destination(c.lat, c.lon, b, f * r) for b, f in zip(bearings, factors, strict=True)]
    points = [(lat, lon) for lat, lon in points if -90 <= lat <= 90]
    ids = await place_residents(sessions, points)
    got = await targeted(sessions, alert_with([], [written]))
    w = written.center
    for rid, (lat, lon) in zip(ids, points, strict=True):
        distance = haversine_km(w.lat, w.lon, lat, lon)
        if abs(distance - written.radius_km) > BAND_KM:
            assert (rid in got) == (distance <= written.radius_km), (lat, lon, distance, written.radius_km)
