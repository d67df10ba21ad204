"""The live view's results map: cells counted from a real fan-out (SQLite and PostgreSQL), small cells merged then
hidden, help requests as points only for roles that may see residents' places, and the route that serves it."""

from __future__ import annotations

import asyncio
import math
from collections import Counter

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alertsvc.alerts import results_map
from alertsvc.alerts.results_map import results_geojson
from alertsvc.app import create_app
from alertsvc.runtime import Runtime
from alertsvc.security.principal import Principal
from alertsvc.security.scopes import Scope
from alertsvc.store.models import Delivery
from alertsvc.tracking.acks import Answer
from alertsvc.tracking.answers import acknowledge
from alertsvc.tracking.result_cells import CellCounts, Grid, ResultCells, choose_grid, merge_cells
from tests.console.helpers import compose, post_form
from tests.factories import add_resident
from tests.integration.test_fanout import run_worker

# Inside the compose helper's 1° test square (45..46, -73..-72). Cluster A sits at 0.99 of a 25,600 m cell of the grid
# the extent below chooses (0.92 of its 3,200 m finest cell): a rounding cast (PostgreSQL's) puts it in the next cell.
GRID = Grid(25600.0, 45)
ROW = math.floor((45.5 + 90) / GRID.lat_step)
COL = math.floor((-72.6 + 180) / GRID.lon_step)
A = ((ROW + 0.99) * GRID.lat_step - 90, (COL + 0.99) * GRID.lon_step - 180)
B = (A[0] - 0.4, A[1] - 0.4)  # 55 km away: three residents (a third), below the minimum at every grid tried
INVALID = "+15005550001"  # the SMS sandbox refuses it: undeliverable


async def _sent_alert(dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime) -> str:
    """Six residents in cluster A (one number the provider refuses), three in cluster B; in A one asks for help and
    two answer safe. Returns the alert's id."""
    people = []
    for n in range(6):
        number = INVALID if n == 5 else f"+151455506{n:02d}"
        people.append(
            await add_resident(runtime.sessions, A[0] + n * 1e-5, A[1], ref=f"a-{n}", sms=number, test_recipient=True)
        )
    for n in range(3):
        await add_resident(runtime.sessions, *B, ref=f"b-{n}", sms=f"+151455507{n:02d}", test_recipient=True)
    path = (await compose(dispatcher)).headers["location"]
    assert (await post_form(approver, path, f"{path}/approve")).status_code == 303
    await run_worker(runtime)
    alert_id = path.rsplit("/", 1)[1]
    for person, answer in zip(people, (Answer.HELP, Answer.SAFE, Answer.SAFE), strict=False):
        async with runtime.sessions() as session:
            delivery_id = await session.scalar(select(Delivery.id).where(Delivery.resident_id == person.id))
        assert delivery_id is not None
        await acknowledge(runtime, delivery_id, answer)
    return alert_id


