"""An alert's polygons are parsed once a create (``alerts.sending_rules.check_targets`` reuses the parse that made
the CAP model instead of parsing every polygon again), on SQLite and PostgreSQL; the check still refuses what it
refused (an unknown zone, an alert that would reach nobody) and accepts an area that is only a known zone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from alertsvc.alerts.sending_rules import check_targets, has_geometry
from alertsvc.cap import CapError, parse_cap_json
from alertsvc.geo.areas import PolygonArea
from alertsvc.geo.zones import ZoneRegistry
from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.factories import cap_alert

OTHER_SQUARE = "46.0,-74.0 46.0,-73.0 47.0,-73.0 47.0,-74.0 46.0,-74.0"


@pytest.fixture
def polygons_made(monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> list[int]:
    """Counts every polygon parsed (each is checked as it is made), in any thread, once the runtime's zones (whose
    polygons are read once a process) are loaded."""
    assert runtime.zones.names()
    made: list[int] = []
    checked: Callable[[PolygonArea], None] = PolygonArea.__post_init__

    def counted(self: PolygonArea) -> None:
        made.append(1)
        checked(self)

    monkeypatch.setattr(PolygonArea, "__post_init__", counted)
    return made


def two_polygon_alert() -> dict[str, Any]:
    """The factory's square, a second square and a circle, in one area."""
    document = cap_alert(circle="45.5,-73.5 2")
    document["info"][0]["area"][0]["polygon"].append(OTHER_SQUARE)
    return document


def test_the_check_parses_no_polygon_again(polygons_made: list[int], runtime: Runtime) -> None:
    cap = parse_cap_json(two_polygon_alert())
    assert len(polygons_made) == 2  # the model's own parse and check, once a polygon
    check_targets(cap, runtime.zones)
    assert has_geometry(cap, runtime.zones)
    assert len(polygons_made) == 2


async def test_a_created_alert_parses_each_polygon_once(
    polygons_made: list[int], client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    key = await make_key("alerts:write")  # waits for approval: no fan-out runs in this test
    response = await client.post("/api/v1/alerts", json=two_polygon_alert(), headers=auth(key))
    assert response.status_code == 201, response.text
    assert len(polygons_made) == 2


def test_the_check_still_refuses_and_accepts_as_before(runtime: Runtime) -> None:
    zones: ZoneRegistry = runtime.zones
    known = zones.names()[0]
    assert has_geometry(parse_cap_json(cap_alert(polygon=None, geocodes=[("zone", known)])), zones)
    check_targets(parse_cap_json(cap_alert(polygon=None, geocodes=[("zone", known)])), zones)
    circle_only = parse_cap_json(cap_alert(polygon=None, circle="45.5,-73.5 2"))
    assert has_geometry(circle_only, zones)
    with pytest.raises(CapError) as unknown:
        check_targets(parse_cap_json(cap_alert(polygon=None, geocodes=[("zone", "Atlantis")])), zones)
    assert unknown.value.errors[0].loc == ["info", 0, "area", 0, "geocode", 0]
    nowhere = parse_cap_json(cap_alert(polygon=None, geocodes=[("SAME", "012345")]))
    assert not has_geometry(nowhere, zones)
    with pytest.raises(CapError, match="reach nobody"):
        check_targets(nowhere, zones)
    check_targets(parse_cap_json(cap_alert(polygon=None, geocodes=[("SAME", "012345")], status="System")), zones)
