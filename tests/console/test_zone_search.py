"""``GET /console/addresses?q=`` also finds the named zones (config/zones: the example city), first, with the box the
map fits; the compose page's search box says so in its label and carries the words its script needs."""

from __future__ import annotations

from pathlib import Path

import httpx

from alertsvc.residents.addresses import import_addresses
from alertsvc.runtime import Runtime


async def test_zones_come_first_with_their_bounds(
    runtime: Runtime, dispatcher: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = tmp_path / "addresses.csv"
    path.write_text("LON,LAT,NUMBER,STREET,CITY,HASH\n-73.57,45.49,12,Old Mill Road,Lakeside,h1\n", encoding="utf-8")
    assert (await import_addresses(runtime.sessions, path)).rejected == 0
    items = (await dispatcher.get("/console/addresses", params={"q": "old mil"})).json()["items"]
    assert [item.get("zone") for item in items] == ["Old Mill", None]
    zone, address = items
    assert address == {"label": "12 Old Mill Road, Lakeside", "lat": 45.49, "lon": -73.57}
    (south, west), (north, east) = zone["bounds"]
    box = [p.bbox() for p in runtime.zones.get("Old Mill").polygons]
    assert (south, west, north, east) == (
        min(b[0] for b in box),
        min(b[1] for b in box),
        max(b[2] for b in box),
        max(b[3] for b in box),
    )
    assert south < zone["lat"] < north and west < zone["lon"] < east and zone["label"] == "Old Mill"
    only_zone = (await dispatcher.get("/console/addresses", params={"q": "harbour"})).json()["items"]
    assert [item["zone"] for item in only_zone] == ["Harbour Point"]


async def test_the_compose_page_offers_zone_search(dispatcher: httpx.AsyncClient) -> None:
    page = (await dispatcher.get("/console/alerts/new")).text
    assert "Find an address or zone" in page and 'data-use-zone-text="Use zone {zone} as the target area"' in page
    assert 'name="zones" value="Old Mill"' in page  # the box the search offers to tick
    french = (await dispatcher.get("/console/alerts/new?lang=fr")).text
    assert "Trouver une adresse ou une zone" in french
