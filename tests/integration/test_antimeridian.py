"""Alerts across the 180th meridian, end to end on a real Redis and both databases: the API accepts them, the
preview counts them, fan-out and the sandbox providers deliver them to both sides and never to the wrong side
of the globe; a polygon that cannot be targeted exactly (round a pole) is refused with a 422 naming it."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from alertsvc.runtime import Runtime
from tests.conftest import KeyMaker, auth
from tests.factories import add_resident, cap_alert

from .test_fanout import outbox, run_worker, send

DATE_LINE_BOX = "10,179 10,-179 11,-179 11,179 10,179"  # CAP lat,lon: 2 degrees wide, straddling the meridian
ROUND_THE_POLE = "80,0 80,120 80,-120 80,0"  # every step 120 degrees east: once round the North Pole

WEST_OF_IT = (10.5, 179.5)
EAST_OF_IT = (10.5, -179.5)
GREENWICH = (10.5, 0.0)  # inside the polygon read flat, i.e. the wrong side of the globe


@pytest.fixture
async def sender(make_key: KeyMaker) -> str:
    return await make_key("alerts:send", "alerts:read", "admin")


async def test_polygon_across_the_meridian_reaches_both_sides_and_not_the_wrong_one(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    await add_resident(runtime.sessions, *WEST_OF_IT, sms="+15145552001")
    await add_resident(runtime.sessions, *EAST_OF_IT, sms="+15145552002", email="east@example.org")
    await add_resident(runtime.sessions, *GREENWICH, sms="+15145552003", email="greenwich@example.org")
    preview = await client.post(
        "/api/v1/targeting/preview", json={"areaDesc": "Date line", "polygon": [DATE_LINE_BOX]}, headers=auth(sender)
    )
    assert preview.status_code == 200, preview.text
    assert preview.json() == {"residents": 2, "contacts": {"sms": 2, "email": 1, "push": 0}}
    await send(client, sender, cap_alert(polygon=DATE_LINE_BOX))
    await run_worker(runtime)
    delivered = Counter((entry["channel"], entry["to"]) for entry in await outbox(runtime))
    assert delivered == Counter(
        {("sms", "+15145552001"): 1, ("sms", "+15145552002"): 1, ("email", "east@example.org"): 1}
    )


async def test_circle_near_the_meridian_reaches_across(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    await add_resident(runtime.sessions, 10.0, -179.8, sms="+15145552101")  # 33 km away, across the meridian
    await add_resident(runtime.sessions, 10.0, 179.5, sms="+15145552102")  # 44 km away, same side
    await add_resident(runtime.sessions, 10.0, -179.0, sms="+15145552103")  # 120 km away
    await add_resident(runtime.sessions, 10.0, 0.0, sms="+15145552104")
    await send(client, sender, cap_alert(polygon=None, circle="10,179.9 50"))
    await run_worker(runtime)
    assert sorted(entry["to"] for entry in await outbox(runtime)) == ["+15145552101", "+15145552102"]


async def test_polygon_round_a_pole_is_refused_naming_the_area(
    client: httpx.AsyncClient, runtime: Runtime, sender: str
) -> None:
    await add_resident(runtime.sessions, 85.0, 10.0, sms="+15145552201")
    response = await client.post("/api/v1/alerts", json=cap_alert(polygon=ROUND_THE_POLE), headers=auth(sender))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [error["loc"] for error in errors] == [["info", 0, "area", 0, "polygon", 0]]
    assert "round a pole" in errors[0]["msg"]
    preview = await client.post(
        "/api/v1/targeting/preview", json={"areaDesc": "Arctic", "polygon": [ROUND_THE_POLE]}, headers=auth(sender)
    )
    assert preview.status_code == 422
    assert [error["loc"] for error in preview.json()["errors"]] == [["body", "polygon", 0]]
    await run_worker(runtime)
    assert await outbox(runtime) == []
