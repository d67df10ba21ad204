"""``GET /console/addresses?q=``: signed-in users only, bounded ``q``, up to ten prefix matches with coordinates."""

from __future__ import annotations

from pathlib import Path

import httpx

from alertsvc.app import create_app
from alertsvc.residents.addresses import import_addresses
from alertsvc.runtime import Runtime

HEADER = "LON,LAT,NUMBER,STREET,CITY,HASH"


async def _load(runtime: Runtime, tmp_path: Path, rows: list[str]) -> None:
    path = tmp_path / "addresses.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = await import_addresses(runtime.sessions, path)
    assert report.rejected == 0


async def test_matches_come_with_label_and_coordinates(
    runtime: Runtime, dispatcher: httpx.AsyncClient, tmp_path: Path
) -> None:
    rows = ["-73.57,45.50,12,River Road,Lakeside,h-river", "-73.58,45.51,12,Oak Street,Lakeside,h-oak"]
    rows += [f"-73.6,45.6,{n},Riverside Drive,Lakeside,h{n}" for n in range(1, 30)]
    await _load(runtime, tmp_path, rows)
    response = await dispatcher.get("/console/addresses", params={"q": "12 riv"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    items = response.json()["items"]
    assert items[0] == {"label": "12 River Road, Lakeside", "lat": 45.5, "lon": -73.57}
    assert [item["label"] for item in items] == ["12 River Road, Lakeside", "12 Riverside Drive, Lakeside"]
    many = (await dispatcher.get("/console/addresses", params={"q": "riverside"})).json()["items"]
    assert len(many) == 10
    assert (await dispatcher.get("/console/addresses", params={"q": "elm"})).json() == {"items": []}


async def test_sign_in_is_required(runtime: Runtime) -> None:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        asked = await anonymous.get("/console/addresses", params={"q": "12"}, headers={"Accept": "application/json"})
        assert asked.status_code == 401
        page = await anonymous.get("/console/addresses", params={"q": "12"})
        assert page.status_code in (302, 303) and "/console/login" in page.headers["location"]


async def test_a_missing_empty_or_overlong_q_is_refused(dispatcher: httpx.AsyncClient) -> None:
    for params in ({}, {"q": ""}, {"q": "x" * 101}):
        response = await dispatcher.get("/console/addresses", params=params)
        assert 400 <= response.status_code < 500, (params, response.status_code)
        assert response.status_code == 422
    assert (await dispatcher.get("/console/addresses", params={"q": "x" * 100})).status_code == 200


async def test_searches_are_rate_limited(dispatcher: httpx.AsyncClient) -> None:
    codes = [(await dispatcher.get("/console/addresses", params={"q": "a"})).status_code for _ in range(121)]
    assert codes[:120] == [200] * 120
    assert codes[120] == 429