async def test_cells_of_a_real_fanout(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    alert_id = await _sent_alert(dispatcher, approver, runtime)
    found = await results_geojson(runtime, alert_id, Principal("user:1", frozenset({Scope.RESIDENTS_READ})))
    cells = [f for f in found["features"] if f["properties"]["kind"] == "cell"]
    assert len(cells) == 1, cells  # B is hidden, never drawn
    cell = cells[0]["properties"]
    async with runtime.sessions() as session:  # the oracle: the deliveries themselves, counted here
        states = Counter(await session.scalars(select(Delivery.state).where(Delivery.alert_id == alert_id)))
    assert states == Counter({"sent": 8, "undeliverable": 1})  # both clusters: 9 deliveries, one refused
    assert (cell["label"], cell["residents"], cell["deliveries"]) == ("A1", 6, 6)
    assert (cell["sent"], cell["delivered"], cell["failed"], cell["waiting"]) == (5, 0, 1, 0)
    assert (cell["safe"], cell["help"], cell["reached_percent"], cell["delivered_percent"]) == (2, 1, 83, 0)
    ring = cells[0]["geometry"]["coordinates"][0]
    (west, south), (east, north) = ring[0], ring[2]
    assert south <= A[0] <= north and west <= A[1] <= east, (ring, A)  # floor, not round, in both databases
    assert math.isclose(north - south, GRID.lat_step)
    summary = found["summary"]
    assert summary["cell_metres"] == 25600.0 and summary["min_residents"] == 5
    assert (summary["hidden_cells"], summary["hidden"]["residents"], summary["total"]["residents"]) == (1, 3, 9)

    helps = [f for f in found["features"] if f["properties"]["kind"] == "help"]
    assert [h["properties"]["ref"] for h in helps] == ["a-0"] and found["help_markers"] is True
    assert helps[0]["geometry"]["coordinates"] == [A[1], A[0]]  # GeoJSON: [lon, lat]
    assert helps[0]["properties"]["handled"] is False


async def test_help_markers_only_for_roles_that_may_see_residents(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime
) -> None:
    alert_id = await _sent_alert(dispatcher, approver, runtime)
    outsider = Principal("key:wall-screen", frozenset({Scope.ALERTS_READ}))
    found = await results_geojson(runtime, alert_id, outsider)
    assert found["help_markers"] is False
    assert {f["properties"]["kind"] for f in found["features"]} == {"cell"}
    # Through the console: every console role may read residents today, so a dispatcher sees the marker.
    response = await dispatcher.get(f"/console/alerts/{alert_id}/results.geojson")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["help_markers"] is True
    assert [f["properties"]["ref"] for f in body["features"] if f["properties"]["kind"] == "help"] == ["a-0"]
    assert "+1514" not in response.text  # never a contact
    page = (await dispatcher.get(f"/console/alerts/{alert_id}?lang=fr")).text  # the live view, in French
    assert f'data-results-url="/console/alerts/{alert_id}/results.geojson"' in page
    assert "Résultats sur la carte" in page and "Chiffres par case, en tableau" in page
    assert 'data-help-text="Demande d’aide : {ref}"' in page and "/static/console/results-map.js" in page


async def test_route_needs_sign_in_and_a_known_alert(runtime: Runtime, dispatcher: httpx.AsyncClient) -> None:
    missing = await dispatcher.get("/console/alerts/no-such-alert/results.geojson")
    assert missing.status_code == 404
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        asked = await anonymous.get("/console/alerts/x/results.geojson", headers={"Accept": "application/json"})
        assert asked.status_code == 401


def _counts(residents: int, failed: int = 0) -> CellCounts:
    return CellCounts(residents=residents, deliveries=residents, sent=residents - failed, failed=failed)


def test_small_cells_merge_into_coarser_ones_then_hide() -> None:
    grid = Grid(100.0, 45)
    # Four neighbouring fine cells of 4 residents each: none may be shown alone, their 2x2 parent (16) may.
    finest = {(1000, 2000): _counts(4), (1000, 2001): _counts(4), (1001, 2000): _counts(4), (1001, 2001): _counts(4)}
    finest[(5000, 9000)] = _counts(1)  # far away and alone at every level: hidden
    merged = merge_cells(finest, grid, 5)
    assert merged.metres == 200.0
    assert [(c.label, c.counts.residents) for c in merged.cells] == [("A1", 16)]
    assert (merged.hidden_cells, merged.hidden_residents, merged.total.residents) == (1, 1, 17)


def test_the_finest_grid_is_kept_when_few_are_hidden() -> None:
    grid = Grid(100.0, 45)
    finest = {(10, 10): _counts(9), (10, 11): _counts(5, failed=2), (9, 10): _counts(7), (30, 30): _counts(2)}
    finest[(40, 40)] = _counts(3)  # two lone places far apart: hidden at every level
    merged = merge_cells(finest, grid, 5)
    assert merged.metres == 100.0  # 5 of 26 hidden: under a quarter, so the finest cells are kept
    # north to south, west to east; letters from the west, numbers from the north
    assert [(c.label, c.counts.residents) for c in merged.cells] == [("A1", 9), ("B1", 5), ("A2", 7)]
    assert merged.cells[1].counts.reached_percent == 60
    assert (merged.hidden_residents, merged.hidden_cells) == (5, 2)
    nothing = merge_cells({}, grid, 5)
    assert nothing.cells == [] and nothing.metres == 0.0


def test_grid_size_bounds_the_work() -> None:
    assert choose_grid(45.5, -73.6, 45.5, -73.6).metres == 100.0  # everybody at one point: the finest cells
    city = choose_grid(45.4, -73.9, 45.7, -73.4)  # about 39 km across
    assert city.metres == 3200.0
    south, west, north, east = (45.4, -73.9, 45.7, -73.4)
    across = max((north - south) / city.lat_step, (east - west) / city.lon_step)
    assert across <= 16
    region = choose_grid(40.0, -80.0, 50.0, -60.0)
    assert (50 - 40) / region.lat_step <= 16 and 20 / region.lon_step <= 16


async def test_one_count_at_a_time_and_a_slow_one_reused(
    dispatcher: httpx.AsyncClient, approver: httpx.AsyncClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert_id = await _sent_alert(dispatcher, approver, runtime)
    reader = Principal("user:1", frozenset({Scope.RESIDENTS_READ}))
    calls = []
    real = results_map.result_cells

    async def slow(session: AsyncSession, alert: str) -> ResultCells:
        calls.append(alert)
        await asyncio.sleep(0.3)  # a big alert's count: slower than SLOW_SECONDS
        return await real(session, alert)

    monkeypatch.setattr(results_map, "result_cells", slow)
    answers = await asyncio.gather(*(results_geojson(runtime, alert_id, reader) for _ in range(5)))
    assert len(calls) == 1  # five viewers at once, one count
    assert all(a["summary"] == answers[0]["summary"] for a in answers)
    await results_geojson(runtime, alert_id, reader)
    assert len(calls) == 1  # a slow count is reused for a while (three times as long as it took)
    monkeypatch.setattr(results_map, "REUSE_FACTOR", 0.0)
    await results_geojson(runtime, alert_id, reader)
    assert len(calls) == 2  # and counted again once that while is over
    monkeypatch.setattr(results_map, "result_cells", real)
    await results_geojson(runtime, alert_id, reader)
    await results_geojson(runtime, alert_id, reader)
    assert len(calls) == 2  # a fast count is not kept (and the patched one was not called)
