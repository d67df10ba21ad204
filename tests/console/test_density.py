"""The compose map's resident density: counts per cell of a fixed grid, right, and never a cell below the minimum."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from typing import Any

import httpx
import numpy as np
import pytest

from alertsvc.alerts.density import MAX_CELLS_ACROSS, View, cell_size_for, count_cells, parse_view
from alertsvc.alerts.reach_index import ReachArrays, arrays_of
from alertsvc.app import create_app
from alertsvc.errors import InvalidInput
from alertsvc.runtime import Runtime
from alertsvc.store.models import Resident
from alertsvc.store.resident_snapshot import ResidentSnapshot


def arrays_at(points: list[tuple[float, float]]) -> ReachArrays:
    count = len(points)
    return arrays_of(
        ResidentSnapshot(
            generation=("test", 1),
            ids=np.arange(count, dtype=np.int64),
            lats=np.array([lat for lat, _ in points], dtype=np.float64),
            lons=np.array([lon for _, lon in points], dtype=np.float64),
            language_codes=np.zeros(count, dtype=np.int16),
            languages=("en",),
            test_recipients=np.zeros(count, dtype=np.bool_),
            contact_resident_ids=np.zeros(0, dtype=np.int64),
            contact_channel_codes=np.zeros(0, dtype=np.int16),
            channels=(),
        )
    )


def brute_force(points: list[tuple[float, float]], view: View, size: float) -> Counter[tuple[int, int]]:
    """Residents per (row, column) of the grid of ``size`` over every cell the view touches, one point at a time."""
    rows = range(math.floor(view.south / size), math.ceil(view.north / size))
    columns = range(math.floor(view.west / size), math.ceil(view.east / size))
    found: Counter[tuple[int, int]] = Counter()
    for lat, lon in points:
        row, column = math.floor(lat / size), math.floor(lon / size)
        if row in rows and column in columns:
            found[row, column] += 1
    return found


@pytest.mark.parametrize("seed", range(6))
def test_counts_match_one_point_at_a_time_and_no_cell_is_below_the_minimum(seed: int) -> None:
    rng = random.Random(seed)
    centres = [(rng.uniform(44.0, 46.0), rng.uniform(4.0, 6.0)) for _ in range(12)]
    points = [
        (c[0] + rng.gauss(0, 0.05), c[1] + rng.gauss(0, 0.05)) for c in centres for _ in range(rng.randint(1, 400))
    ]
    points += [(45.0, 5.0), (45.0 + 1 / 256, 5.0 + 1 / 128)]  # on grid lines: the cell to the north and east
    arrays = arrays_at(points)
    for _ in range(20):
        west, south = rng.uniform(3.5, 5.5), rng.uniform(43.5, 45.5)
        view = View(west, south, west + rng.uniform(0.001, 2.5), south + rng.uniform(0.001, 2.5))
        minimum = rng.choice((2, 5, 10, 25))
        cells, size = count_cells(arrays, view, minimum)
        assert size == cell_size_for(view)
        expected = {key: n for key, n in brute_force(points, view, size).items() if n >= minimum}
        got = {(round(cell.south / size), round(cell.west / size)): cell.residents for cell in cells}
        assert got == expected
        assert all(cell.residents >= minimum for cell in cells)


def test_the_grid_is_fixed_powers_of_two_and_bounded() -> None:
    assert cell_size_for(View(-180, -90, 180, 90)) == 16.0
    assert cell_size_for(View(5.0, 45.0, 5.0001, 45.0001)) == 1 / 256
    for span in (0.01, 0.3, 1.0, 7.5, 100.0):
        size = cell_size_for(View(0.0, 0.0, span, span / 2))
        assert math.log2(size) == int(math.log2(size))
        assert span / size <= MAX_CELLS_ACROSS


def test_a_bbox_that_is_not_four_numbers_or_encloses_nothing_is_refused_by_name() -> None:
    for text in ("", "1,2,3", "a,b,c,d", "1,2,3,nan", "5,45,4,46", "5,46,6,45", "1,2,3,4,5"):
        with pytest.raises(InvalidInput) as refused:
            parse_view(text)
        assert [error.loc for error in refused.value.errors] == [["query", "bbox"]]
    assert parse_view("-200,-95,200,95") == View(-180.0, -90.0, 180.0, 90.0)


async def _collection(client: httpx.AsyncClient, bbox: str) -> dict[str, Any]:
    for _ in range(300):
        response = await client.get("/console/density.geojson", params={"bbox": bbox})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["current"]:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError("the density never became current")


async def test_the_route_answers_geojson_cells_of_the_minimum_or_more(
    runtime: Runtime, dispatcher: httpx.AsyncClient
) -> None:
    async with runtime.sessions() as session, session.begin():
        session.add_all(Resident(ref=f"a{n}", lat=45.101 + n * 1e-5, lon=5.101) for n in range(12))
        session.add_all(Resident(ref=f"b{n}", lat=45.151, lon=5.151 + n * 1e-5) for n in range(9))
    body = await _collection(dispatcher, "5.0,45.0,5.3,45.2")
    assert body["type"] == "FeatureCollection" and body["min_count"] == runtime.settings.density_min_count == 10
    size = body["cell_deg"]
    assert [feature["properties"] for feature in body["features"]] == [{"residents": 12}]
    ring = body["features"][0]["geometry"]["coordinates"][0]
    west, south = ring[0]
    assert west <= 5.101 < west + size and south <= 45.101 < south + size and ring[2] == [west + size, south + size]
    async with runtime.sessions() as session, session.begin():
        session.add(Resident(ref="b-tenth", lat=45.151, lon=5.1515))
    body = await _collection(dispatcher, "5.0,45.0,5.3,45.2")
    assert sorted(feature["properties"]["residents"] for feature in body["features"]) == [10, 12]


async def test_sign_in_is_required_and_a_bad_bbox_is_a_422_naming_it(
    runtime: Runtime, dispatcher: httpx.AsyncClient
) -> None:
    refused = await dispatcher.get("/console/density.geojson", params={"bbox": "5,45,4,46"})
    assert refused.status_code == 422 and "bbox" in refused.text  # the console's error page, naming the field
    missing = await dispatcher.get("/console/density.geojson")
    assert missing.status_code == 422 and "bbox" in missing.text
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        asked = await anonymous.get(
            "/console/density.geojson", params={"bbox": "5,45,6,46"}, headers={"Accept": "application/json"}
        )
        assert asked.status_code == 401
