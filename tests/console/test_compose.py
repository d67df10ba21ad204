"""Composing through the console: the API's validation with errors next to their fields, the reach and SMS
preview, pasted coordinates in either order convention, notice blanks, and the Actual confirmation."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from alertsvc.dispatch.sms_text import sms_cost
from alertsvc.runtime import Runtime
from alertsvc.store.models import Alert
from tests.console.helpers import compose, compose_data, csrf_of
from tests.factories import add_resident

GEOJSON_SQUARE = json.dumps(
    {"type": "Polygon", "coordinates": [[[-73.0, 45.0], [-72.0, 45.0], [-72.0, 46.0], [-73.0, 46.0], [-73.0, 45.0]]]}
)


async def _alert_count(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Alert)) or 0)


async def test_form_errors_are_shown_next_to_their_fields(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await compose(
        dispatcher, status="", info0_event="", info1_headline="Fuite de gaz", polygon="45,-73 45,-72 46,-72"
    )
    assert response.status_code == 422
    page = response.text
    assert 'id="status-error"' in page
    assert 'id="info0_event-error"' in page and "required element" in page
    assert 'id="info1_event-error"' in page  # the French block was used (it has a headline) and lacks an event
    assert 'id="polygon-error"' in page and "at least 4 points" in page
    assert 'aria-invalid="true"' in page and 'class="error-summary"' in page
    assert 'value="Fuite de gaz"' in page  # the form comes back as typed
    assert await _alert_count(runtime) == 0


async def test_an_alert_without_any_area_is_refused(dispatcher: httpx.AsyncClient) -> None:
    response = await compose(dispatcher, polygon="")
    assert response.status_code == 422
    assert 'id="area-error"' in response.text and "reach nobody" in response.text


async def test_actual_needs_the_typed_resident_count(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    for n in range(3):
        await add_resident(runtime.sessions, 45.5, -72.5 + n * 0.01, sms=f"+1514555010{n}")
    await add_resident(runtime.sessions, 44.0, -72.5, sms="+15145550199")  # outside
    missing = await compose(dispatcher, status="Actual")
    assert missing.status_code == 422 and 'id="confirm_residents-error"' in missing.text
    wrong = await compose(dispatcher, status="Actual", confirm_residents="4")
    assert wrong.status_code == 422
    assert "reaches 3 residents now, not 4" in wrong.text
    assert await _alert_count(runtime) == 0
    right = await compose(dispatcher, status="Actual", confirm_residents="3")
    assert right.status_code == 303
    page = await dispatcher.get(right.headers["location"])
    assert "pending_approval" in page.text and "status-actual" in page.text


async def test_preview_counts_residents_and_contacts_and_shows_the_sms(
    dispatcher: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add_resident(runtime.sessions, 45.5, -72.5, sms="+15145550201", email="a@example.org", test_recipient=True)
    await add_resident(runtime.sessions, 45.6, -72.6, email="b@example.org", test_recipient=True)
    page = await dispatcher.get("/console/alerts/new")
    token = csrf_of(page.text)
    response = await dispatcher.post(
        "/console/compose/preview.json",
        data=compose_data(polygon=GEOJSON_SQUARE),
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["residents"] == 2 and body["contacts"] == {"sms": 1, "email": 2, "push": 0}
    assert body["area"]["features"][0]["geometry"]["coordinates"][0][0] == [-73.0, 45.0]
    sms = body["sms"][0]
    assert sms["text"].startswith("EXERCISE - NOT A REAL ALERT: Gas leak") and "/a/" in sms["text"]
    assert sms["segments"] == sms_cost(sms["text"]).segments >= 1
    no_js = await dispatcher.post(
        "/console/alerts/new", data={**compose_data(), "csrf_token": token, "action": "preview"}
    )
    assert no_js.status_code == 200
    assert 'id="reach-residents">2<' in no_js.text and "segment" in no_js.text


async def test_cap_text_and_geojson_describe_the_same_area(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    await add_resident(runtime.sessions, 45.9, -72.9, sms="+15145550301", test_recipient=True)
    token = csrf_of((await dispatcher.get("/console/alerts/new")).text)
    counts = []
    for polygon in ("45.0,-73.0 45.0,-72.0 46.0,-72.0 46.0,-73.0 45.0,-73.0", GEOJSON_SQUARE):
        response = await dispatcher.post(
            "/console/compose/preview.json", data=compose_data(polygon=polygon), headers={"X-CSRF-Token": token}
        )
        counts.append(response.json()["residents"])
    assert counts == [1, 1]


async def test_zones_and_circles_target_without_a_polygon(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    response = await compose(dispatcher, polygon="", zones=["old mill"], circle="45.49,-73.57 0.5")
    assert response.status_code == 303, response.text
    async with runtime.sessions() as session:
        alert = await session.get(Alert, response.headers["location"].rsplit("/", 1)[1])
    assert alert is not None
    area = alert.cap["info"][0]["area"][0]
    assert area["geocode"] == [{"valueName": "zone", "value": "old mill"}]
    assert area["circle"] == ["45.49,-73.57 0.5"] and not area.get("polygon")
    unknown = await compose(dispatcher, polygon="", zones=["Atlantis"])
    assert unknown.status_code == 422 and 'id="zones-error"' in unknown.text


async def test_notice_blanks_must_be_filled(dispatcher: httpx.AsyncClient) -> None:
    page = await dispatcher.get("/console/alerts/new?notice=boil-water")
    assert "[[area]]" in page.text
    response = await compose(dispatcher, info0_headline="Boil-water advisory in [[area]]")
    assert response.status_code == 422
    assert 'id="info0_headline-error"' in response.text and "fill in the blank [[area]]" in response.text


async def test_a_double_submit_stores_one_alert(dispatcher: httpx.AsyncClient, runtime: Runtime) -> None:
    token = csrf_of((await dispatcher.get("/console/alerts/new")).text)
    data = {**compose_data(), "csrf_token": token, "action": "send"}
    first = await dispatcher.post("/console/alerts/new", data=data)
    second = await dispatcher.post("/console/alerts/new", data=data)
    assert first.headers["location"] == second.headers["location"]
    assert await _alert_count(runtime) == 1
